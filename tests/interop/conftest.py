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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.listening import wildcard_sockets

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

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
#: snmpd in the foreground, logging to stdout, only our config, and without its SMUX module,
#: which otherwise listens on TCP port 199 of every address of the machine (0.0.0.0): a
#: SYN scan of 127.0.33.1 in a parallel test process found it open
SNMPD_FLAGS = ("-f", "-Lo", "-C", "-I", "-smux")
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
    ready: Callable[[str, int], bool] | None = None,
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
        ready = ready or (_snmp_ready if udp else _tcp_ready)
        while not ready(address, port):
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not answering on {address}:{port} after {START_TIMEOUT:g} s")
            time.sleep(0.05)
        everywhere = wildcard_sockets(proc.pid)
        if everywhere:
            pytest.fail(
                f"{name} listens on every address of the machine ({', '.join(everywhere)}): "
                "a test's daemon may listen on loopback only"
            )
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
        [binary, *SNMPD_FLAGS, "-c", str(cfg), f"udp:{SNMPD_ADDRESS}:161"],
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


# --- Default credentials -------------------------------------------------------------------
#
# Daemons that take a password, for the default-credentials login clients. They own
# 127.0.56.0/24 (the credentials bench owns 127.0.57.0/24). The system daemons (OpenSSH,
# dropbear, busybox telnetd via /bin/login) log in a real local user that the `*_user`
# fixtures create with useradd and delete at teardown, even when the test fails.

CREDS_SSHD_ADDRESS = "127.0.56.1"
CREDS_SSHD_CHANGED_ADDRESS = "127.0.56.2"
CREDS_DROPBEAR_ADDRESS = "127.0.56.3"
CREDS_DROPBEAR_CHANGED_ADDRESS = "127.0.56.4"
CREDS_TELNETD_ADDRESS = "127.0.56.5"
CREDS_TELNETD_CHANGED_ADDRESS = "127.0.56.6"
CREDS_LIGHTTPD_ADDRESS = "127.0.56.7"
CREDS_LIGHTTPD_CHANGED_ADDRESS = "127.0.56.8"
CREDS_MOSQUITTO_ADDRESS = "127.0.56.9"
CREDS_SNMPD_CHANGED_ADDRESS = "127.0.56.10"
CREDS_SSHD_MAXSTARTUPS_ADDRESS = "127.0.56.11"

#: The factory default every planted daemon keeps (a common one: admin/admin).
DEFAULT_PASSWORD = "admin"
#: What an operator changed the default to on the `*_changed` daemons.
CHANGED_PASSWORD = "Ch4nged-by-operator-7"
#: The lighttpd and mosquitto accounts (their own user files, not system users).
DEFAULT_HTTP_USER = "admin"
DEFAULT_MQTT_USER = "admin"
#: snmpd_changed answers this community only; `public` gets silence.
CHANGED_COMMUNITY = "S3cr3t-not-default"
USER_PREFIX = "shinsa-dflt-"
USERDEL_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class LocalUser:
    """A system account that exists for one test only."""

    name: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CredsDaemon:
    """A daemon with a login: where it listens and the one login it accepts."""

    daemon: Daemon
    username: str
    password: str = field(repr=False)

    @property
    def name(self) -> str:
        return self.daemon.name

    @property
    def address(self) -> str:
        return self.daemon.address

    @property
    def port(self) -> int:
        return self.daemon.port

    @property
    def log(self) -> Path:
        return self.daemon.log

    def log_tail(self) -> str:
        return self.daemon.log_tail()


def _user_exists(name: str) -> bool:
    return (
        subprocess.run(
            ["getent", "passwd", name], capture_output=True, timeout=10, check=False
        ).returncode
        == 0
    )


