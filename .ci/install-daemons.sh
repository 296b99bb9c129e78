#!/usr/bin/env bash
# Install the real daemons tests/interop starts (as root), and make sure none of them is
# left running on 0.0.0.0: the fixtures bind each daemon to its own 127.0.5x.y address,
# and a package-started daemon on the wildcard address would take the port first.
# Idempotent: safe to run again on a machine that already has everything.
set -euo pipefail

# --check: only report whether everything is installed (for `make test` run without root).
if [ "${1:-}" = "--check" ]; then
    missing=0
    for bin in nmap /usr/sbin/sshd dropbear lighttpd vsftpd mosquitto snmpd hydra \
               /usr/sbin/useradd /usr/sbin/chpasswd /usr/sbin/userdel \
               /opt/shinsa-ci/busybox-static/bin/busybox openssl testssl chromium groff \
               redis-server ip; do
        command -v "$bin" >/dev/null 2>&1 || { echo "missing: $bin" >&2; missing=1; }
    done
    # lighttpd's TLS module is a package of its own (lighttpd-mod-openssl), not a program.
    [ -e /usr/lib/lighttpd/mod_openssl.so ] \
        || { echo "missing: /usr/lib/lighttpd/mod_openssl.so" >&2; missing=1; }
    # the Japanese report's screenshots and PDF need a CJK font (else boxes)
    fc-list :lang=ja 2>/dev/null | grep -q . \
        || { echo "missing: a Japanese font (fonts-noto-cjk)" >&2; missing=1; }
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        || { echo "missing: PostgreSQL (initdb)" >&2; missing=1; }
    bash "$(dirname "$0")/install-corpus.sh" --check || missing=1
    exit "$missing"
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-daemons.sh: must run as root (apt-get, and the daemons bind ports < 1024)" >&2
    exit 1
fi

# hydra: the credentials bench's reference tool (bench/credentials/run.py). passwd and
# login: useradd/chpasswd/userdel for the default-credentials fixtures' temporary users, and
# the /bin/login busybox telnetd runs (both are in Debian's base system; listed to be sure).
# lighttpd-mod-openssl: the TLS endpoints of tests/interop/tls_daemons.py; openssl: their
# `s_client` reference; testssl.sh: a reference tool of the TLS bench (bench/tls/run.py).
# fonts-noto-cjk: Chromium draws the Japanese HTML report (tests/integration/
# test_report_html_browser.py) with it; without it every kanji is a box.
# groff-base: renders the generated manual page in its test (tests/unit/test_cli_manual.py).
# postgresql: the operation service's central database; the service tests start their own
# cluster (initdb, pg_ctl) on a loopback address of theirs, never the packaged one.
# redis-server: the sites' broker (scanner/sites/, issue 15); started by the sites tests'
# fixtures on their own loopback or namespace address, never the packaged instance.
# iproute2: the network namespaces, veth pairs and bridges of the sites tests.
PACKAGES=(nmap openssh-server openssh-client dropbear-bin lighttpd lighttpd-mod-openssl
          vsftpd mosquitto mosquitto-clients snmpd snmp busybox hydra passwd login openssl
          testssl.sh chromium fonts-noto-cjk groff-base postgresql redis-server iproute2)
# Debian's dynamic busybox has no telnetd applet; busybox-static has one. It Conflicts with
# busybox, so it is unpacked beside it rather than installed over it.
BUSYBOX_STATIC_DIR=/opt/shinsa-ci/busybox-static
SERVICES=(ssh dropbear lighttpd vsftpd mosquitto snmpd postgresql redis-server)
PROCESSES=(sshd dropbear lighttpd vsftpd mosquitto snmpd redis-server)

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 tells invoke-rc.d not to start services while packages install.
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

apt-get update
apt-get install -y --no-install-recommends "${PACKAGES[@]}"

if [ ! -x "$BUSYBOX_STATIC_DIR/bin/busybox" ]; then
    work=$(mktemp -d)
    chmod 755 "$work"  # apt downloads as user _apt, which must be able to write here
    chown _apt "$work" 2>/dev/null || true
    (cd "$work" && apt-get download busybox-static)
    mkdir -p "$BUSYBOX_STATIC_DIR"
    dpkg-deb -x "$work"/busybox-static_*.deb "$BUSYBOX_STATIC_DIR"
    rm -rf "$work"
fi
"$BUSYBOX_STATIC_DIR/bin/busybox" --list | grep -qx telnetd

# Stop whatever the packages may have started anyway (containers without policy-rc.d
# support, or a previous run); the fixtures start their own instances.
for svc in "${SERVICES[@]}"; do
    service "$svc" stop >/dev/null 2>&1 || true
done
for proc in "${PROCESSES[@]}"; do
    if pgrep -x "$proc" >/dev/null 2>&1; then
        # Only daemons listening on a wildcard address are in the way; a fixture's daemon on
        # 127.0.5x.y from a concurrent run is left alone.
        for pid in $(pgrep -x "$proc"); do
            # the local address is the fifth column (the peer's, "0.0.0.0:*" on every
            # listener, must not count: it took every fixture's daemon down with it)
            if ss -Hlnptu 2>/dev/null \
                | awk -v p="pid=$pid," '$5 ~ /^(0\.0\.0\.0|\[::\]|\*):/ && index($0, p)' \
                | grep -q .; then
                kill "$pid" 2>/dev/null || true
            fi
        done
    fi
done

for bin in /usr/sbin/sshd /usr/sbin/dropbear /usr/bin/dropbearkey /usr/sbin/lighttpd \
           /usr/sbin/vsftpd /usr/sbin/mosquitto /usr/bin/mosquitto_passwd /usr/sbin/snmpd \
           /usr/bin/snmpget /usr/bin/nmap /usr/bin/ssh-keygen /usr/bin/hydra \
           /usr/sbin/useradd /usr/sbin/chpasswd /usr/sbin/userdel /bin/login \
           /usr/bin/openssl /usr/bin/testssl /usr/bin/redis-server /usr/bin/redis-cli \
           /usr/sbin/ip; do
    [ -x "$bin" ] || { echo "install-daemons.sh: $bin missing after install" >&2; exit 1; }
done
[ -e /usr/lib/lighttpd/mod_openssl.so ] \
    || { echo "install-daemons.sh: mod_openssl.so missing after install" >&2; exit 1; }
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
    || { echo "install-daemons.sh: PostgreSQL's initdb missing after install" >&2; exit 1; }
bash "$(dirname "$0")/install-corpus.sh"
echo "install-daemons.sh: daemons installed; none left on a wildcard address"
