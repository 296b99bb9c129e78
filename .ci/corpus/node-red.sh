#!/usr/bin/env bash
# Node-RED, the flow editor: a single-page app whose login (adminAuth) is done by JavaScript,
# an OAuth2 password grant POSTed to /auth/token (client_id node-red-admin, grant_type
# password, scope *). Installed under its own npm prefix, never into the project's venv.
# 4.1.x is the last line that runs on Node 20 (Debian's nodejs here); 5.x needs Node 22.
# --check: exit non-zero when the pinned version is not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/node-red
version=4.1.15

installed() {
    [ "$(node -p "require('$prefix/node_modules/node-red/package.json').version" 2>/dev/null || true)" = "$version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "node-red.sh: node-red@$version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
command -v npm >/dev/null || { echo "node-red.sh: npm (Node 20) is needed" >&2; exit 1; }
mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"private": true}' >"$prefix/package.json"
npm install --prefix "$prefix" --no-audit --no-fund --omit=dev --save-exact "node-red@$version"
installed
