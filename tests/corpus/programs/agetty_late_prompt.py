"""GNU inetutils telnetd running util-linux agetty: a login prompt that comes late.

Some devices start their login program only once the line is up, seconds after the
connection: here telnetd's exec-login (`-E`) is util-linux `agetty --delay 4`, which
waits four seconds, prints its issue file, then `<hostname> login: ` (echoing what is
typed), and hands the username to /bin/login for the password. The telnet negotiation
and telnetd's host line come at once, the prompt only after the delay: a client that
gives up on a quiet line before the prompt never logs in. A wrong password gets
`Login incorrect` (3 s pam_faildelay) and a new prompt. No lockout.

telnetd runs under socat (playing inetd) through a one-line launcher that holds the
`-E` command line, as an inetd.conf line would. The accounts are system users created
for the run (service/service from the Mirai table; names no other corpus program uses).
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

ADDRESS = "127.0.73.62"
PORT = 23
DELAY_SECONDS = 4
FACTORY = Login("service", "service")
OPERATOR = Login("administrator", "Qx7-corpus-op!", kind="operator")
ISSUE = "NetGate-7 industrial gateway (line 1)\r\n\r\n"
_HINT = "apt-get install inetutils-telnetd socat util-linux login (.ci/corpus/debian-devices.sh)"

PROGRAM = Program(
    name="agetty-late-prompt",
    origin="debian:util-linux=2.38.1-5+deb12u3 + debian:inetutils-telnetd=2:2.4-2+deb12u3",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="telnet",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface=f"telnet login: after {DELAY_SECONDS} s (agetty), Password: (/bin/login)",
            note=f"negotiation and host line at once, 'login:' after {DELAY_SECONDS} s; "
            "wrong password: 'Login incorrect' after 3 s and a new prompt; no lockout",
        ),
    ),
    description="inetutils 2.4 telnetd -E 'agetty --delay 4' (util-linux 2.38.1)",
    system_accounts=True,
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    telnetd = require("/usr/sbin/telnetd", _HINT)
    agetty = require("/sbin/agetty", _HINT)
    socat = require("/usr/bin/socat", _HINT)
    issue = workdir / "issue"
    issue.write_text(ISSUE)
    launcher = workdir / "telnetd-agetty.sh"
    launcher.write_text(
        "#!/bin/sh\n"
        f'exec {telnetd} -E "{agetty} --delay {DELAY_SECONDS} --noclear '
        f'--issue-file {issue} - vt100"\n'
    )
    launcher.chmod(0o755)
    with local_users([FACTORY, OPERATOR]), program_running(PROGRAM) as run:
        start(
            run,
            "socat-telnetd-agetty",
            [socat, f"TCP-LISTEN:{PORT},bind={ADDRESS},fork,reuseaddr", f"EXEC:{launcher}"],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
