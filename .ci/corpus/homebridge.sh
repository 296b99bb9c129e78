#!/usr/bin/env bash
# Homebridge with its web UI (npm homebridge-config-ui-x): a home-automation single-page app
# whose login is a JSON POST made by JavaScript. Installed under its own npm prefix, never
# into the project's venv. The 4.x UI is the last line that runs on Node 20 (Debian's
# nodejs here); 5.x needs Node 22. Its node-pty ships prebuilt binaries inside the npm
# package; should one ever need building, npm_config_nodedir points node-gyp at Debian's
# node headers (/usr/include/node) instead of a download.
# --check: exit non-zero when the pinned versions are not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/homebridge
ui_version=4.76.0
hb_version=1.9.0

version_of() {
    node -p "require('$prefix/node_modules/$1/package.json').version" 2>/dev/null || true
}
installed() {
    [ "$(version_of homebridge-config-ui-x)" = "$ui_version" ] &&
        [ "$(version_of homebridge)" = "$hb_version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "homebridge.sh: homebridge-config-ui-x@$ui_version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
command -v npm >/dev/null || { echo "homebridge.sh: npm (Node 20) is needed" >&2; exit 1; }
mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{"private": true}' >"$prefix/package.json"
npm_config_nodedir=/usr npm install --prefix "$prefix" --no-audit --no-fund --omit=dev \
    --save-exact "homebridge@$hb_version" "homebridge-config-ui-x@$ui_version"
installed
