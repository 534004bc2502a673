#!/usr/bin/env bash
# Creates (or reuses) a venv holding exactly a requirements file's pins and prints its python's
# absolute path. Shared by the Python peers (interop/sigstore-python, interop/c2pa-python).
#
#   interop/python-venv.sh REQUIREMENTS VENV_DIR
#
# pip runs only when the requirements changed (a stamp file in the venv holds their hash).
set -euo pipefail
requirements="$1"
venv="$2"
py="$venv/bin/python"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$py" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	python3 -m venv "$venv" >&2
	"$py" -m pip install --disable-pip-version-check -q -r "$requirements" >&2
	echo "$want" >"$stamp"
fi
echo "$(cd "$(dirname "$py")" && pwd)/python"
