#!/usr/bin/env bash
# Regenerate requirements.lock: every package version that README's two commands install,
# resolved by uv from pyproject.toml's extras (dev pulls in all of them).
#
#   bash scripts/lock.sh              # newest versions pyproject.toml allows, today
#   bash scripts/lock.sh --upgrade-package transformers   # (any uv pip compile option)
#
# scripts/setup.sh installs with the lock as pip constraints, so a fresh machine gets
# exactly what CI tested. torch is left out of the lock: setup.sh installs torch==2.13.0
# first (the CPU wheel), and pyproject.toml pins it.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${WORKBENCH_LOCK_TOOLS:-.venv-lock}
[ -x "$TOOLS/bin/uv" ] || { python3 -m venv "$TOOLS" && "$TOOLS/bin/python" -m pip install -q "uv>=0.9,<1"; }
export SSL_CERT_FILE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
# uv keeps the versions already in requirements.lock unless told otherwise: a plain re-run
# only adds what pyproject.toml newly asks for; --upgrade (or deleting the file) takes the
# newest of everything. The CPU torch wheel (a local file) keeps CUDA packages out.
LINKS=()
[ -d "${PIP_FIND_LINKS:-/opt/wheels}" ] && LINKS=(--find-links "${PIP_FIND_LINKS:-/opt/wheels}")
"$TOOLS/bin/uv" pip compile pyproject.toml --extra dev \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-emit-package torch --no-emit-package aimu-workbench \
  --custom-compile-command "bash scripts/lock.sh" \
  "${LINKS[@]}" -o requirements.lock "$@"
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) pinned packages)"
# tests/deepeval runs in its own environment (deepeval's pins conflict with the dev extra's):
# its lock is compiled the same way from the deepeval-tests extra.
"$TOOLS/bin/uv" pip compile pyproject.toml --extra deepeval-tests \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-emit-package torch --no-emit-package aimu-workbench \
  --custom-compile-command "bash scripts/lock.sh" \
  "${LINKS[@]}" -o requirements-deepeval.lock "$@"
echo "wrote requirements-deepeval.lock ($(grep -c '==' requirements-deepeval.lock) pinned packages)"
