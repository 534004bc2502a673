#!/usr/bin/env bash
# Creates (or reuses) the venv with the pinned c2pa-python and prints its python's path.
#
#   interop/c2pa-python/venv.sh [VENV_DIR]   default ${CARGO_TARGET_DIR:-target}/c2pa-python-venv
#
# pip runs only when requirements.txt changed (a stamp file holds its hash).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${CARGO_TARGET_DIR:-target}/c2pa-python-venv}"
py="$venv/bin/python"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$py" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	python3 -m venv "$venv" >&2
	"$py" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt" >&2
	echo "$want" >"$stamp"
fi
echo "$(cd "$(dirname "$py")" && pwd)/python"
