"""Cowrie from PyPI: the SSH and Telnet honeypot that plays an embedded Linux device.

Configured as its documentation shows an operator doing it: an `etc/cowrie.cfg` overlay
that turns Telnet on (it ships off) and binds both services, and an `etc/userdb.txt` with
the accepted logins (the shipped example accepts root with almost any password; this one
accepts exactly the planted logins). Its Telnet is Twisted's telnet stack: `login:` and
`Password:` prompts, WILL ECHO before the password and WONT ECHO after it, and it waits
for the client to acknowledge both before it answers. A wrong login gets
`Login incorrect` and a new `login:` prompt; a right one a fake shell (`root@ipcam:~# `).
It never locks an account.

Cowrie refuses to run as root: it runs as nobody (tests/corpus/unprivileged.py).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tests.corpus.base import (
    CORPUS_ROOT,
    Login,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
    tcp_ready,
)
from tests.corpus.unprivileged import as_nobody, give_to_nobody, state_dir

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADDRESS = "127.0.73.50"
SSH_PORT = 22
TELNET_PORT = 23
HOSTNAME = "ipcam"
ROOT = Login("root", "root")
ADMIN = Login("admin", "admin")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
VENV = CORPUS_ROOT / "cowrie" / "venv"
_HINT = "pip install cowrie==3.1.4 in its own venv (.ci/corpus/cowrie.sh)"
_NOTE = (
    "userdb.txt: exactly the planted logins; wrong login: 'Login incorrect' (telnet) or "
    "'Permission denied' (ssh); never locks"
)

PROGRAM = Program(
    name="cowrie",
    origin="pypi:cowrie==3.1.4",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="telnet",
            port=TELNET_PORT,
            logins=(ROOT, ADMIN, OPERATOR),
            login_surface="telnet login:/Password: (Twisted telnet, waits for option acks)",
            note=_NOTE,
        ),
        ServiceTruth(
            protocol="ssh",
            port=SSH_PORT,
            logins=(ROOT, ADMIN, OPERATOR),
            login_surface="ssh password and keyboard-interactive",
            note=_NOTE,
        ),
    ),
    description="Cowrie 3.1.4 honeypot (Twisted), hostname ipcam",
)


def _configure(state: Path) -> None:
    etc = state / "etc"
    etc.mkdir()
    for sub in ("var/log/cowrie", "var/lib/cowrie/downloads", "var/lib/cowrie/tty", "var/run"):
        (state / sub).mkdir(parents=True)
    (etc / "cowrie.cfg").write_text(
        f"[honeypot]\nhostname = {HOSTNAME}\n"
        f"[ssh]\nenabled = true\nlisten_endpoints = tcp:{SSH_PORT}:interface={ADDRESS}\n"
        f"[telnet]\nenabled = true\nlisten_endpoints = tcp:{TELNET_PORT}:interface={ADDRESS}\n"
        "[output_jsonlog]\nenabled = false\n"
    )
    # userdb.txt: user:x:password, one login per line (cowrie's documented format).
    (etc / "userdb.txt").write_text(
        "".join(f"{login.username}:x:{login.password}\n" for login in (ROOT, ADMIN, OPERATOR))
    )
    give_to_nobody(state)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    twistd = require(VENV / "bin" / "twistd", _HINT)
    with state_dir("shinsa-corpus-cowrie-") as state, program_running(PROGRAM) as run:
        _configure(state)
        start(
            run,
            "cowrie",
            as_nobody(
                [
                    twistd,
                    *("-n", "--umask=0022", "--pidfile="),
                    *("--logger", "cowrie.python.logfile.stdoutLogger", "cowrie"),
                ]
            ),
            workdir=workdir,
            cwd=state,
            ready=lambda: tcp_ready(ADDRESS, TELNET_PORT) and tcp_ready(ADDRESS, SSH_PORT),
        )
        yield run
