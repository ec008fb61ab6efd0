#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite; arguments go to pytest.
#
#   bash scripts/test.sh              # on the locked versions (requirements.lock): what CI runs;
#                                     # tests/deepeval_adapters then runs in .venv-deepeval
#   bash scripts/test.sh tests/evals  # only what pytest is given, in .venv
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
if [ $# -gt 0 ] || [ -n "${WORKBENCH_LATEST:-}" ]; then
  exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
fi
# The whole suite: everything in .venv, then tests/deepeval_adapters in its own environment
# (scripts/setup_deepeval.sh), with deepeval's own pytest plugins switched off.
bash scripts/setup_deepeval.sh
status=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider || status=$?
echo "tests/deepeval_adapters in ${WORKBENCH_DEEPEVAL_VENV:-.venv-deepeval} (requirements-deepeval.lock):"
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "${WORKBENCH_DEEPEVAL_VENV:-.venv-deepeval}/bin/python" -m pytest -q \
  -p no:cacheprovider -p no:rerunfailures -p no:xdist -p no:repeat -p no:asyncio tests/deepeval_adapters || status=$?
exit $status
