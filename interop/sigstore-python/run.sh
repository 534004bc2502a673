#!/usr/bin/env bash
# Check a running sig-share log with the real sigstore-python (pinned in requirements.txt).
#
#   interop/sigstore-python/run.sh [VENV_DIR] [SIG_SHARE_BIN]
#     VENV_DIR       default ${CARGO_TARGET_DIR:-target}/sigstore-python-venv (relative to the cwd)
#     SIG_SHARE_BIN  default ${CARGO_TARGET_DIR:-target}/debug/sig-share  (cargo build -p sig-share-cli)
#
# Creates/reuses the venv (pip install only when requirements.txt changed: stamp file), starts
# `sig-share log serve` on a free loopback port with a temp data dir, waits for /healthz, runs
# check_log.py against it, stops the server and exits with check_log.py's status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${CARGO_TARGET_DIR:-target}/sigstore-python-venv}"
bin="${2:-${CARGO_TARGET_DIR:-target}/debug/sig-share}"
[ -x "$bin" ] || { echo "sig-share binary not found: $bin" >&2; exit 2; }

# --- venv, installed once per requirements.txt content
py="$("$here/venv.sh" "$venv")"
"$py" -c 'import importlib.metadata as m; print("sigstore", m.version("sigstore"), "/ sigstore-models", m.version("sigstore-models"))'

# --- start the log on a free port
data="$(mktemp -d "${TMPDIR:-/tmp}/sig-share-sigstore-python.XXXXXX")"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" log serve --data "$data" --listen "127.0.0.1:$port" --period 100ms >"$data/serve.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$data"
}
trap cleanup EXIT

url="http://127.0.0.1:$port"
ready=0
for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "sig-share log serve exited early:" >&2; cat "$data/serve.log" >&2; exit 1
	fi
	if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$url/healthz" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
[ "$ready" = 1 ] || { echo "no healthy /healthz after 10 s; server log:" >&2; cat "$data/serve.log" >&2; exit 1; }
[ -s "$data/log.pub" ] || { echo "no $data/log.pub; server log:" >&2; cat "$data/serve.log" >&2; exit 1; }
echo "sig-share log at $url, vkey $(cat "$data/log.pub")"

status=0
"$py" "$here/check_log.py" --url "$url" --vkey "$(cat "$data/log.pub")" || status=$?
exit "$status"
