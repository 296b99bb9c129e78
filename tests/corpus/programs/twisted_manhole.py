"""Twisted's `twistd manhole` from PyPI: a Twisted-based Telnet service that prompts
`Username:`.

The stock plugin, started with the options its `--help` lists: a telnet listener and a
passwd(5)-format file of logins. The telnet side is `twisted.conch.telnet`'s
AuthenticatingTelnetProtocol: `Username: `, then WILL ECHO and `Password: `, then WONT
ECHO, and it judges the password only once the client acknowledged that WONT ECHO. A wrong
login gets `Authentication failed` and a new `Username: ` prompt; a right one a Python
prompt (`>>> `) behind terminal escape sequences. It never locks an account.

It runs as nobody (twistd `--uid/--gid`; it binds port 23 before dropping root).
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
from tests.corpus.unprivileged import NOBODY, give_to_nobody, state_dir

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ADDRESS = "127.0.73.41"
PORT = 23
FACTORY = Login("admin", "admin")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
VENV = CORPUS_ROOT / "twisted" / "venv"
_HINT = "pip install 'twisted[conch]==26.10.0' in its own venv (.ci/corpus/twisted.sh)"

PROGRAM = Program(
    name="twisted-manhole",
    origin="pypi:twisted==26.10.0",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="telnet",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="telnet Username:/Password: (Twisted, waits for option acks)",
            note="wrong login: 'Authentication failed' and a new 'Username: '; a right "
            "one: a Python prompt '>>> '; never locks",
        ),
    ),
    description="Twisted 26.10.0 `twistd manhole`, telnet only",
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    twistd = require(VENV / "bin" / "twistd", _HINT)
    with state_dir("shinsa-corpus-manhole-") as state, program_running(PROGRAM) as run:
        passwd = state / "passwd"
        passwd.write_text("".join(f"{x.username}:{x.password}\n" for x in (FACTORY, OPERATOR)))
        give_to_nobody(state)
        start(
            run,
            "twistd-manhole",
            [
                twistd,
                *("-n", "--pidfile=", f"--uid={NOBODY}", f"--gid={NOBODY}"),
                *("--logfile", "-", "manhole"),
                *("--telnetPort", f"tcp:{PORT}:interface={ADDRESS}", "--passwd", str(passwd)),
            ],
            workdir=workdir,
            cwd=state,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
