"""OctoPrint from PyPI: the web interface of a 3D printer, in its own venv.

`/` redirects to `/login/`, a page whose form has no `action` and whose inputs have no
`name`: its script (`login.js`, through OctoPrint's JS client) posts
`{"user": ..., "pass": ..., "remember": ...}` as JSON to `/api/login`, with the
`X-CSRF-Token` header copied from the `csrf_token_P5000` cookie (double-submit CSRF; without
it the answer is 400 "CSRF validation failed", which is not a rejection of the password).

As shipped, failed logins are rate-limited per client address (flask-limiter, fixed
windows of "3/minute;5/10 minutes;10/hour", only 403 answers count): the fourth failure in a
minute gets 429 and so does any login from that address, right password or not, until the
window ends. Accounts are made with OctoPrint's own `octoprint user add`; the setup wizard
is marked done, and the plugins that reach the Internet or announce over mDNS are disabled.
OctoPrint refuses to run as root without `--iknowwhatimdoing`; the tests run as root.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from tests.corpus import web_client
from tests.corpus.base import (
    CORPUS_ROOT,
    Login,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import httpx

ADDRESS = "127.0.72.23"
PORT = 5000  # OctoPrint's default port
FACTORY = Login("admin", "admin")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
LOGIN_PAGE = "/login/"
LOGIN_PATH = "/api/login"
CSRF_COOKIE = f"csrf_token_P{PORT}"
#: A wrong password (or unknown user): 403 and this JSON body.
REJECTION_ERROR = (
    "You don't have the permission to access the requested resource. "
    "It is either read-protected or not readable by the server."
)
#: The rate limit: fixed one-minute windows of 3 failed logins per client address.
RATE_LIMIT_FAILURES = 3
RATE_LIMIT_WINDOW = 60.0
RATE_LIMITED_ERROR = "You have made too many failed login attempts. Please try again later."

PROGRAM = Program(
    name="octoprint",
    origin="pypi:OctoPrint==1.11.8",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="http",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="json",
            lockout_threshold=RATE_LIMIT_FAILURES,
            lockout_seconds=RATE_LIMIT_WINDOW,
            note=(
                f"/ redirects to {LOGIN_PAGE} (form without action or names); its script "
                f"POSTs JSON {{user, pass, remember}} to {LOGIN_PATH} with X-CSRF-Token = "
                f"cookie {CSRF_COOKIE}; accepted: 200, the user as JSON and a session "
                "cookie; rejected: 403 {error: ...}; no CSRF header: 400 'CSRF validation "
                "failed'; lockout is per client address, not per account: fixed windows "
                "3/minute, 5/10 minutes, 10/hour of 403s, then 429 for any login "
                f"('{RATE_LIMITED_ERROR}')"
            ),
        ),
    ),
    description="OctoPrint 1.11.8 on Python 3.11 (Tornado), no printer connected",
)

_PREFIX = CORPUS_ROOT / "octoprint"
_HINT = "PyPI OctoPrint (.ci/corpus/octoprint.sh)"
#: Bundled plugins that would reach the Internet (update checks, announcements, usage
#: tracking, plugin repository, the health check's Python end-of-life and freshness data)
#: or announce over mDNS on every interface.
_DISABLED_PLUGINS = (
    "discovery",
    "health_check",
    "tracking",
    "errortracking",
    "announcements",
    "softwareupdate",
    "pluginmanager",
    "achievements",
)


def _configure(octoprint: str, basedir: Path) -> None:
    basedir.mkdir()
    disabled = "".join(f"  - {name}\n" for name in _DISABLED_PLUGINS)
    (basedir / "config.yaml").write_text(
        "server:\n"
        "  firstRun: false\n"
        f"  host: {ADDRESS}\n"
        f"  port: {PORT}\n"
        "  onlineCheck:\n    enabled: false\n"
        "  pluginBlacklist:\n    enabled: false\n"
        f"plugins:\n  _disabled:\n{disabled}"
    )
    # The operator is in the default "users" group, which holds the LOGIN permission.
    for login, group in ((FACTORY, "--admin"), (OPERATOR, "--group=users")):
        add = ["user", "add", group, "--password", login.password, login.username]
        subprocess.run(
            [octoprint, "--basedir", str(basedir), *add],
            check=True,
            capture_output=True,
            timeout=60,
        )


def _login_page_ready() -> bool:
    # OctoPrint first answers with a "still starting" placeholder; the real server serves
    # the login page.
    url = f"http://{ADDRESS}:{PORT}{LOGIN_PAGE}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as answer:
            return b"<title>OctoPrint Login</title>" in answer.read()
    except (OSError, urllib.error.URLError, http.client.HTTPException):
        # the placeholder may answer with a malformed status line while it hands over
        return False


def submit_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """What login.js does: the CSRF cookie comes with the login page and goes back as the
    X-CSRF-Token header."""
    client.get(LOGIN_PAGE)
    return client.post(
        LOGIN_PATH,
        json={"user": username, "pass": password, "remember": False},
        headers={"X-CSRF-Token": client.cookies.get(CSRF_COOKIE) or ""},
    )


def verify(service: ServiceTruth, login: Login) -> bool:
    # From web_client's own source address: the rate limit counts per client address, so
    # this asks about the account, not about the address the scanner used.
    with web_client.client(ADDRESS, service.port) as client:
        return submit_login(client, login.username, login.password).status_code == 200


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    octoprint = require(_PREFIX / "bin" / "octoprint", _HINT)
    basedir = workdir / "octoprint"
    _configure(octoprint, basedir)
    listen = ["--host", ADDRESS, "--port", str(PORT)]
    with program_running(PROGRAM) as run:
        start(
            run,
            "octoprint",
            [octoprint, "--basedir", str(basedir), "serve", "--iknowwhatimdoing", *listen],
            workdir=workdir,
            env={"HOME": str(workdir)},
            ready=_login_page_ready,
        )
        yield run
