#!/usr/bin/env bash
# Set-up on a fresh machine: a virtual environment in .venv with every extra, at the exact
# versions of requirements.lock (pip constraints), so every machine tests what CI tested.
# Safe to re-run: when pyproject.toml and the lock are unchanged since the last install, it
# returns at once; when either changed, pip brings the environment back to the lock.
#
#   WORKBENCH_VENV=DIR     another environment folder (default .venv)
#   WORKBENCH_LATEST=1     ignore the lock: the newest versions pyproject.toml allows
#                          (scripts/test.sh --latest uses it, in .venv-latest)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${WORKBENCH_VENV:-.venv}
LATEST=${WORKBENCH_LATEST:-}
if [ -n "$LATEST" ]; then
  PINS=(); UPGRADE=(--upgrade --upgrade-strategy eager); STAMP_OF=pyproject.toml
else
  PINS=(-c requirements.lock); UPGRADE=(); STAMP_OF="pyproject.toml requirements.lock"
fi
# shellcheck disable=SC2086
STAMP="$(cat $STAMP_OF scripts/setup.sh | sha256sum | cut -c1-16)${LATEST:+-latest-$(date +%F)}"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.workbench-setup" 2>/dev/null)" = "$STAMP" ] \
   && { [ -x /usr/bin/chromium ] || ! command -v apt-get >/dev/null; }; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade "pip>=25"
# torch first and pinned: an unpinned torch pulls gigabytes of CUDA packages.
"$VENV/bin/python" -c "import torch" 2>/dev/null || "${PIP[@]}" install -q "torch==2.13.0"
# llama-cpp-python compiles from source (minutes, once; pip caches the wheel).
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF}"
"${PIP[@]}" install -q "${PINS[@]}" "${UPGRADE[@]}" -e ".[dev]"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
# Debian's Chromium for the browser tests (never 'playwright install').
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi
if [ -z "$LATEST" ]; then
  "$VENV/bin/python" scripts/check_lock.py requirements.lock
fi
echo "$STAMP" > "$VENV/.workbench-setup"
