"""OpenSSH from Debian with PAM and pam_faillock: an SSH server that locks an account.

`UsePAM yes`, passwords checked by pam_unix, and pam_faillock in front of it as the
pam_faillock(8) manual sets it up: `deny=3`, `unlock_time=30`. After three wrong
passwords in a row the account is locked for 30 s, during which even the right password
fails (sshd still says only "Permission denied": the lock shows only as a refusal of the
right login).

The PAM configuration is not Debian's /etc/pam.d/sshd (which stays untouched): OpenSSH
names its PAM service after the name it was started as (`__progname`), so sshd is started
through a symlink named `shinsa-corpus-sshd` and its service file,
/etc/pam.d/shinsa-corpus-sshd, exists only while the program runs. The faillock tally
lives in the work directory (`dir=`), not in /var/run/faillock.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.corpus.base import (
    CorpusError,
    Login,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
    tcp_ready,
)
from tests.corpus.local_users import local_users

if TYPE_CHECKING:
    from collections.abc import Iterator

ADDRESS = "127.0.73.20"
PORT = 22
FACTORY = Login("admin", "1234")
OPERATOR = Login("support", "Qx7-corpus-op!", kind="operator")
DENY = 3
UNLOCK_SECONDS = 30
PAM_SERVICE = "shinsa-corpus-sshd"
PAM_FILE = Path("/etc/pam.d") / PAM_SERVICE
_HINT = "apt-get install openssh-server libpam-modules (.ci/corpus/debian-devices.sh)"
#: Where Debian puts PAM modules (multiarch), to say early that pam_faillock is missing.
_PAM_DIRS = (
    "/usr/lib/x86_64-linux-gnu/security",
    "/lib/x86_64-linux-gnu/security",
    "/usr/lib/aarch64-linux-gnu/security",
    "/lib/security",
)

PROGRAM = Program(
    name="sshd-faillock",
    origin="debian:openssh-server=1:9.2p1-2+deb12u10 + debian:libpam-modules=1.5.2-6+deb12u1",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="ssh",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            lockout_threshold=DENY,
            lockout_seconds=UNLOCK_SECONDS,
            login_surface="ssh password (PAM)",
            note=f"pam_faillock deny={DENY} unlock_time={UNLOCK_SECONDS}: a locked account "
            "refuses the right password too, with the same 'Permission denied'",
        ),
    ),
    description="OpenSSH 9.2p1, UsePAM yes, pam_unix behind pam_faillock",
    # The lock is silent (the right password is refused with the same answer), so, as a
    # model's own profile would, the bench says what the maker knows of it.
    profile_params=(
        f"creds.default.ssh: {{lockout_threshold: {DENY}, lockout_seconds: {UNLOCK_SECONDS}}}"
    ),
    system_accounts=True,
)


def pam_config(tally: Path) -> str:
    """The pam_faillock(8) example stack, with the tally in the work directory."""
    opts = f"deny={DENY} unlock_time={UNLOCK_SECONDS} dir={tally}"
    return (
        "# shinsa corpus (tests/corpus/programs/sshd_faillock.py): removed when it stops\n"
        f"auth     required                     pam_faillock.so preauth {opts}\n"
        "auth     [success=1 default=bad]      pam_unix.so\n"
        f"auth     [default=die]                pam_faillock.so authfail {opts}\n"
        f"auth     sufficient                   pam_faillock.so authsucc {opts}\n"
        "auth     required                     pam_deny.so\n"
        f"account  required                     pam_faillock.so dir={tally}\n"
        "account  required                     pam_unix.so\n"
        "session  required                     pam_unix.so\n"
        "password required                     pam_deny.so\n"
    )


@contextlib.contextmanager
def _pam_service(tally: Path) -> Iterator[None]:
    """/etc/pam.d/shinsa-corpus-sshd for as long as the program runs, and never another."""
    if PAM_FILE.exists():
        raise CorpusError(f"{PAM_FILE} exists already (another run?): not overwritten")
    PAM_FILE.write_text(pam_config(tally))
    try:
        yield
    finally:
        PAM_FILE.unlink(missing_ok=True)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    sshd = require("/usr/sbin/sshd", _HINT)
    keygen = require("/usr/bin/ssh-keygen", _HINT)
    if not any(Path(d).joinpath("pam_faillock.so").is_file() for d in _PAM_DIRS):
        raise CorpusError(f"pam_faillock.so not found: {_HINT}")
    key = workdir / "ssh_host_ed25519_key"
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    tally = workdir / "faillock"
    tally.mkdir(mode=0o700)
    # sshd takes its PAM service name from the name it runs under.
    link = workdir / PAM_SERVICE
    link.symlink_to(sshd)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    cfg = workdir / "sshd_config"
    cfg.write_text(
        f"Port {PORT}\nListenAddress {ADDRESS}\nHostKey {key}\n"
        f"PidFile {workdir / 'sshd.pid'}\nUsePAM yes\nStrictModes no\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n"
        "PubkeyAuthentication no\nPermitEmptyPasswords no\nPermitRootLogin no\n"
        f"AllowUsers {FACTORY.username} {OPERATOR.username}\nLogLevel VERBOSE\n"
    )
    with (
        local_users([FACTORY, OPERATOR]),
        _pam_service(tally),
        program_running(PROGRAM) as run,
    ):
        start(
            run,
            "sshd",
            [str(link), "-D", "-e", "-f", str(cfg)],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
