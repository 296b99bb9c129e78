"""Real Debian daemons, each on its own loopback address and its standard port.

Each fixture writes the daemon's configuration into `tmp_path`, starts it in the
foreground in its own process group, waits (bounded) until it answers, and stops it at
teardown (SIGTERM, then SIGKILL, both bounded). A missing binary fails the test with the
package to install: CI installs them all with `.ci/install-daemons.sh`, so a skip would
only hide a broken CI image.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: One address per daemon (this suite owns 127.0.55.0/24), so all use standard ports.
SSHD_ADDRESS = "127.0.55.1"
DROPBEAR_ADDRESS = "127.0.55.2"
LIGHTTPD_ADDRESS = "127.0.55.3"
VSFTPD_ADDRESS = "127.0.55.4"
MOSQUITTO_ADDRESS = "127.0.55.5"
MOSQUITTO_AUTH_ADDRESS = "127.0.55.6"
SNMPD_ADDRESS = "127.0.55.7"
TELNETD_ADDRESS = "127.0.55.8"

#: Where .ci/install-daemons.sh unpacks busybox-static (Debian's busybox lacks telnetd).
BUSYBOX_STATIC = Path("/opt/shinsa-ci/busybox-static/bin/busybox")
SYSDESCR = "shinsa interop snmpd"
LOGIN_PAGE = """<!DOCTYPE html>
<html><head><title>Interop Camera Login</title></head>
<body><form action="/cgi-bin/login" method="post">
<input type="hidden" name="csrf" value="tok123">
<input type="text" name="user"><input type="password" name="pass">
<input type="submit" value="Log in"></form></body></html>
"""

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Daemon:
    name: str
    address: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def _require(binary: str, package: str) -> str:
    path = binary if os.path.isabs(binary) else shutil.which(binary)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(
            f"{binary} not found: install the Debian package {package} "
            "(.ci/install-daemons.sh installs every interop daemon)"
        )
    return path


def _run(argv: Sequence[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _tcp_ready(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
        return True
    return False


def _snmp_get_sysdescr(community: bytes) -> bytes:
    """SNMPv2c GetRequest for sysDescr.0, request id 1 (hand-encoded BER)."""
    varbind = bytes.fromhex("300c06082b060102010101000500")
    pdu_body = bytes.fromhex("020400000001020100020100") + b"\x30" + bytes([len(varbind)]) + varbind
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01\x04" + bytes([len(community)]) + community + pdu
    return b"\x30" + bytes([len(body)]) + body


def _snmp_ready(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(_snmp_get_sysdescr(b"public"), (address, port))
            return bool(sock.recv(4096))
        except OSError:
            return False


def _start(
    name: str,
    argv: Sequence[str],
    *,
    address: str,
    port: int,
    tmp_path: Path,
    udp: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[Daemon]:
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown also stops its children
            env={**os.environ, **(env or {})},
        )
    daemon = Daemon(name, address, port, proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        ready = _snmp_ready if udp else _tcp_ready
        while not ready(address, port):
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not answering on {address}:{port} after {START_TIMEOUT:g} s")
            time.sleep(0.05)
        yield daemon
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the group we created for this daemon only
        try:
            proc.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Daemon]:
    binary = _require("/usr/sbin/sshd", "openssh-server")
    keygen = _require("ssh-keygen", "openssh-client")
    key = tmp_path / "ssh_host_ed25519_key"
    _run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    cfg = tmp_path / "sshd_config"
    cfg.write_text(
        f"Port 22\nListenAddress {SSHD_ADDRESS}\nHostKey {key}\n"
        f"PidFile {tmp_path / 'sshd.pid'}\nUsePAM no\nStrictModes no\n"
    )
    yield from _start(
        "sshd",
        [binary, "-D", "-e", "-f", str(cfg)],
        address=SSHD_ADDRESS,
        port=22,
        tmp_path=tmp_path,
    )


@pytest.fixture
def dropbear(tmp_path: Path) -> Iterator[Daemon]:
    binary = _require("/usr/sbin/dropbear", "dropbear-bin")
    keygen = _require("dropbearkey", "dropbear-bin")
    key = tmp_path / "dropbear_ed25519_host_key"
    _run([keygen, "-t", "ed25519", "-f", str(key)])
    yield from _start(
        "dropbear",
        [
            binary,
            *("-F", "-E", "-p", f"{DROPBEAR_ADDRESS}:22", "-r", str(key)),
            *("-P", str(tmp_path / "dropbear.pid")),
        ],
        address=DROPBEAR_ADDRESS,
        port=22,
        tmp_path=tmp_path,
    )


@pytest.fixture
def lighttpd(tmp_path: Path) -> Iterator[Daemon]:
    binary = _require("/usr/sbin/lighttpd", "lighttpd")
    www = tmp_path / "www"
    www.mkdir()
    (www / "login.html").write_text(LOGIN_PAGE)
    cfg = tmp_path / "lighttpd.conf"
    # `/` redirects to the login page, as many device web UIs do.
    cfg.write_text(
        f'server.document-root = "{www}"\n'
        f'server.bind = "{LIGHTTPD_ADDRESS}"\n'
        "server.port = 80\n"
        f'server.errorlog = "{tmp_path / "lighttpd-error.log"}"\n'
        'server.modules = ("mod_redirect")\n'
        'mimetype.assign = (".html" => "text/html")\n'
        'index-file.names = ("index.html")\n'
        'url.redirect = ("^/$" => "/login.html")\n'
    )
    yield from _start(
        "lighttpd",
        [binary, "-D", "-f", str(cfg)],
        address=LIGHTTPD_ADDRESS,
        port=80,
        tmp_path=tmp_path,
    )


@pytest.fixture
def vsftpd(tmp_path: Path) -> Iterator[Daemon]:
    binary = _require("/usr/sbin/vsftpd", "vsftpd")
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o755)
    anon = tmp_path / "ftp"
    anon.mkdir(mode=0o555)
    cfg = tmp_path / "vsftpd.conf"
    cfg.write_text(
        "listen=YES\nlisten_ipv6=NO\n"
        f"listen_address={VSFTPD_ADDRESS}\nlisten_port=21\n"
        "anonymous_enable=YES\nlocal_enable=NO\nwrite_enable=NO\n"
        "background=NO\n"
        f"secure_chroot_dir={empty}\nanon_root={anon}\n"
        # Containers often refuse vsftpd's seccomp filter; the sandbox is not under test.
        "seccomp_sandbox=NO\n"
        "xferlog_enable=NO\n"
    )
    yield from _start(
        "vsftpd",
        [binary, str(cfg)],
        address=VSFTPD_ADDRESS,
        port=21,
        tmp_path=tmp_path,
    )


def _mosquitto(tmp_path: Path, address: str, extra: str, name: str) -> Iterator[Daemon]:
    binary = _require("/usr/sbin/mosquitto", "mosquitto")
    cfg = tmp_path / f"{name}.conf"
    # `user root` keeps it from switching to the mosquitto user, which cannot read tmp_path.
    cfg.write_text(
        f"user root\nlistener 1883 {address}\npersistence false\nlog_dest stderr\n{extra}"
    )
    yield from _start(
        name,
        [binary, "-c", str(cfg)],
        address=address,
        port=1883,
        tmp_path=tmp_path,
    )


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Daemon]:
    yield from _mosquitto(tmp_path, MOSQUITTO_ADDRESS, "allow_anonymous true\n", "mosquitto")


@pytest.fixture
def mosquitto_auth(tmp_path: Path) -> Iterator[Daemon]:
    passwd = _require("mosquitto_passwd", "mosquitto")
    password_file = tmp_path / "mosquitto.passwd"
    _run([passwd, "-b", "-c", str(password_file), "operator", "s3cret-interop"])
    password_file.chmod(0o600)
    yield from _mosquitto(
        tmp_path,
        MOSQUITTO_AUTH_ADDRESS,
        f"allow_anonymous false\npassword_file {password_file}\n",
        "mosquitto-auth",
    )


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Daemon]:
    binary = _require("/usr/sbin/snmpd", "snmpd")
    cfg = tmp_path / "snmpd.conf"
    cfg.write_text(f"rocommunity public\nsysDescr {SYSDESCR}\nsysLocation interop lab\n")
    yield from _start(
        "snmpd",
        [binary, "-f", "-Lo", "-C", "-c", str(cfg), f"udp:{SNMPD_ADDRESS}:161"],
        address=SNMPD_ADDRESS,
        port=161,
        tmp_path=tmp_path,
        udp=True,
        # Its persistent state goes to tmp_path, not /var/lib/snmp.
        env={"SNMP_PERSISTENT_DIR": str(tmp_path / "snmp-persist")},
    )


def _busybox_with_telnetd() -> str:
    candidates = [str(BUSYBOX_STATIC), shutil.which("busybox") or ""]
    for candidate in filter(None, candidates):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            applets = subprocess.run(
                [candidate, "--list"], capture_output=True, timeout=10, check=True
            ).stdout.split()
            if b"telnetd" in applets:
                return candidate
    pytest.fail(
        "no busybox with a telnetd applet: Debian's busybox has none; install busybox-static "
        f"(.ci/install-daemons.sh unpacks it to {BUSYBOX_STATIC})"
    )


@pytest.fixture
def telnetd(tmp_path: Path) -> Iterator[Daemon]:
    busybox = _busybox_with_telnetd()
    yield from _start(
        "busybox-telnetd",
        [busybox, "telnetd", "-F", "-b", f"{TELNETD_ADDRESS}:23", "-l", "/bin/login"],
        address=TELNETD_ADDRESS,
        port=23,
        tmp_path=tmp_path,
    )
