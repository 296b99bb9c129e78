#!/usr/bin/env bash
# The device and daemon programs of the corpus that come from Debian (bookworm), pinned:
# Mosquitto (a broker with a password file, and an anonymous one), OpenSSH with PAM and
# pam_faillock, dropbear without any idle timeout, net-snmp's snmpd with factory
# communities, and GNU inetutils telnetd running /bin/login (shadow's login, PAM service
# "login") once per connection under socat. The tests start them on their own 127.0.73.x
# addresses with configuration in a temporary directory; nothing here is started.
# The standard clients the ground-truth tests log in with: mosquitto-clients, openssh-client
# with sshpass, snmp, inetutils' telnet driven by expect, and mbpoll (Modbus/TCP).
# --check: exit non-zero when a package is missing.
set -euo pipefail
packages=(
    "mosquitto=2.0.11-1.2+deb12u2"
    "mosquitto-clients=2.0.11-1.2+deb12u2"
    "openssh-server=1:9.2p1-2+deb12u10"
    "openssh-client=1:9.2p1-2+deb12u10"
    "dropbear-bin=2022.83-1+deb12u3"
    "snmpd=5.9.3+dfsg-2+deb12u1"
    "snmp=5.9.3+dfsg-2+deb12u1"
    "inetutils-telnetd=2:2.4-2+deb12u3"
    "socat=1.7.4.4-2"
    "libpam-modules"
    "login"
    "passwd"
    "sshpass"
    "inetutils-telnet=2:2.4-2+deb12u3"
    "expect=5.45.4-2+b1"
    "mbpoll=1.4.11+dfsg-2"
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
            echo "debian-devices.sh: $pkg missing" >&2
            status=1
        fi
    done
    [ -e /usr/lib/x86_64-linux-gnu/security/pam_faillock.so ] ||
        [ -n "$(find /usr/lib -name pam_faillock.so -print -quit 2>/dev/null)" ] ||
        { echo "debian-devices.sh: pam_faillock.so missing" >&2; status=1; }
    # busybox-telnetd-banner runs the busybox-static that install-daemons.sh unpacks.
    [ -x /opt/shinsa-ci/busybox-static/bin/busybox ] ||
        { echo "debian-devices.sh: /opt/shinsa-ci/busybox-static (install-daemons.sh)" >&2; status=1; }
    return "$status"
}

if [ "${1:-}" = "--check" ]; then
    all_installed
    exit
fi
if all_installed 2>/dev/null; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101: no package may start its daemon on the wildcard address.
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
# (install-daemons.sh stops whatever a package may have started on a wildcard address.)
all_installed
