"""dropbear from Debian as small devices run it: password logins, no idle timeout.

Started with Debian's defaults and no `-I` (idle timeout) or `-K` (keepalive): an
authenticated session that sends nothing stays open for ever, and nothing limits how long a
session lasts. That is the commonest session-timeout failure a device has, and what
`session.idle-timeout` and `session.absolute-timeout` must report as `fail`. dropbear never
locks an account (it drops the connection after 10 failed attempts).
"""

from __future__ import annotations

import contextlib
import subprocess
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

ADDRESS = "127.0.73.21"
PORT = 22
FACTORY = Login("operator", "operator")
OPERATOR = Login("guest", "Qx7-corpus-op!", kind="operator")
_HINT = "apt-get install dropbear-bin (.ci/corpus/debian-devices.sh)"

PROGRAM = Program(
    name="dropbear-noidle",
    origin="debian:dropbear-bin=2022.83-1+deb12u3",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="ssh",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="ssh password",
            note="no idle timeout and no session limit (no -I, no -K); no lockout "
            "(10 failed attempts end the connection)",
        ),
    ),
    description="dropbear 2022.83, password logins, no idle timeout",
    system_accounts=True,
)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    dropbear = require("/usr/sbin/dropbear", _HINT)
    keygen = require("/usr/bin/dropbearkey", _HINT)
    key = workdir / "dropbear_ed25519_host_key"
    subprocess.run(
        [keygen, "-t", "ed25519", "-f", str(key)], check=True, capture_output=True, timeout=30
    )
    with local_users([FACTORY, OPERATOR]), program_running(PROGRAM) as run:
        start(
            run,
            "dropbear",
            [
                dropbear,
                *("-F", "-E", "-p", f"{ADDRESS}:{PORT}", "-r", str(key)),
                *("-P", str(workdir / "dropbear.pid")),
            ],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
