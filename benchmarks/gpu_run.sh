#!/usr/bin/env bash
# One session on a lent GPU, as a single prepared command (device time is scarce):
#   1. the CUDA tests, 2. the twin's arena-steps/s on CUDA in each way of stepping it, 3. unless
#   MINUTES is 0, a training chunk of the door-blocking config on CUDA (the twin as one compiled
#   CUDA graph) whose run files (config, scalars, baseline, last checkpoint) are copied to $OUT.
# Usage, from the repository root on the GPU machine:  bash benchmarks/gpu_run.sh MINUTES [key=value ...]
# Extra key=value pairs override the training config. Needs only torch, pyyaml, safetensors, tqdm.
set -u
minutes=${1:?usage: gpu_run.sh MINUTES [overrides]}
shift
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$OUT/gpu.txt"
echo "== CUDA tests"
timeout 170 python3 -m pytest -q -p no:cacheprovider -m "" tests/test_learner.py \
    tests/test_sim_compile.py -k cuda 2>&1 | tail -3
echo "== twin on CUDA: Inductor's kernels in our CUDA graph, torch.compile's own CUDA graphs,"
echo "   the eager step in our CUDA graph"
timeout 400 python3 benchmarks/sim_throughput.py --device cuda --sizes 1024 16384 65536 \
    --modes compiled-graph compiled graph --no-vmas --threads 0 2>&1 | grep -v Warn \
    | tee "$OUT/sim_cuda.txt"
[ "$minutes" = 0 ] && exit 0
echo "== training ($minutes min)"
rm -rf /tmp/gpu_runs
python3 -m hideseek.cli train --config configs/train/quadrant_doors.yaml device=cuda \
    num_arenas=4096 ppo.minibatches=8 max_minutes="$minutes" out_dir=/tmp/gpu_runs \
    progress=false plot=false tensorboard=false checkpoint_every=10 baseline_arenas=512 \
    sim_compile=true sim_cuda_graph=true "$@" \
    2>&1 | tail -8
run=$(ls -d /tmp/gpu_runs/*/ | head -1)
cp "$run"/config.yaml "$run"/scalars.jsonl "$run"/baseline.json "$OUT"/
cp "$(ls "$run"/checkpoints/*.safetensors | tail -1)" "$OUT"/
tail -n 1 "$run"/scalars.jsonl | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); \
print({k: round(v, 3) for k, v in r.items() if k.startswith(('episode/', 'perf/sps', 'agent_steps'))})"