def _delete_user(name: str) -> None:
    """userdel, retried while a login of this test still runs as the user (bounded), then
    forced; fails the test if the account is still there."""
    deadline = time.monotonic() + USERDEL_TIMEOUT
    while _user_exists(name):
        # userdel exits 8 while the user is logged in (a shell the daemon has not reaped yet).
        force = ["-f"] if time.monotonic() > deadline else []
        done = subprocess.run(
            ["userdel", *force, name], capture_output=True, timeout=30, check=False
        )
        if done.returncode == 0:
            break
        if force:
            pytest.fail(f"userdel -f {name} failed: {done.stderr.decode(errors='replace')}")
        time.sleep(0.2)
    # userdel removes the user's own group too (USERGROUPS_ENAB); make sure.
    if subprocess.run(["getent", "group", name], capture_output=True, timeout=10).returncode == 0:
        subprocess.run(["groupdel", name], capture_output=True, timeout=30, check=False)


def _local_user(password: str) -> Iterator[LocalUser]:
    useradd = _require("/usr/sbin/useradd", "passwd")
    chpasswd = _require("/usr/sbin/chpasswd", "passwd")
    name = USER_PREFIX + os.urandom(4).hex()
    try:
        # -M: no home directory to clean up; /bin/sh so that /bin/login and sshd let it in.
        _run([useradd, "-M", "-s", "/bin/sh", name])
        subprocess.run(
            [chpasswd],
            input=f"{name}:{password}\n".encode(),
            check=True,
            timeout=30,
            capture_output=True,
        )
        yield LocalUser(name, password)
    finally:
        _delete_user(name)


@pytest.fixture
def default_user() -> Iterator[LocalUser]:
    """A local user whose password is still the factory default `admin`."""
    yield from _local_user(DEFAULT_PASSWORD)


@pytest.fixture
def changed_user() -> Iterator[LocalUser]:
    """A local user whose password was changed from the default."""
    yield from _local_user(CHANGED_PASSWORD)


def _sshd_creds(
    tmp_path: Path, address: str, user: LocalUser, name: str, extra: str = ""
) -> Iterator[CredsDaemon]:
    binary = _require("/usr/sbin/sshd", "openssh-server")
    keygen = _require("ssh-keygen", "openssh-client")
    key = tmp_path / f"{name}_host_ed25519_key"
    _run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    cfg = tmp_path / f"{name}_config"
    # UsePAM no: sshd checks /etc/shadow itself, which works in this container and adds no
    # pam_faildelay pause. Keyboard-interactive needs PAM (or BSD auth) on Debian, so with
    # PAM off only "password" is offered even though it is enabled here.
    cfg.write_text(
        f"Port 22\nListenAddress {address}\nHostKey {key}\n"
        f"PidFile {tmp_path / (name + '.pid')}\nUsePAM no\nStrictModes no\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n"
        "PubkeyAuthentication no\nPermitEmptyPasswords no\n"
        f"AllowUsers {user.name}\nMaxAuthTries 6\n{extra}"
    )
    for daemon in _start(
        name, [binary, "-D", "-e", "-f", str(cfg)], address=address, port=22, tmp_path=tmp_path
    ):
        yield CredsDaemon(daemon, user.name, user.password)


@pytest.fixture
def sshd_creds(tmp_path: Path, default_user: LocalUser) -> Iterator[CredsDaemon]:
    """OpenSSH taking passwords for a user still on admin (default MaxStartups 10:30:100)."""
    yield from _sshd_creds(tmp_path, CREDS_SSHD_ADDRESS, default_user, "sshd-creds")


@pytest.fixture
def sshd_changed(tmp_path: Path, changed_user: LocalUser) -> Iterator[CredsDaemon]:
    """OpenSSH as `sshd_creds`, but the user's password is no longer admin."""
    yield from _sshd_creds(tmp_path, CREDS_SSHD_CHANGED_ADDRESS, changed_user, "sshd-changed")


