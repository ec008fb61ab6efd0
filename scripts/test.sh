#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite; arguments go to pytest.
#
#   bash scripts/test.sh              # on the locked versions (requirements.lock): what CI runs
#   bash scripts/test.sh --latest     # in .venv-latest, on the newest versions pyproject.toml
#                                     # allows: finds upstream drift before users do
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--latest" ]; then
  shift
  export WORKBENCH_VENV=.venv-latest WORKBENCH_LATEST=1
fi
VENV=${WORKBENCH_VENV:-.venv}
bash scripts/setup.sh
if [ -n "${WORKBENCH_LATEST:-}" ]; then
  echo "Newest allowed versions that differ from requirements.lock:"
  "$VENV/bin/python" scripts/check_lock.py requirements.lock 2>&1 | sed -n 's/^  /  /p' || true
fi
export DEEPEVAL_TELEMETRY_OPT_OUT=1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
