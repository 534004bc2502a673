#!/usr/bin/env bash
# Creates (or reuses) the venv with the pinned c2pa-python and prints its python's path.
#
#   interop/c2pa-python/venv.sh [VENV_DIR]   default ${CARGO_TARGET_DIR:-target}/c2pa-python-venv
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../python-venv.sh" "$here/requirements.txt" "${1:-${CARGO_TARGET_DIR:-target}/c2pa-python-venv}"
