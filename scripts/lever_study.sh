#!/usr/bin/env bash
# The lever study of docs/training.md: the door-blocking recipe (configs/train/quadrant_doors.yaml)
# with one lever changed at a time, run to a fixed budget, then compared on the door-blocking
# proxies (benchmarks/lever_table.py). Usage:
#   bash scripts/lever_study.sh OUT_DIR [BUDGET_AGENT_STEPS] [SEEDS...]
# Each run is `hideseek train` with name=<lever>; runs that already reached the budget in OUT_DIR
# are kept. Budgets are agent-steps (default 20 M, about 20 minutes each on 2 idle cores).
# LEVERS="baseline curriculum" picks some of the levers (default: all of them).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/lever_study.sh OUT_DIR [BUDGET] [SEEDS...]}"
budget="${2:-20000000}"
shift $(( $# >= 2 ? 2 : 1 ))
seeds=("${@:-0 1}")
# ICM is explicit in every lever: the study ran when the recipe had ICM on (icm.coef 0.5; those
# runs are named "baseline"), and it moved the recipe to ICM off.
declare -A levers=(
  [baseline]="icm.coef=0.5"
  [curriculum]="icm.coef=0.5 curriculum.prob=0.5"
  [icm_off]="icm.coef=0"
  [epochs2]="icm.coef=0.5 ppo.epochs=2"
)
done_before() {  # a run of this lever and seed is already in $out
  grep -qsx "seed: $2" "$out/$1"-*/config.yaml
}
for seed in ${seeds[@]}; do
  for lever in ${LEVERS:-baseline curriculum icm_off epochs2}; do
    if done_before "$lever" "$seed"; then
      echo "lever_study: $lever seed $seed already in $out"; continue
    fi
    .venv/bin/hideseek train --config configs/train/quadrant_doors.yaml out_dir="$out" \
      name="$lever" seed="$seed" total_agent_steps="$budget" max_minutes=0 progress=false \
      torch_threads=2 sim_compile=true evaluation.enabled=false plot=false \
      ${levers[$lever]}
  done
done
.venv/bin/python benchmarks/lever_table.py "$out"/*-*/ --at "$budget" --alias quadrant_doors=icm_off
