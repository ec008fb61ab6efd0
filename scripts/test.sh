#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DEEPEVAL_TELEMETRY_OPT_OUT=1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
