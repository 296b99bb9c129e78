#!/usr/bin/env bash
# The web applications of the corpus that come from Debian (bookworm), pinned: DokuWiki (PHP,
# a login form with a CSRF token) and the Nagios 4 CGIs (behind HTTP Digest), both served by
# Debian's lighttpd, PHP through php-cgi; phpLiteAdmin (PHP, a password-only login form)
# the same way; and Cockpit (cockpit-ws, whose JavaScript login
# sends HTTP Basic by XHR; PAM accounts). The tests start them on their own
# 127.0.72.x addresses with configuration in a temporary directory; nothing here is started.
# --check: exit non-zero when a package is missing.
set -euo pipefail
packages=(
    "dokuwiki=0.0.20220731.a-2"
    "nagios4-cgi=4.4.6-4+deb12u2"
    "phpliteadmin=1.9.8.2-2"
    "php8.2-sqlite3"
    "php8.2-mbstring"
    "php8.2-cgi"
    "php-cgi"
    "lighttpd"
    "cockpit-ws=287.1-0+deb12u3"
    "cockpit-bridge=287.1-0+deb12u3"
    "cockpit-system=287.1-0+deb12u3"
)

# Succeeds when every package is installed at its pinned version; names what is not.
all_installed() {
    local pkg name version status=0
    for pkg in "${packages[@]}"; do
        name=${pkg%%=*}
        version=""
        [ "$name" = "$pkg" ] || version=${pkg#*=}
        if [ "$(dpkg-query -W -f='${Status}' "$name" 2>/dev/null)" != "install ok installed" ] ||
            { [ -n "$version" ] && [ "$(dpkg-query -W -f='${Version}' "$name")" != "$version" ]; }; then
            echo "debian-web.sh: $pkg missing" >&2
            status=1
        fi
    done
    return "$status"
}

if [ "${1:-}" = "--check" ]; then
    all_installed
    exit
fi
if all_installed 2>/dev/null; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101: no package may start a web server on the wildcard address.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT
apt-get install -y --no-install-recommends "${packages[@]}" || {
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
}
