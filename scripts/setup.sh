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
# The JupyterLab extension is built by the package's build hook (hatch-jupyter-builder, npm):
# its sources are part of the stamp, so an edit there rebuilds it on the next run.
EXT=extensions/aimu-workbench
EXT_FILES=$(find "$EXT/package.json" "$EXT/package-lock.json" "$EXT/tsconfig.json" "$EXT/src" "$EXT/style" -type f | sort)
# shellcheck disable=SC2086
STAMP="$(cat $STAMP_OF scripts/setup.sh $EXT_FILES | sha256sum | cut -c1-16)${LATEST:+-latest-$(date +%F)}"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.workbench-setup" 2>/dev/null)" = "$STAMP" ] \
   && [ -f workbench/labextension/package.json ] \
   && [ -f "$VENV/share/jupyter/labextensions/aimu-workbench/package.json" ] \
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
if ! command -v npm >/dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'; then
  echo "setup: npm with Node.js 20 or newer builds the JupyterLab extension in $EXT: apt-get install -y nodejs npm" >&2
  exit 1
fi
"${PIP[@]}" install -q "${PINS[@]}" "${UPGRADE[@]}" -e ".[dev]"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
# Debian's Chromium for the browser tests (never 'playwright install').
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi
if [ -z "$LATEST" ]; then
  "$VENV/bin/python" scripts/check_lock.py requirements.lock
fi
# The extension must be installed and enabled (pip install -e copies its build into the venv).
if ! "$VENV/bin/jupyter" labextension list 2>&1 | grep -q "aimu-workbench v.*enabled.*OK"; then
  echo "setup: the JupyterLab extension aimu-workbench is not enabled; see 'jupyter labextension list'" >&2
  exit 1
fi
echo "$STAMP" > "$VENV/.workbench-setup"
