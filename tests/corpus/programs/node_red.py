"""Node-RED, the flow editor, with `adminAuth` as its documentation shows it.

Its editor is a single-page app: the page has no `<form>` until a script asks
`GET auth/login` for the prompts, draws a dialog and POSTs an OAuth2 password grant to
`auth/token` (form-encoded: client_id node-red-editor, grant_type password, scope "",
username, password). A wrong login answers 403.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
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

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

VERSION = "4.1.15"
PREFIX = CORPUS_ROOT / "node-red"
ADDRESS = "127.0.72.10"
PORT = 1880
#: the planted factory login (bcrypt-hashed in settings.js, as adminAuth wants it)
FACTORY = Login("admin", "password")

PROGRAM = Program(
    name="node-red",
    origin=f"npm:node-red@{VERSION}",
    address=ADDRESS,
    services=(
        ServiceTruth(
            "http",
            PORT,
            logins=(FACTORY,),
            login_surface="oauth2-password",
            note="POST /auth/token, form-encoded, client_id node-red-editor, grant_type "
            "password, scope ''; wrong login: 403",
        ),
    ),
    description="flow editor; login by JavaScript (OAuth2 password grant)",
)


def _bcrypt(password: str) -> str:
    """The hash adminAuth expects, made by the bcryptjs that Node-RED itself ships."""
    node = require("/usr/bin/node", "apt-get install nodejs")
    script = "process.stdout.write(require(process.argv[1]).hashSync(process.argv[2], 8))"
    return subprocess.run(
        [node, "-e", script, str(PREFIX / "node_modules" / "bcryptjs"), password],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout.decode()


def _settings(workdir: Path) -> str:
    users = [{"username": FACTORY.username, "password": _bcrypt(FACTORY.password)}]
    for user in users:
        user["permissions"] = "*"
    return f"""module.exports = {{
    uiHost: "{ADDRESS}",
    uiPort: {PORT},
    userDir: {json.dumps(str(workdir))},
    flowFile: "flows.json",
    adminAuth: {{ type: "credentials", users: {json.dumps(users)} }},
    // nothing leaves the machine: no update check, no telemetry, no palette catalogue
    diagnostics: {{ enabled: false }},
    telemetry: {{ enabled: false }},
    editorTheme: {{ tours: false, palette: {{ catalogues: [] }} }},
    logging: {{ console: {{ level: "info" }} }},
}};
"""


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    red = require(PREFIX / "node_modules" / "node-red" / "red.js", "node-red.sh")
    node = require("/usr/bin/node", "apt-get install nodejs")
    settings = workdir / "settings.js"
    settings.write_text(_settings(workdir))
    with program_running(PROGRAM) as run:
        start(
            run,
            "node-red",
            [node, red, "--settings", str(settings), "--userDir", str(workdir)],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
