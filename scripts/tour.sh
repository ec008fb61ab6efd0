#!/usr/bin/env bash
# Set up (if needed) and run the main job: the offline demo on the built-in model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m workbench.demo "$@"
