#!/usr/bin/env bash
# Installs what the browser tests need, idempotently, on a fresh Debian machine (as root, or with
# sudo): Debian's chromium (only when /usr/bin/chromium is missing) and, pinned by this folder's
# package-lock.json, playwright-core (drives that Chromium; it never downloads a browser of its
# own) and @contentauth/c2pa-web (the reference C2PA reader the page is measured against) into
# interop/browser/node_modules. npm runs only when the lock file changed since the last install.
#
#   interop/browser/install.sh && node interop/browser/smoke.mjs
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ ! -x /usr/bin/chromium ]; then
	sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine's package lists may be empty or stale: update once if the install fails.
	$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
		|| { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi

stamp="$here/node_modules/.sig-share-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
	echo "$want" >"$stamp"
fi

# Debian's launcher script prints "[: …: unexpected operator" from /etc/chromium.d/dev-shm on some
# machines (findmnt answers two lines); it is harmless, so the version check drops stderr.
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)" >&2
echo "playwright-core: $(node -p 'require(process.argv[1]).version' "$here/node_modules/playwright-core/package.json")" >&2
echo "@contentauth/c2pa-web: $(node -p 'require(process.argv[1]).version' "$here/node_modules/@contentauth/c2pa-web/package.json")" >&2
