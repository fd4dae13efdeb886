#!/usr/bin/env bash
# Set up (or reuse) .venv, train the quadrant demo on CPU (<= 15 minutes) and plot it.
# Extra args are training overrides, e.g. `bash scripts/train_demo.sh max_minutes=5`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hideseek train --config configs/train/quadrant.yaml "$@"
