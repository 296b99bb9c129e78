"""The written ground truth of the corpus web applications, checked by a standard client.

Each test starts one real program (installed by .ci/corpus/*.sh, configured as its vendor
ships it), then logs in with httpx the way the program's own login page does: every planted
login must be accepted, a wrong password must be rejected in the shape the ground truth
records, and the login page must come over plain HTTP (what `web.login.cleartext` judges).
The scanner is not involved: these tests keep the truth honest before anything is compared
with it.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.corpus.base import Login
from tests.corpus.programs import (
    cockpit,
    dokuwiki,
    homebridge,
    nagios4,
    octoprint,
    phpliteadmin,
)

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

    from tests.corpus.base import Running, ServiceTruth

pytestmark = pytest.mark.corpus

TIMEOUT = 15.0
WRONG_PASSWORD = "wrong-Zr4!corpus"


def _client(base: str) -> httpx.Client:
    # trust_env=False: no proxy from the environment may carry a loopback request elsewhere.
    return httpx.Client(base_url=base, timeout=TIMEOUT, trust_env=False)


def _listening(run: Running) -> set[str]:
    """Local address:port of every TCP or UDP socket the program's processes listen on
    (each process started in its own session: its children share the session id)."""
    sessions = {proc.pid for proc in run.procs}
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[3]) in sessions:  # field 6 of stat(5): the session id
                pids.add(int(entry))
    listed = subprocess.run(
        ["ss", "-H", "-l", "-n", "-p", "-t", "-u"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
    found = set()
    for line in listed.splitlines():
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.add(line.split()[4])
    return found


def _verify_agrees(module: ModuleType, truth: ServiceTruth) -> None:
    """The module's `verify()` (what the bench asks after a scan) lets every planted login
    in, from its own source address, and not a wrong password."""
    for login in truth.logins:
        assert module.verify(truth, login) is True, login.username
    wrong = Login(truth.logins[0].username, WRONG_PASSWORD)
    assert module.verify(truth, wrong) is False


def _planted(logins: tuple[Login, ...]) -> tuple[Login, Login]:
    factory = [x for x in logins if x.kind == "factory"]
    operator = [x for x in logins if x.kind == "operator"]
    assert factory, "every corpus web app plants a factory login"
    assert operator, "a web app with more than one account also has an operator login planted"
    return factory[0], operator[0]


# DokuWiki: HTML form with a CSRF token -------------------------------------------------------


def test_dokuwiki_ground_truth(tmp_path: Path) -> None:
    truth = dokuwiki.PROGRAM.services[0]
    factory, operator = _planted(truth.logins)
    base = f"http://{dokuwiki.ADDRESS}:{truth.port}"
    with dokuwiki.running(tmp_path) as run:
        # Bound to its own corpus address only, on no other address or port.
        assert _listening(run) == {f"{dokuwiki.ADDRESS}:{truth.port}"}
        with _client(base) as client:
            page = client.get(dokuwiki.LOGIN_PATH)
            assert page.status_code == 200, run.log_tail()
            assert page.url.scheme == "http"
            assert re.search(r'<input name="p" type="password"', page.text)
            assert '<form id="dw__login"' in page.text
            assert 'name="sectok"' in page.text  # the CSRF token submit_login sends back

        for login in (factory, operator):
            with _client(base) as client:
                answer = dokuwiki.submit_login(client, login.username, login.password)
                assert answer.status_code == 302, (login.username, answer.status_code)
                assert any(name.startswith("DW") for name in client.cookies)
                # The session is real: the next page offers to log out, not to log in.
                home = client.get("/doku.php?id=start")
                assert "do=logout" in home.text

        with _client(base) as client:
            answer = dokuwiki.submit_login(client, factory.username, WRONG_PASSWORD)
            assert answer.status_code == 403
            assert dokuwiki.REJECTION_TEXT in answer.text
            assert '<form id="dw__login"' in answer.text
            assert "testing plugin" not in answer.text  # Debian's plugin switches are in place
            assert not any(name.startswith("DW") for name in client.cookies)
        _verify_agrees(dokuwiki, truth)


# Nagios 4: HTTP Digest on every path -------------------------------------------------------


def test_nagios4_ground_truth(tmp_path: Path) -> None:
    truth = nagios4.PROGRAM.services[0]
    factory, operator = _planted(truth.logins)
    base = f"http://{nagios4.ADDRESS}:{truth.port}"
    with nagios4.running(tmp_path) as run, _client(base) as client:
        # Bound to its own corpus address only, on no other address or port.
        assert _listening(run) == {f"{nagios4.ADDRESS}:{truth.port}"}
        # Without credentials: a Digest challenge for the Nagios4 realm, over plain HTTP.
        bare = client.get(nagios4.HOME)
        assert bare.status_code == 401, run.log_tail()
        challenge = bare.headers["www-authenticate"]
        assert challenge.startswith("Digest ")
        assert f'realm="{nagios4.REALM}"' in challenge
        assert 'qop="auth"' in challenge
        assert bare.url.scheme == "http"

        for login in (factory, operator):
            auth = httpx.DigestAuth(login.username, login.password)
            home = client.get(nagios4.HOME, auth=auth)
            assert home.status_code == 200, login.username
            assert "<title>Nagios" in home.text
            tac = client.get(nagios4.TAC, auth=auth)
            assert tac.status_code == 200, login.username
            assert "Nagios" in tac.text
        # `/` sends a logged-in user on to the front page.
        root = client.get("/", auth=httpx.DigestAuth(factory.username, factory.password))
        assert root.status_code == 301
        assert root.headers["location"].endswith(nagios4.HOME)

        # A wrong password: the same 401 and a fresh challenge, as with no credentials.
        wrong = client.get(nagios4.HOME, auth=httpx.DigestAuth(factory.username, WRONG_PASSWORD))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith(f'Digest realm="{nagios4.REALM}"')
        # An unknown user is answered the same way.
        nobody = client.get(nagios4.HOME, auth=httpx.DigestAuth("nobody", WRONG_PASSWORD))
        assert nobody.status_code == 401
        _verify_agrees(nagios4, truth)


# Homebridge UI: a single-page app posting JSON to /api/auth/login -----------------------------


def test_homebridge_ground_truth(tmp_path: Path) -> None:
    truth = homebridge.PROGRAM.services[0]
    factory, operator = _planted(truth.logins)
    base = f"http://{homebridge.ADDRESS}:{truth.port}"
    with homebridge.running(tmp_path) as run, _client(base) as client:
        # Bound to its own corpus address only, on no other address or port.
        assert _listening(run) == {f"{homebridge.ADDRESS}:{truth.port}"}
        # The login page: plain HTTP, a script-driven app with no form in its HTML.
        page = client.get("/")
        assert page.status_code == 200, run.log_tail()
        assert page.url.scheme == "http"
        assert "<app-root></app-root>" in page.text
        assert "<form" not in page.text
        assert 'type="password"' not in page.text
        # What the app reads before showing its login form.
        settings = client.get("/api/auth/settings").json()
        assert settings["formAuth"] is True
        assert settings["env"]["setupWizardComplete"] is True
        assert client.get("/api/auth/check").status_code == 401

        for login in (factory, operator):
            answer = homebridge.submit_login(client, login.username, login.password)
            assert answer.status_code == 201, (login.username, answer.text)
            token = answer.json()
            assert token["token_type"] == "Bearer"
            check = client.get(
                "/api/auth/check", headers={"Authorization": f"Bearer {token['access_token']}"}
            )
            assert check.status_code == 200, login.username

        for username in (factory.username, "nobody"):
            wrong = homebridge.submit_login(client, username, WRONG_PASSWORD)
            assert wrong.status_code == 403
            assert wrong.json() == homebridge.REJECTION_BODY
        # The endpoint exists only for POST: a scanner guessing GET learns nothing from it.
        assert client.get(homebridge.LOGIN_PATH).status_code == 404
        _verify_agrees(homebridge, truth)


# OctoPrint: JSON login with a double-submit CSRF token, rate-limited per address ------------


def test_octoprint_ground_truth(tmp_path: Path) -> None:
    truth = octoprint.PROGRAM.services[0]
    factory, operator = _planted(truth.logins)
    base = f"http://{octoprint.ADDRESS}:{truth.port}"
    with octoprint.running(tmp_path) as run:
        # Bound to its own corpus address only, on no other address or port.
        assert _listening(run) == {f"{octoprint.ADDRESS}:{truth.port}"}
        with _client(base) as client:
            root = client.get("/")
            assert root.status_code == 302, run.log_tail()
            assert root.headers["location"].startswith(octoprint.LOGIN_PAGE)
            page = client.get(octoprint.LOGIN_PAGE)
            assert page.status_code == 200
            assert page.url.scheme == "http"
            assert 'type="password" id="login-password"' in page.text
            assert '<form class="form-signin">' in page.text  # no action: the script posts
            assert octoprint.CSRF_COOKIE in client.cookies
            # Without the CSRF header the password is not even looked at.
            no_csrf = client.post(
                octoprint.LOGIN_PATH, json={"user": factory.username, "pass": factory.password}
            )
            assert no_csrf.status_code == 400
            assert no_csrf.json()["error"] == "CSRF validation failed"

        for login in (factory, operator):
            with _client(base) as client:
                answer = octoprint.submit_login(client, login.username, login.password)
                assert answer.status_code == 200, (login.username, answer.text)
                assert answer.json()["name"] == login.username
                me = client.get("/api/currentuser")
                assert me.status_code == 200
                assert me.json()["name"] == login.username

        with _client(base) as client:
            for username in (factory.username, "nobody", factory.username):
                wrong = octoprint.submit_login(client, username, WRONG_PASSWORD)
                assert wrong.status_code == 403
                assert wrong.json() == {"error": octoprint.REJECTION_ERROR}
            assert truth.lockout_threshold == 3
            # The fourth failure in the window is never judged: this address is locked out,
            # even with the right password.
            locked = octoprint.submit_login(client, factory.username, factory.password)
            assert locked.status_code == 429
            assert octoprint.RATE_LIMITED_ERROR in locked.text
        # The limit is per client address, not per account: from another address (verify's)
        # the same account still logs in.
        _verify_agrees(octoprint, truth)


# Cockpit: login.js sends HTTP Basic by XHR; PAM system accounts -------------------------------


def test_cockpit_ground_truth(tmp_path: Path) -> None:
    truth = cockpit.PROGRAM.services[0]
    factory, operator = _planted(truth.logins)
    base = f"http://{cockpit.ADDRESS}:{truth.port}"
    with cockpit.running(tmp_path) as run, _client(base) as client:
        # Bound to its own corpus address only, on no other address or port.
        assert _listening(run) == {f"{cockpit.ADDRESS}:{truth.port}"}
        page = client.get("/")
        assert page.status_code == 200, run.log_tail()
        assert page.url.scheme == "http"
        assert '<form onsubmit="return false">' in page.text
        assert 'type="password" class="form-control" id="login-password-input"' in page.text
        assert "cockpit/static/login.js" in page.text
        bare = client.get(cockpit.LOGIN_PATH)
        assert bare.status_code == 401
        assert bare.reason_phrase == cockpit.REJECTION_REASON
        assert "www-authenticate" not in bare.headers

        for login in (factory, operator):
            with _client(base) as session:
                answer = cockpit.submit_login(session, login.username, login.password)
                assert answer.status_code == 200, (login.username, answer.text, run.log_tail())
                assert "csrf-token" in answer.json()
                assert "cockpit" in session.cookies
                # The cookie alone now opens the session.
                again = session.get(cockpit.LOGIN_PATH)
                assert again.status_code == 200
                assert "csrf-token" in again.json()

        for username in (factory.username, "nobody-corpus"):
            wrong = cockpit.submit_login(client, username, WRONG_PASSWORD)
            assert wrong.status_code == 401
            assert wrong.reason_phrase == cockpit.REJECTION_REASON
            assert "<title>Authentication failed</title>" in wrong.text
            assert "www-authenticate" not in wrong.headers
            # The login page already set `cockpit=deleted`; a rejection gives no session.
            assert client.cookies.get("cockpit") in (None, "deleted")
        _verify_agrees(cockpit, truth)


# phpLiteAdmin: a password-only form, both answers a redirect ---------------------------------


def test_phpliteadmin_ground_truth(tmp_path: Path) -> None:
    truth = phpliteadmin.PROGRAM.services[0]
    # One account, no user name: the factory password is all there is.
    assert [(x.username, x.kind) for x in truth.logins] == [("", "factory")]
    factory = truth.logins[0]
    base = f"http://{phpliteadmin.ADDRESS}:{truth.port}"
    with phpliteadmin.running(tmp_path) as run:
        assert _listening(run) == {f"{phpliteadmin.ADDRESS}:{truth.port}"}
        with _client(base) as client:
            page = client.get("/")
            assert page.status_code == 200, run.log_tail()
            assert page.url.scheme == "http"
            assert "<input type='password' name='password'" in page.text
            assert "name='username'" not in page.text
            assert "type='text'" not in page.text
            assert phpliteadmin.WELCOME_TEXT not in page.text
            assert 'name="token"' in page.text  # the CSRF token submit_login sends back
            # The configuration (which could hold a changed password) is not served.
            assert client.get("/phpliteadmin.config.php").status_code == 403

        with _client(base) as client:
            answer = phpliteadmin.submit_login(client, factory.password)
            assert answer.status_code == 302, run.log_tail()
            assert answer.headers["location"].endswith("phpliteadmin.php?")
            assert any(name.startswith("pla3412") for name in client.cookies)
            assert phpliteadmin.WELCOME_TEXT in client.get(phpliteadmin.LOGIN_PATH).text

        with _client(base) as client:
            wrong = phpliteadmin.submit_login(client, WRONG_PASSWORD)
            assert wrong.status_code == 302
            assert wrong.headers["location"].endswith(phpliteadmin.REJECTION_LOCATION)
            assert not any(name.startswith("pla3412") for name in client.cookies)
            again = client.get(wrong.headers["location"])
            assert again.status_code == 200
            assert phpliteadmin.REJECTION_TEXT in again.text
            assert "<input type='password' name='password'" in again.text
            assert phpliteadmin.WELCOME_TEXT not in client.get(phpliteadmin.LOGIN_PATH).text
        _verify_agrees(phpliteadmin, truth)