@pytest.fixture
def sshd_maxstartups(tmp_path: Path, default_user: LocalUser) -> Iterator[CredsDaemon]:
    """OpenSSH as `sshd_creds` with MaxStartups explicit at its default, 10:30:100: beyond
    10 unauthenticated connections it drops new ones at random (logged as `drop connection
    ... past MaxStartups`). `LogLevel VERBOSE` so every drop and failure is in the log."""
    yield from _sshd_creds(
        tmp_path,
        CREDS_SSHD_MAXSTARTUPS_ADDRESS,
        default_user,
        "sshd-maxstartups",
        "MaxStartups 10:30:100\nLogLevel VERBOSE\n",
    )


def _dropbear_creds(
    tmp_path: Path, address: str, user: LocalUser, name: str
) -> Iterator[CredsDaemon]:
    binary = _require("/usr/sbin/dropbear", "dropbear-bin")
    keygen = _require("dropbearkey", "dropbear-bin")
    keys = []
    # An RSA key besides ed25519: dropbear 2022.83 with only an ed25519 key dies on an
    # assertion (rsa.c:164) when asyncssh connects.
    for kind in ("ed25519", "rsa"):
        key = tmp_path / f"{name}_{kind}_host_key"
        _run([keygen, "-t", kind, "-f", str(key)])
        keys += ["-r", str(key)]
    for daemon in _start(
        name,
        [
            binary,
            *("-F", "-E", "-p", f"{address}:22", *keys),
            *("-P", str(tmp_path / f"{name}.pid")),
        ],
        address=address,
        port=22,
        tmp_path=tmp_path,
    ):
        yield CredsDaemon(daemon, user.name, user.password)


@pytest.fixture
def dropbear_creds(tmp_path: Path, default_user: LocalUser) -> Iterator[CredsDaemon]:
    """dropbear taking passwords for a local user still on admin."""
    yield from _dropbear_creds(tmp_path, CREDS_DROPBEAR_ADDRESS, default_user, "dropbear-creds")


@pytest.fixture
def dropbear_changed(tmp_path: Path, changed_user: LocalUser) -> Iterator[CredsDaemon]:
    yield from _dropbear_creds(
        tmp_path, CREDS_DROPBEAR_CHANGED_ADDRESS, changed_user, "dropbear-changed"
    )


def _telnetd_creds(
    tmp_path: Path, address: str, user: LocalUser, name: str
) -> Iterator[CredsDaemon]:
    busybox = _busybox_with_telnetd()
    # /bin/login (util-linux, PAM) checks /etc/shadow; a wrong password costs the ~3 s of
    # pam_faildelay before "Login incorrect".
    for daemon in _start(
        name,
        [busybox, "telnetd", "-F", "-b", f"{address}:23", "-l", "/bin/login"],
        address=address,
        port=23,
        tmp_path=tmp_path,
    ):
        yield CredsDaemon(daemon, user.name, user.password)


@pytest.fixture
def telnetd_creds(tmp_path: Path, default_user: LocalUser) -> Iterator[CredsDaemon]:
    """busybox telnetd with /bin/login, for a local user still on admin."""
    yield from _telnetd_creds(tmp_path, CREDS_TELNETD_ADDRESS, default_user, "telnetd-creds")


@pytest.fixture
def telnetd_changed(tmp_path: Path, changed_user: LocalUser) -> Iterator[CredsDaemon]:
    yield from _telnetd_creds(
        tmp_path, CREDS_TELNETD_CHANGED_ADDRESS, changed_user, "telnetd-changed"
    )


