"""The web session, access-control, reflected-XSS, HTTPS-redirect and banner checks against
real lighttpd and OpenSSH (Debian), through the whole scan: discovery, fingerprinting, the
default-credentials probe, then the checks, with the verdicts landing in a store as a
user's scan would.

The servers (tests/interop/web_daemons.py; this suite owns 127.0.60.0/24):
- `basic-auth`: every page behind HTTP Basic (mod_auth); the scan logs in with the
  profile's test account;
- `reflecting` / `escaping`: a GET search form whose /bin/sh CGI echoes the query into the
  page raw, or HTML-escaped;
- `careful-login` / `careless-login`: a /bin/sh CGI form login with a cookie session, done
  right, or with every session flaw a device ships with (cookie without flags, the
  pre-login ID kept, the ID in the redirect URL, a page that needs no session, a logout
  that leaves the session valid);
- `https-redirect`: port 80 sends everything to https://<address>/, where 443 serves the
  login page;
- `tag-stock` / `tag-camera`: lighttpd's `Server: lighttpd/1.4.69`, or `server.tag`;
- `sshd-notice` / `sshd-plain`: OpenSSH with or without a pre-authentication `Banner`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest

from scanner.model import Verdict
from tests.interop import web_daemons
from tests.interop.scanning import scan_daemon
from tests.interop.tls_daemons import DaemonFailed, MissingBinary

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path

    from scanner.model import Result
    from tests.interop.web_daemons import Server

pytestmark = pytest.mark.interop

#: The profile names this variable; the fixtures put the test account's password in it.
PASSWORD_ENV = "SHINSA_INTEROP_WEB"
USERNAME = "admin"
SESSION_CHECKS = (
    "session.cookie-flags",
    "session.fixation",
    "session.logout",
    "session.id-in-url",
    "web.access-control",
)


def _up(manager: AbstractContextManager[Server]) -> Iterator[Server]:
    try:
        with manager as server:
            yield server
    except (MissingBinary, DaemonFailed) as exc:
        pytest.fail(str(exc))


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test account's password: random, so no default-credentials guess can hit it."""
    value = "Interop-" + secrets.token_urlsafe(12)
    monkeypatch.setenv(PASSWORD_ENV, value)
    return value


@pytest.fixture
def basic_auth(tmp_path: Path, password: str) -> Iterator[Server]:
    address = web_daemons.BASIC_AUTH_ADDRESS
    yield from _up(web_daemons.basic_auth_site(address, tmp_path, USERNAME, password))


@pytest.fixture
def reflecting(tmp_path: Path) -> Iterator[Server]:
    address = web_daemons.REFLECTING_ADDRESS
    yield from _up(web_daemons.search_site(address, tmp_path, escape=False))


@pytest.fixture
def escaping(tmp_path: Path) -> Iterator[Server]:
    address = web_daemons.ESCAPING_ADDRESS
    yield from _up(web_daemons.search_site(address, tmp_path, escape=True))


@pytest.fixture
def careful_login(tmp_path: Path, password: str) -> Iterator[Server]:
    address = web_daemons.CAREFUL_LOGIN_ADDRESS
    yield from _up(web_daemons.form_login_site(address, tmp_path, USERNAME, password, careful=True))


@pytest.fixture
def careless_login(tmp_path: Path, password: str) -> Iterator[Server]:
    address = web_daemons.CARELESS_LOGIN_ADDRESS
    yield from _up(
        web_daemons.form_login_site(address, tmp_path, USERNAME, password, careful=False)
    )


async def scan_server(
    server: Server, tmp_path: Path, *, test_account: bool = False, params: str = ""
) -> dict[str, Result]:
    """Scan `server`'s address for its port(s) with a profile extending base; the results
    for its first port, by check ID."""
    account = (
        f"test_account: {{username: {USERNAME}, password_env: {PASSWORD_ENV}}}\n"
        if test_account
        else ""
    )
    results = await scan_daemon(
        tmp_path,
        address=server.address,
        label=server.name,
        profile_yaml="profile: interop-web\nextends: base\n"
        + account
        + (f"params:\n{params}" if params else ""),
        tcp=server.ports,
        job_timeout=30.0,
    )
    return {r.check_id: r for r in results if r.service_key == f"tcp/{server.port}"}


def verdicts(results: dict[str, Result], checks: tuple[str, ...]) -> dict[str, Verdict]:
    return {c: results[c].verdict for c in checks if c in results}


