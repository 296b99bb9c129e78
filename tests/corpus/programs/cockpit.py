"""Cockpit from Debian (cockpit-ws): a server's web console whose login is JavaScript.

The page at `/` is login.html; its `<form onsubmit="return false">` never submits. login.js
reads the two inputs (which have ids, no names) and sends `GET /cockpit/login` by XHR with
`Authorization: Basic base64(user:password)` and `X-Superuser: none`; cockpit-ws hands the
password to cockpit-session, which asks PAM (Debian's /etc/pam.d/cockpit: pam_unix, with
pam_faildelay's ~2 s pause after a failure). Accepted: 200, JSON `{"csrf-token": ...}` and
a `cockpit` session cookie. Rejected: 401 with the status text "Authentication failed", an
HTML page of that title, and no `WWW-Authenticate` challenge (so a browser never shows its
own Basic dialog), exactly what a request without credentials gets.

The accounts are system accounts, created for the run (tests/corpus/local_users.py), as
Cockpit logs in whoever the system knows. cockpit-ws runs with `--no-tls` on its own
address: the login goes over plain HTTP. Its configuration is looked up through
XDG_CONFIG_DIRS in the work directory (an empty cockpit.conf: Debian's defaults).
"""

from __future__ import annotations

import base64
import contextlib
from typing import TYPE_CHECKING

from tests.corpus import web_client
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

    import httpx

ADDRESS = "127.0.72.24"
PORT = 9090  # Cockpit's port
FACTORY = Login("admin", "12345")
OPERATOR = Login("maint", "Qx7-corpus-op!", kind="operator")
LOGIN_PATH = "/cockpit/login"
#: The HTTP reason phrase (and page title) of a rejected login.
REJECTION_REASON = "Authentication failed"

PROGRAM = Program(
    name="cockpit",
    origin="debian:cockpit-ws=287.1-0+deb12u3",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="http",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="js-basic",
            note=(
                f"login.html at / (form that never submits); login.js sends GET {LOGIN_PATH} "
                "with Authorization: Basic and X-Superuser: none; accepted: 200 "
                '{"csrf-token": ...} and a cockpit cookie; rejected (wrong password, unknown '
                f"user, no credentials): 401 '{REJECTION_REASON}', HTML page, no "
                "WWW-Authenticate; PAM pauses ~2 s after a failure; no lockout"
            ),
        ),
    ),
    description="Cockpit 287.1 web service (cockpit-ws, plain HTTP), PAM system accounts",
    system_accounts=True,
)

_HINT = "apt-get install cockpit-ws cockpit-bridge cockpit-system (.ci/corpus/debian-web.sh)"


def submit_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """What login.js sends (no Basic challenge ever asked for it)."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    return client.get(
        LOGIN_PATH, headers={"Authorization": f"Basic {basic}", "X-Superuser": "none"}
    )


def verify(service: ServiceTruth, login: Login) -> bool:
    with web_client.client(ADDRESS, service.port) as client:
        return submit_login(client, login.username, login.password).status_code == 200


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    cockpit_ws = require("/usr/lib/cockpit/cockpit-ws", _HINT)
    require("/usr/lib/cockpit/cockpit-session", _HINT)
    config = workdir / "cockpit"
    config.mkdir()
    (config / "cockpit.conf").write_text("# Debian's defaults\n")
    # local_users outside: the sessions cockpit-ws started end with it, before the accounts
    # are deleted.
    with local_users([FACTORY, OPERATOR]), program_running(PROGRAM) as run:
        start(
            run,
            "cockpit-ws",
            [cockpit_ws, "--no-tls", "--address", ADDRESS, "--port", str(PORT)],
            workdir=workdir,
            cwd=workdir,
            env={"XDG_CONFIG_DIRS": str(workdir)},
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