def _lighttpd_basic(
    tmp_path: Path, address: str, password: str, name: str
) -> Iterator[CredsDaemon]:
    binary = _require("/usr/sbin/lighttpd", "lighttpd")
    www = tmp_path / f"{name}-www"
    www.mkdir()
    (www / "index.html").write_text(
        "<!DOCTYPE html><html><head><title>Camera</title></head><body>Live view</body></html>\n"
    )
    users = tmp_path / f"{name}.user"
    users.write_text(f"{DEFAULT_HTTP_USER}:{password}\n")  # mod_authn_file "plain" backend
    users.chmod(0o600)
    cfg = tmp_path / f"{name}.conf"
    # The whole site asks for Basic auth, as a camera's web UI does.
    cfg.write_text(
        f'server.document-root = "{www}"\n'
        f'server.bind = "{address}"\n'
        "server.port = 80\n"
        f'server.errorlog = "{tmp_path / (name + "-error.log")}"\n'
        'server.modules = ("mod_auth", "mod_authn_file")\n'
        'mimetype.assign = (".html" => "text/html")\n'
        'index-file.names = ("index.html")\n'
        'auth.backend = "plain"\n'
        f'auth.backend.plain.userfile = "{users}"\n'
        'auth.require = ("/" => ("method" => "basic", "realm" => "Interop Camera", '
        '"require" => "valid-user"))\n'
    )
    for daemon in _start(
        name, [binary, "-D", "-f", str(cfg)], address=address, port=80, tmp_path=tmp_path
    ):
        yield CredsDaemon(daemon, DEFAULT_HTTP_USER, password)


@pytest.fixture
def lighttpd_basic(tmp_path: Path) -> Iterator[CredsDaemon]:
    """lighttpd asking for HTTP Basic on every page; admin/admin gets in."""
    yield from _lighttpd_basic(tmp_path, CREDS_LIGHTTPD_ADDRESS, DEFAULT_PASSWORD, "lighttpd-basic")


@pytest.fixture
def lighttpd_basic_changed(tmp_path: Path) -> Iterator[CredsDaemon]:
    """lighttpd as `lighttpd_basic`, but admin's password was changed."""
    yield from _lighttpd_basic(
        tmp_path, CREDS_LIGHTTPD_CHANGED_ADDRESS, CHANGED_PASSWORD, "lighttpd-basic-changed"
    )


@pytest.fixture
def mosquitto_passwd(tmp_path: Path) -> Iterator[CredsDaemon]:
    """mosquitto refusing anonymous clients, with admin/admin in its password file
    (`mosquitto_auth`, whose only user is operator/s3cret-interop, is the changed case)."""
    passwd = _require("mosquitto_passwd", "mosquitto")
    password_file = tmp_path / "mosquitto-passwd.passwd"
    _run([passwd, "-b", "-c", str(password_file), DEFAULT_MQTT_USER, DEFAULT_PASSWORD])
    password_file.chmod(0o600)
    for daemon in _mosquitto(
        tmp_path,
        CREDS_MOSQUITTO_ADDRESS,
        f"allow_anonymous false\npassword_file {password_file}\n",
        "mosquitto-passwd",
    ):
        yield CredsDaemon(daemon, DEFAULT_MQTT_USER, DEFAULT_PASSWORD)


@pytest.fixture
def snmpd_changed(tmp_path: Path) -> Iterator[CredsDaemon]:
    """snmpd whose only community is `S3cr3t-not-default`: `public` gets no answer."""
    binary = _require("/usr/sbin/snmpd", "snmpd")
    cfg = tmp_path / "snmpd-changed.conf"
    cfg.write_text(
        f"rocommunity {CHANGED_COMMUNITY}\nsysDescr {SYSDESCR}\nsysLocation interop lab\n"
    )

    def ready(address: str, port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            try:
                sock.sendto(_snmp_get_sysdescr(CHANGED_COMMUNITY.encode()), (address, port))
                return bool(sock.recv(4096))
            except OSError:
                return False

    for daemon in _start(
        "snmpd-changed",
        [binary, *SNMPD_FLAGS, "-c", str(cfg), f"udp:{CREDS_SNMPD_CHANGED_ADDRESS}:161"],
        address=CREDS_SNMPD_CHANGED_ADDRESS,
        port=161,
        tmp_path=tmp_path,
        udp=True,
        env={"SNMP_PERSISTENT_DIR": str(tmp_path / "snmp-changed-persist")},
        ready=ready,
    ):
        yield CredsDaemon(daemon, "", CHANGED_COMMUNITY)
