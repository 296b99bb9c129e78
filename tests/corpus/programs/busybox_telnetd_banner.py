"""busybox telnetd (Debian's busybox-static) with a banner page before the login prompt.

As many embedded Linux devices run it: busybox telnetd on port 23 executing /bin/login,
with an issue file (`-f`) that is a whole page of legal notice and device information,
sent right after busybox's option negotiation (WILL ECHO, WILL SGA, DO NAWS...) and
before `<hostname> login: `. A wrong password gets `Login incorrect` after /bin/login's
3 s pam_faildelay and a new prompt. No lockout. The accounts are system users created for
the run; the factory one is a login of the Mirai table (supervisor/supervisor), so that
its name is used by no other corpus program.
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

ADDRESS = "127.0.73.61"
PORT = 23
FACTORY = Login("supervisor", "supervisor")
OPERATOR = Login("tech", "Qx7-corpus-op!", kind="operator")
BUSYBOX = "/opt/shinsa-ci/busybox-static/bin/busybox"
_HINT = "busybox-static unpacked by .ci/install-daemons.sh, login (.ci/corpus/debian-devices.sh)"
#: The banner page: what such devices print before the prompt (about 2 KiB, 30 lines).
ISSUE = (
    "\r\n"
    + "*" * 70
    + "\r\n"
    + "".join(
        f"*  {line:<64}  *\r\n"
        for line in (
            "NetCam-4 embedded controller -- firmware 3.2.0 (build 1187)",
            "",
            "WARNING: This system is for the use of authorised users only.",
            "Individuals using this computer system without authority, or in",
            "excess of their authority, are subject to having all of their",
            "activities on this system monitored and recorded by system",
            "personnel. Anyone using this system expressly consents to such",
            "monitoring and is advised that if such monitoring reveals",
            "possible evidence of criminal activity, system personnel may",
            "provide the evidence of such monitoring to law enforcement.",
            "",
            *(f"Service channel {n}: enabled" for n in range(1, 13)),
            "",
            "Support: support@example.invalid",
        )
    )
    + "*" * 70
    + "\r\n\r\n"
)

PROGRAM = Program(
    name="busybox-telnetd-banner",
    origin="debian:busybox-static=1:1.35.0-4+deb12u1+b1 + debian:login=1:4.13+dfsg1-1+deb12u2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="telnet",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="telnet login:/Password: after a banner page (/bin/login, PAM)",
            note="a 30-line notice before '<host> login: '; wrong password: 'Login "
            "incorrect' after 3 s and a new prompt; no lockout",
        ),
    ),
    description="busybox 1.35.0 telnetd -f ISSUE -l /bin/login",
    system_accounts=True,
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    busybox = require(BUSYBOX, _HINT)
    require("/bin/login", _HINT)
    issue = workdir / "issue.net"
    issue.write_text(ISSUE)
    with local_users([FACTORY, OPERATOR]), program_running(PROGRAM) as run:
        start(
            run,
            "busybox-telnetd",
            [
                *(busybox, "telnetd", "-F", "-b", f"{ADDRESS}:{PORT}"),
                *("-l", "/bin/login", "-f", str(issue)),
            ],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