def explain(results: dict[str, Result], checks: tuple[str, ...], server: Server) -> str:
    lines = [
        f"{c}: {results[c].verdict.value}: {results[c].reason}" for c in checks if c in results
    ]
    return "\n".join([*lines, server.log_tail()])


# --- HTTP Basic: access control, and no cookie session to judge -----------------------------


async def test_basic_auth_site_refuses_anonymous_requests_and_has_no_cookie_session(
    basic_auth: Server, tmp_path: Path
) -> None:
    # Given lighttpd asking for Basic on every page, and the profile's account for it
    # When it is scanned
    got = await scan_server(basic_auth, tmp_path, test_account=True)
    # Then its pages need the credential, and the cookie-session checks do not apply
    assert verdicts(got, SESSION_CHECKS) == {
        "web.access-control": Verdict.PASS,  # 401 without the credential
        "session.cookie-flags": Verdict.NOT_APPLICABLE,
        "session.fixation": Verdict.NOT_APPLICABLE,
        "session.logout": Verdict.NOT_APPLICABLE,
        "session.id-in-url": Verdict.PASS,
    }, explain(got, SESSION_CHECKS, basic_auth)
    assert basic_auth.address in got["web.access-control"].reason


# --- Reflected XSS: a CGI that echoes its query --------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "script", "expected"),
    [
        ("reflecting", "search.cgi", Verdict.FAIL),  # q goes into the page raw
        ("escaping", "safe.cgi", Verdict.PASS),  # q is HTML-escaped
    ],
)
async def test_reflected_xss_follows_whether_the_cgi_escapes_its_query(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str, script: str, expected: Verdict
) -> None:
    # Given a page with a GET search form whose CGI echoes the query
    server: Server = request.getfixturevalue(fixture)
    # When it is scanned
    got = await scan_server(server, tmp_path)
    # Then the form's field was tested, and the verdict follows the CGI's escaping
    result = got["web.xss.reflected"]
    assert result.verdict is expected, explain(got, ("web.xss.reflected",), server)
    (evidence,) = (e for e in result.evidence if e.kind == "http_reflection")
    tested, reflected = evidence.details["tested"], evidence.details["reflected_unescaped"]
    assert isinstance(tested, list)
    assert isinstance(reflected, list)
    assert f"/cgi-bin/{script} ?q" in tested, evidence.details
    inputs = [r["input"] for r in reflected if isinstance(r, dict)]
    assert inputs == ([f"/cgi-bin/{script} ?q"] if expected is Verdict.FAIL else []), reflected


# --- A form login with a cookie session ------------------------------------------------------


async def test_careful_form_login_passes_every_session_check(
    careful_login: Server, tmp_path: Path
) -> None:
    # Given a CGI login that issues a new HttpOnly, SameSite=Strict ID at login, guards
    # every page behind it and deletes the session at logout
    # When it is scanned with the profile's account
    got = await scan_server(careful_login, tmp_path, test_account=True)
    # Then every session check passes
    assert verdicts(got, SESSION_CHECKS) == dict.fromkeys(SESSION_CHECKS, Verdict.PASS), explain(
        got, SESSION_CHECKS, careful_login
    )


async def test_careless_form_login_fails_every_session_check(
    careless_login: Server, tmp_path: Path
) -> None:
    # Given the same login, but: the pre-login ID is kept and re-sent without flags, it is
    # put in the redirect URL, the status page needs no session, logout leaves it valid
    # When it is scanned with the profile's account
    got = await scan_server(careless_login, tmp_path, test_account=True)
    # Then every session check fails, each for its own flaw
    assert verdicts(got, SESSION_CHECKS) == dict.fromkeys(SESSION_CHECKS, Verdict.FAIL), explain(
        got, SESSION_CHECKS, careless_login
    )
    assert "sid lacks HttpOnly, SameSite" in got["session.cookie-flags"].reason
    assert "/cgi-bin/status.cgi" in got["web.access-control"].reason
    assert "/cgi-bin/logout.cgi" in got["session.logout"].reason
    assert "/cgi-bin/home.cgi?sid=••••" in got["session.id-in-url"].reason


# --- Plain HTTP sending the login to HTTPS ---------------------------------------------------


@pytest.fixture
def https_redirect(tmp_path: Path) -> Iterator[Server]:
    address = web_daemons.HTTPS_REDIRECT_ADDRESS
    yield from _up(web_daemons.https_redirect_site(address, tmp_path))


