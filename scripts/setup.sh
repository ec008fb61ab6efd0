#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment in .venv with every extra.
# Safe to re-run: finished steps are skipped quickly.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch pulls gigabytes of CUDA packages.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
# llama-cpp-python compiles from source (minutes, once; pip caches the wheel).
python -c "import llama_cpp" 2>/dev/null || \
  CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF}" python -m pip install -q "llama-cpp-python>=0.3.36,<0.4"
python -m pip install -q -e ".[dev]"
python -m ipykernel install --sys-prefix --name python3 >/dev/null
# Debian's Chromium for the browser tests (never 'playwright install').
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi
