#!/usr/bin/env bash
# Set up (or reuse) .venv, then run the whole fast test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -x UnityProject/ci/check ]; then
  bash UnityProject/ci/check
fi
exec .venv/bin/python -m pytest -q "$@"
