"""GNU inetutils telnetd from Debian, running /bin/login, one per connection.

telnetd is an inetd service; `socat` plays inetd here (it only accepts and hands the
connection over, as `inetd` would). telnetd negotiates the way BSD-derived telnetds do:
WILL AUTHENTICATION and ENCRYPT, DO TERMINAL-TYPE, TSPEED, XDISPLOC, NEW-ENVIRON and
more, then DO ECHO (asking the client to echo), then WILL SGA and WILL ECHO, and it prints a
host information line before `<hostname> login: `. /bin/login is shadow's login with
Debian's PAM service `login`: a wrong password gets `Login incorrect` after a 3 s
pam_faildelay and a new `login:` prompt; after LOGIN_RETRIES (5) it hangs up. No lockout.
The accounts are system users created for the run (tests/corpus/local_users.py).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tests.corpus.base import (
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
    from pathlib import Path

ADDRESS = "127.0.73.60"
PORT = 23
FACTORY = Login("user", "user")
OPERATOR = Login("pi", "Qx7-corpus-op!", kind="operator")
_HINT = "apt-get install inetutils-telnetd socat login (.ci/corpus/debian-devices.sh)"

PROGRAM = Program(
    name="inetutils-telnetd",
    origin="debian:inetutils-telnetd=2:2.4-2+deb12u3 + debian:login=1:4.13+dfsg1-1+deb12u2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="telnet",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="telnet login:/Password: (/bin/login, PAM)",
            note="host information line before '<host> login: '; wrong password: "
            "'Login incorrect' after 3 s and a new prompt; hangs up after 5; no lockout",
        ),
    ),
    description="GNU inetutils 2.4 telnetd + shadow 4.13 /bin/login, under socat",
    system_accounts=True,
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    telnetd = require("/usr/sbin/telnetd", _HINT)
    socat = require("/usr/bin/socat", _HINT)
    require("/bin/login", _HINT)
    with local_users([FACTORY, OPERATOR]), program_running(PROGRAM) as run:
        start(
            run,
            "socat-telnetd",
            [
                socat,
                f"TCP-LISTEN:{PORT},bind={ADDRESS},fork,reuseaddr",
                f"EXEC:{telnetd}",
            ],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
