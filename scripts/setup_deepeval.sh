#!/usr/bin/env bash
# The environment tests/deepeval_adapters runs in: .venv-deepeval, at the exact versions of
# requirements-deepeval.lock. deepeval caps click below 8.4, which holds huggingface-hub and
# transformers below the versions requirements.lock has, so it cannot share .venv.
# workbench itself is not installed there: tests run it from the checkout (PYTHONPATH).
# Safe to re-run: it returns at once while the lock and this script are unchanged.
#
#   WORKBENCH_DEEPEVAL_VENV=DIR   another environment folder (default .venv-deepeval)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${WORKBENCH_DEEPEVAL_VENV:-.venv-deepeval}
STAMP=$(cat requirements-deepeval.lock scripts/setup_deepeval.sh | sha256sum | cut -c1-16)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.workbench-setup" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade "pip>=25"
# torch first and pinned (the CPU wheel), as in setup.sh; the lock leaves it out.
"$VENV/bin/python" -c "import torch" 2>/dev/null || "${PIP[@]}" install -q "torch==2.13.0"
"${PIP[@]}" install -q -r requirements-deepeval.lock
"$VENV/bin/python" scripts/check_lock.py requirements-deepeval.lock
echo "$STAMP" > "$VENV/.workbench-setup"