async def test_http_redirecting_to_https_on_the_same_address_passes(
    https_redirect: Server, tmp_path: Path
) -> None:
    # Given lighttpd answering every plain-HTTP request with a 301 to https://<address>/
    # (the login form is on the HTTPS side only)
    # When it is scanned
    got = await scan_server(https_redirect, tmp_path)
    # Then the plain-HTTP service passes
    result = got["web.https-redirect"]
    assert result.verdict is Verdict.PASS, explain(got, ("web.https-redirect",), https_redirect)
    assert f"https://{https_redirect.address}/" in result.reason


@pytest.mark.parametrize(
    ("fixture", "what"),
    [
        ("basic_auth", "an authentication challenge"),
        ("careful_login", "a login form"),
    ],
)
async def test_login_served_over_plain_http_fails_the_https_redirect(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str, what: str
) -> None:
    # Given a site showing its login (Basic challenge, or a form) over plain HTTP
    server: Server = request.getfixturevalue(fixture)
    # When it is scanned
    got = await scan_server(server, tmp_path)
    # Then it fails for serving the login there instead of redirecting
    result = got["web.https-redirect"]
    assert result.verdict is Verdict.FAIL, explain(got, ("web.https-redirect",), server)
    assert what in result.reason


# --- What a server tells before login: versions, and a system-use notice --------------------


@pytest.fixture
def stock_tag(tmp_path: Path) -> Iterator[Server]:
    yield from _up(web_daemons.tagged_site(web_daemons.STOCK_TAG_ADDRESS, tmp_path, None))


@pytest.fixture
def camera_tag(tmp_path: Path) -> Iterator[Server]:
    yield from _up(web_daemons.tagged_site(web_daemons.CAMERA_TAG_ADDRESS, tmp_path, "camera"))


@pytest.fixture
def sshd_notice(tmp_path: Path) -> Iterator[Server]:
    address = web_daemons.SSHD_NOTICE_ADDRESS
    yield from _up(web_daemons.sshd(address, tmp_path, notice=web_daemons.LOGIN_NOTICE))


@pytest.fixture
def sshd_plain(tmp_path: Path) -> Iterator[Server]:
    yield from _up(web_daemons.sshd(web_daemons.SSHD_PLAIN_ADDRESS, tmp_path, notice=None))


@pytest.mark.parametrize(
    ("fixture", "expected", "disclosed"),
    [
        ("stock_tag", Verdict.FAIL, ["lighttpd/1.4.69"]),  # Server: lighttpd/1.4.69
        ("camera_tag", Verdict.PASS, []),  # server.tag = "camera"
        ("sshd_plain", Verdict.FAIL, ["OpenSSH_9.2p1"]),  # SSH-2.0-OpenSSH_9.2p1 Debian-2+…
    ],
)
async def test_version_disclosure_follows_what_the_server_names_itself(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fixture: str,
    expected: Verdict,
    disclosed: list[str],
) -> None:
    # Given lighttpd with its stock or a custom server tag, or Debian's OpenSSH
    server: Server = request.getfixturevalue(fixture)
    # When it is scanned
    got = await scan_server(server, tmp_path)
    # Then a version in its self-description fails, a bare name passes
    result = got["banner.version-disclosure"]
    assert result.verdict is expected, explain(got, ("banner.version-disclosure",), server)
    (evidence,) = (e for e in result.evidence if e.kind == "banner")
    assert evidence.details["versions"] == disclosed, evidence.details


#: The profile asks for a notice; the pattern is the profile's, not the probe's default.
NOTICE_PARAMS = '  banner.login-notice: {required: true, pattern: "(?i)authorized use only"}\n'


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("sshd_notice", Verdict.PASS),  # Banner <notice.txt> in sshd_config
        ("sshd_plain", Verdict.FAIL),  # no Banner: nothing before authentication
    ],
)
async def test_ssh_login_notice_follows_the_banner_option(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str, expected: Verdict
) -> None:
    # Given OpenSSH with or without a pre-authentication Banner, and a profile that
    # requires a notice matching its own pattern
    server: Server = request.getfixturevalue(fixture)
    # When it is scanned
    got = await scan_server(server, tmp_path, params=NOTICE_PARAMS)
    # Then the notice is found in the SSH banner, or its absence fails
    result = got["banner.login-notice"]
    assert result.verdict is expected, explain(got, ("banner.login-notice",), server)
    (evidence,) = (e for e in result.evidence if e.kind == "banner")
    assert evidence.details["source"] == "SSH pre-authentication banner"
    assert evidence.details["pattern"] == "(?i)authorized use only"
    shown = str(evidence.details["text"])
    assert ("Authorized use only" in shown) is (expected is Verdict.PASS), evidence.details
