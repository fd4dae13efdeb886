#!/usr/bin/env bash
# Two short training chunks of the door-blocking config on a GPU, the twin as one compiled CUDA
# graph (2.5 min) and eager (1.5 min), and the training throughput of each (mean agent-steps/s
# over the second half of its updates, and where the time went). From the repository root:
#   bash benchmarks/gpu_train_twin_modes.sh          # summaries also go to $OUT/train_gpu.txt
set -u
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
summ() { python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tail = rows[len(rows) // 2:]
mean = lambda k: sum(r[k] for r in tail) / len(tail)
print(f"updates {len(rows)} agent_steps {rows[-1].get('agent_steps')} sps(mean of 2nd half) {mean('perf/sps'):.0f} "
      f"sim {mean('perf/sim_share'):.2f} policy {mean('perf/policy_share'):.2f} update {mean('perf/update_share'):.2f}")
PY
}
for mode in graph eager; do
  if [ $mode = graph ]; then extra="sim_compile=true sim_cuda_graph=true"; mins=2.5; else extra=""; mins=1.5; fi
  rm -rf /tmp/gpu_runs_$mode
  timeout 260 python3 -m hideseek.cli train --config configs/train/quadrant_doors.yaml device=cuda \
    num_arenas=4096 ppo.minibatches=8 max_minutes=$mins out_dir=/tmp/gpu_runs_$mode progress=false \
    plot=false tensorboard=false checkpoint_every=1000 baseline_arenas=0 $extra 2>&1 | grep -v Warn | tail -4
  run=$(ls -d /tmp/gpu_runs_$mode/*/ | head -1)
  echo "== $mode: $(summ $run/scalars.jsonl)" | tee -a $OUT/train_gpu.txt
done
