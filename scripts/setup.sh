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
# Debian packages for the browser test of the replay viewer (chromium, driven by chromium-driver,
# software WebGL) and the render_mode="human" window test (xvfb). Installed only when missing.
missing=""
command -v chromium >/dev/null || missing="$missing chromium"
command -v chromedriver >/dev/null || missing="$missing chromium-driver"
command -v Xvfb >/dev/null || missing="$missing xvfb"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  else
    echo "setup.sh: missing Debian packages:$missing (install them as root: apt-get install$missing)" >&2
  fi
fi
want="$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, pinned: the CPU wheel of exactly this version is what the machines provide.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[dev,video,human,physx]"
  # mlagents-envs 1.1.0 pins Python<=3.10.12, protobuf<3.21, grpcio<=1.48.2, numpy<1.24 and an
  # old pettingzoo; install it without those pins. hideseek.envs.mlagents_compat makes it work.
  .venv/bin/python -m pip install -q --no-deps --ignore-requires-python "mlagents-envs==1.1.0"
  echo "$want" > "$stamp"
fi
