"""OpenSSH, dropbear and mosquitto for the lockout and session-expiry interop tests, on
127.0.74.0/24 (this suite's block), each SSH server logging in a temporary local user.

- `faillock_sshd`: OpenSSH with PAM, whose auth stack is pam_faillock around pam_unix
  (Debian bookworm's OpenSSH 9.2 has no PerSourcePenalties, 9.8+). sshd names its PAM
  service after the program (`__progname`), so it runs through a symlink named like a
  fresh service, whose /etc/pam.d file is created here (never over an existing one) and
  removed at exit. The tally lives in the caller's directory, not /var/run/faillock.
- `plain_sshd`: OpenSSH without PAM, checking /etc/shadow itself, with extra options
  (e.g. `MaxAuthTries`).
- `dropbear`: dropbear (Debian builds it without PAM), which has no lockout at all.
- `anonymous_mosquitto`: mosquitto with `allow_anonymous true` and no password file, as
  Debian ships it for a local broker: it accepts every client, whatever login it sends.

Like tls_daemons.py, nothing here imports pytest: a missing binary raises `MissingBinary`
naming the Debian package, a daemon that dies or never answers raises `DaemonFailed` with
its log, and the tests turn both into failures. Each daemon runs in the foreground in its
own process group and is stopped at exit (SIGTERM, then SIGKILL, both bounded).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.interop.tls_daemons import START_TIMEOUT, DaemonFailed, MissingBinary, require, stop

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: This suite's addresses, one daemon each, so every daemon keeps its standard port.
FAILLOCK_SSHD_ADDRESS = "127.0.74.1"
MAXAUTHTRIES_SSHD_ADDRESS = "127.0.74.2"
DROPBEAR_ADDRESS = "127.0.74.3"
ANONYMOUS_MOSQUITTO_ADDRESS = "127.0.74.20"
MQTT_PORT = 1883

USER_PREFIX = "shinsa-lock-"
#: How long userdel is retried while an sshd child of the test still runs as the user.
USERDEL_TIMEOUT = 10.0
PAM_DIR = Path("/etc/pam.d")


@dataclass(frozen=True, slots=True)
class LocalUser:
    """A system account that exists for one test only."""

    name: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Daemon:
    name: str
    address: str
    port: int
    directory: Path
    proc: subprocess.Popen[bytes] = field(repr=False)
    #: pam_faillock's tally directory (`faillock_sshd` only)
    tally_dir: Path | None = None

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / f"{self.name}.log").read_text(errors="replace")[-3000:]
        return ""


# --- Temporary local users -------------------------------------------------------------------


def _run(argv: Sequence[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=30, check=False)


def _user_exists(name: str) -> bool:
    return _run(["getent", "passwd", name]).returncode == 0


@contextlib.contextmanager
def local_user() -> Iterator[LocalUser]:
    """A local user with a random password (no default-credentials guess can hit it),
    deleted at exit even when the test failed."""
    useradd = require("/usr/sbin/useradd", "passwd")
    chpasswd = require("/usr/sbin/chpasswd", "passwd")
    userdel = require("/usr/sbin/userdel", "passwd")
    name = USER_PREFIX + secrets.token_hex(4)
    password = "Lock-" + secrets.token_urlsafe(12)
    try:
        # -M: no home directory to clean up; /bin/sh so that sshd and dropbear let it in.
        created = _run([useradd, "-M", "-s", "/bin/sh", name])
        if created.returncode != 0:
            raise DaemonFailed(f"useradd {name}: {created.stderr.decode(errors='replace')}")
        changed = _run([chpasswd], f"{name}:{password}\n".encode())
        if changed.returncode != 0:
            raise DaemonFailed(f"chpasswd {name}: {changed.stderr.decode(errors='replace')}")
        yield LocalUser(name, password)
    finally:
        _delete_user(userdel, name)


def _delete_user(userdel: str, name: str) -> None:
    deadline = time.monotonic() + USERDEL_TIMEOUT
    while _user_exists(name):
        # userdel exits 8 while a process still runs as the user; -f once the wait is over.
        force = ["-f"] if time.monotonic() > deadline else []
        done = _run([userdel, *force, name])
        if done.returncode == 0:
            break
        if force:
            raise DaemonFailed(f"userdel -f {name}: {done.stderr.decode(errors='replace')}")
        time.sleep(0.2)
    if _run(["getent", "group", name]).returncode == 0:  # USERGROUPS_ENAB made one
        _run(["groupdel", name])


# --- Daemons ------------------------------------------------------------------------------------


def _answers(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def _serve(
    name: str,
    argv: Sequence[str],
    address: str,
    directory: Path,
    tally_dir: Path | None = None,
    port: int = 22,
) -> Iterator[Daemon]:
    if _answers(address, port):
        # Readiness is "the port answers": a leftover server there would fake it.
        raise DaemonFailed(f"{name}: {address}:{port} is already taken by another process")
    with (directory / f"{name}.log").open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops its children too
        )
    daemon = Daemon(name, address, port, directory, proc, tally_dir)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(address, port):
            if proc.poll() is not None:
                raise DaemonFailed(f"{name} exited with {proc.returncode}:\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonFailed(
                    f"{name} not answering on {address}:{port} after {START_TIMEOUT:g} s:\n"
                    f"{daemon.log_tail()}"
                )
            time.sleep(0.05)
        yield daemon
    finally:
        stop(proc)


def _sshd_config(directory: Path, name: str, address: str, user: LocalUser, extra: str) -> Path:
    keygen = require("ssh-keygen", "openssh-client")
    key = directory / f"{name}_host_ed25519_key"
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    cfg = directory / f"{name}_config"
    cfg.write_text(
        f"Port 22\nListenAddress {address}\nHostKey {key}\n"
        f"PidFile {directory / (name + '.pid')}\nStrictModes no\nLogLevel VERBOSE\n"
        "PubkeyAuthentication no\nPermitEmptyPasswords no\n"
        f"AllowUsers {user.name}\n{extra}"
    )
    return cfg


#: pam_faillock around pam_unix, as `man pam_faillock`'s first example (plus the preauth
#: call it mentions): a locked account is refused even with the right password, failures
#: while locked are not counted, and a success before the limit resets the count.
#: `nodelay` on both modules: each would otherwise add a ~2 s pause to every failure, and
#: with a 5 s lock the probe's extra wrong passwords would outlast it.
FAILLOCK_STACK = """\
auth     required       pam_faillock.so preauth silent {opts}
auth     [success=1 default=bad] pam_unix.so nodelay
auth     [default=die]  pam_faillock.so authfail {opts}
auth     sufficient     pam_faillock.so authsucc {opts}
auth     required       pam_deny.so
account  required       pam_unix.so
password required       pam_deny.so
session  required       pam_permit.so
"""


def _require_pam_module(module: str) -> None:
    # Multiarch: /usr/lib/<triplet>/security on Debian (and /lib through the usr merge).
    if not any(Path("/usr/lib").glob(f"*/security/{module}")):
        raise MissingBinary(module, "libpam-modules")


@contextlib.contextmanager
def _pam_service(stack: str) -> Iterator[str]:
    """A fresh /etc/pam.d service holding `stack`, removed at exit; its name."""
    name = f"shinsa-lockout-sshd-{secrets.token_hex(3)}"
    path = PAM_DIR / name
    # O_EXCL: an existing system file is never overwritten.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(stack)
        yield name
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def faillock_sshd(
    address: str, directory: Path, user: LocalUser, *, deny: int, unlock_time: int
) -> Iterator[Daemon]:
    """OpenSSH whose PAM stack locks an account for `unlock_time` s after `deny`
    consecutive failures (pam_faillock); passwords go to PAM through the "password"
    method (keyboard-interactive is off, so each attempt reaches PAM once)."""
    binary = require("/usr/sbin/sshd", "openssh-server")
    _require_pam_module("pam_faillock.so")
    name = "faillock-sshd"
    directory = directory / name
    tally_dir = directory / "faillock"
    tally_dir.mkdir(parents=True)
    conf = directory / "faillock.conf"
    conf.write_text("# empty: every option is on the module lines\n")
    # conf=: the host's /etc/security/faillock.conf must not change what is measured.
    opts = f"conf={conf} dir={tally_dir} deny={deny} unlock_time={unlock_time} nodelay"
    with _pam_service(FAILLOCK_STACK.format(opts=opts)) as service:
        # sshd's PAM service is the basename of argv[0]; re-exec needs argv[0] absolute.
        program = directory / service
        program.symlink_to(binary)
        cfg = _sshd_config(
            directory,
            name,
            address,
            user,
            "UsePAM yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n",
        )
        argv = [str(program), "-D", "-e", "-f", str(cfg)]
        with _serve(name, argv, address, directory, tally_dir) as daemon:
            yield daemon


@contextlib.contextmanager
def plain_sshd(address: str, directory: Path, user: LocalUser, extra: str) -> Iterator[Daemon]:
    """OpenSSH without PAM (it checks /etc/shadow itself), with `extra` options."""
    binary = require("/usr/sbin/sshd", "openssh-server")
    name = "plain-sshd"
    directory = directory / name
    directory.mkdir(parents=True)
    cfg = _sshd_config(
        directory, name, address, user, f"UsePAM no\nPasswordAuthentication yes\n{extra}"
    )
    with _serve(name, [binary, "-D", "-e", "-f", str(cfg)], address, directory) as daemon:
        yield daemon


@contextlib.contextmanager
def dropbear(address: str, directory: Path, *, idle_timeout: int = 0) -> Iterator[Daemon]:
    """dropbear taking passwords for every local user with a shell (it has no allow-list
    option); `idle_timeout` > 0 adds `-I idle_timeout`."""
    binary = require("/usr/sbin/dropbear", "dropbear-bin")
    keygen = require("dropbearkey", "dropbear-bin")
    name = "dropbear"
    directory = directory / name
    directory.mkdir(parents=True)
    keys: list[str] = []
    # An RSA key besides ed25519: dropbear 2022.83 with only an ed25519 key dies on an
    # assertion (rsa.c:164) when asyncssh picks rsa-sha2-256.
    for kind in ("ed25519", "rsa"):
        key = directory / f"{kind}_host_key"
        subprocess.run(
            [keygen, "-t", kind, "-f", str(key)], check=True, capture_output=True, timeout=30
        )
        keys += ["-r", str(key)]
    argv = [
        binary,
        *("-F", "-E", "-p", f"{address}:22", *keys),
        *("-P", str(directory / "dropbear.pid")),
        *(("-I", str(idle_timeout)) if idle_timeout else ()),
    ]
    with _serve(name, argv, address, directory) as daemon:
        yield daemon


@contextlib.contextmanager
def anonymous_mosquitto(address: str, directory: Path) -> Iterator[Daemon]:
    """mosquitto on `address`:1883 letting every client in (`allow_anonymous true`, no
    password file): a login with any user name and password is accepted."""
    binary = require("/usr/sbin/mosquitto", "mosquitto")
    name = "mosquitto-anonymous"
    directory = directory / name
    directory.mkdir(parents=True)
    cfg = directory / "mosquitto.conf"
    # `user root` keeps it from switching to the mosquitto user, which cannot read `directory`.
    cfg.write_text(
        f"user root\nlistener {MQTT_PORT} {address}\nallow_anonymous true\n"
        "persistence false\nlog_dest stderr\nlog_type all\n"
    )
    argv = [binary, "-c", str(cfg)]
    with _serve(name, argv, address, directory, port=MQTT_PORT) as daemon:
        yield daemon


def faillock_tally(daemon: Daemon, user: LocalUser) -> str:
    """`faillock --dir … --user …`: the user's recorded failures (a header, then a row each)."""
    faillock = require("/usr/sbin/faillock", "libpam-modules-bin")
    if daemon.tally_dir is None:
        raise ValueError(f"{daemon.name} keeps no faillock tally")
    done = subprocess.run(
        [faillock, "--dir", str(daemon.tally_dir), "--user", user.name],
        capture_output=True,
        timeout=30,
        check=True,
    )
    return done.stdout.decode(errors="replace")
