#!/usr/bin/env bash
# Build go-cosig-check, which plays a log against a witness with Go's reference
# golang.org/x/mod/sumdb/{note,tlog} and checks its answers and cosignatures, using only
# Debian packages (no module proxy).
#
#   interop/go-cosig-check/check.sh OUT     # OUT: binary path, or an existing dir / "dir/"
#   OUT[/go-cosig-check] -print-log-vkey
#   OUT[/go-cosig-check] -url http://127.0.0.1:7380 -witness "$(cat DIR/witness.pub)"
#
# Idempotent: installs golang-go and golang-golang-x-mod-dev only if missing. Prints the binary path.
set -euo pipefail

out="${1:?usage: $0 OUTPUT_BINARY_OR_DIR}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gopath=/usr/share/gocode

if ! command -v go >/dev/null || [ ! -d "$gopath/src/golang.org/x/mod/sumdb/tlog" ]; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	pkgs=(golang-go golang-golang-x-mod-dev)
	export DEBIAN_FRONTEND=noninteractive
	if ! $sudo apt-get install -y --no-install-recommends "${pkgs[@]}"; then
		$sudo apt-get update
		$sudo apt-get install -y --no-install-recommends "${pkgs[@]}"
	fi
fi

if [ -d "$out" ] || [[ "$out" == */ ]]; then
	out="${out%/}/go-cosig-check"
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
cd "$src"
GOPATH="$gopath" GO111MODULE=off GOCACHE="${GOCACHE:-${TMPDIR:-/tmp}/go-cosig-check-cache}" \
	go build -o "$out" .
echo "$out"
