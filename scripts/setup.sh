#!/usr/bin/env bash
# Create or reuse .venv and install the project with everything it needs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.hideseek-installed
want="$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, pinned: the CPU wheel of exactly this version is what the machines provide.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[dev,video]"
  # mlagents-envs 1.1.0 pins Python<=3.10.12, protobuf<3.21, grpcio<=1.48.2, numpy<1.24 and an
  # old pettingzoo; install it without those pins. hideseek.envs.mlagents_compat makes it work.
  .venv/bin/python -m pip install -q --no-deps --ignore-requires-python "mlagents-envs==1.1.0"
  echo "$want" > "$stamp"
fi
