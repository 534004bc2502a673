#!/usr/bin/env bash
# Build go-tlog-check, an independent tlog-tiles checker on Go's reference
# golang.org/x/mod/sumdb/{note,tlog}, using only Debian packages (no module proxy).
#
#   interop/go-tlog-check/check.sh OUT      # OUT: binary path, or an existing dir / "dir/"
#   OUT[/go-tlog-check] -vkey "$(cat log.pub)" LOG_DIR
#
# Idempotent: installs golang-go and golang-golang-x-mod-dev only if missing;
# `go build` is cached, so re-running it is cheap. Prints the binary path.
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
	out="${out%/}/go-tlog-check"
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
# GO111MODULE=off: resolve golang.org/x/mod from GOPATH (the Debian package)
# instead of the module proxy. GOCACHE under /tmp in case $HOME is read-only.
cd "$src"
GOPATH="$gopath" GO111MODULE=off GOCACHE="${GOCACHE:-${TMPDIR:-/tmp}/go-tlog-check-cache}" \
	go build -o "$out" .
echo "$out"
