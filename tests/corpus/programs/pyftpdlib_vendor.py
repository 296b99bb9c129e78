"""pyftpdlib from PyPI with a vendor-style multi-line greeting whose text ends in a `200`
line.

pyftpdlib is what many vendors embed for their FTP service; like them, this program
starts it from a short launcher (written into the work directory) that sets the banner,
the accounts and the limits, using only pyftpdlib's public API. A banner longer than 75
characters is sent by pyftpdlib as a `220-` block followed by a bare `220 ` line, so the
greeting is

    220-NetPLC-200 FTP service, firmware 2.4.1: authorised personnel only ...
    200 Ready for login
    220

(the device's own text ends with a `200 ...` line, as seen in the field). A reader that
stops at the first `ddd ` line takes the greeting to be `200` and then finds a stray
`220 ` before the answer to USER. USER gets 331 whatever the name; a wrong password gets
`530 Authentication failed.` after pyftpdlib's fixed 3 s delay, and after 3 failures on
one connection `530 Maximum login attempts. Disconnecting.` and a hang-up. No lockout.
"""

from __future__ import annotations

import contextlib
import json
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

ADDRESS = "127.0.73.40"
PORT = 21
FACTORY = Login("admin", "admin")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
BANNER = (
    "NetPLC-200 FTP service, firmware 2.4.1: authorised personnel only, "
    "all sessions are logged\r\n200 Ready for login"
)
VENV = CORPUS_ROOT / "pyftpdlib" / "venv"
_HINT = "pip install pyftpdlib==2.2.0 in its own venv (.ci/corpus/pyftpdlib.sh)"

PROGRAM = Program(
    name="pyftpdlib-vendor",
    origin="pypi:pyftpdlib==2.2.0",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="ftp",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="ftp USER/PASS",
            note="greeting: a 220- block whose text ends in '200 Ready for login', then a "
            "bare '220 '; wrong password: 530 after 3 s; 3 failures end the connection; "
            "no anonymous login; no lockout",
        ),
    ),
    description="pyftpdlib 2.2.0 with a vendor launcher and multi-line banner",
)

#: The launcher: pyftpdlib's documented "base FTP server" example with the vendor's
#: settings; arguments come as JSON so that nothing is pasted into code.
LAUNCHER = """\
import json, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

settings = json.loads(sys.argv[1])
authorizer = DummyAuthorizer()
for user, password in settings["users"]:
    authorizer.add_user(user, password, settings["root"], perm="elr")
handler = FTPHandler
handler.authorizer = authorizer
handler.banner = settings["banner"]
handler.max_login_attempts = 3
server = FTPServer((settings["address"], settings["port"]), handler)
server.max_cons = 32
server.serve_forever()
"""


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    python = require(VENV / "bin" / "python", _HINT)
    launcher = workdir / "netplc_ftpd.py"
    launcher.write_text(LAUNCHER)
    root = workdir / "ftp-root"
    root.mkdir()
    (root / "README.TXT").write_text("NetPLC-200 configuration area\n")
    settings = {
        "users": [[x.username, x.password] for x in (FACTORY, OPERATOR)],
        "root": str(root),
        "banner": BANNER,
        "address": ADDRESS,
        "port": PORT,
    }
    with program_running(PROGRAM) as run:
        start(
            run,
            "pyftpdlib",
            [python, str(launcher), json.dumps(settings)],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
