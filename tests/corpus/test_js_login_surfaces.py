"""Login surfaces of the corpus's script-driven web apps: Homebridge UI (JSON), OctoPrint
(JSON with a double-submit CSRF header) and Cockpit (HTTP Basic sent by XHR).

Each test checks the ground truth first with httpx and the program's own login helper
(the planted login accepted, a wrong one rejected), then lets the finder record the surface
in Chromium, replays that surface with httpx and the planted login (it must be accepted),
and reads the app's scripts without a browser: the same endpoint, or nothing (never a
guess). OctoPrint rejects three logins a minute per address, so these tests spend two.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio

from probes._login.surface import find_login_surface
from scanner.browser import Browser, BrowserOptions
from scanner.model import Service
from scanner.net import Limits, Network
from scanner.scope import Scope
from tests.corpus.programs import cockpit, homebridge, octoprint

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from scanner.facts import LoginSurface
    from tests.corpus.base import Login

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
]

GATE = "127.0.71.2"  # where the browser's SOCKS gates listen (this suite's block)
WRONG = "wrong-Zr4corpus"
SCOPE = Scope.of([homebridge.ADDRESS, octoprint.ADDRESS, cockpit.ADDRESS])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    b = Browser(SCOPE, BrowserOptions(bind=GATE))
    yield b
    await b.aclose()


async def _surfaces(
    browser: Browser, address: str, port: int
) -> tuple[LoginSurface | None, LoginSurface | None]:
    """The surface from Chromium, then from the scripts alone."""
    service = Service("tcp", port, "http")
    limits = Limits(connect_timeout=3.0, read_timeout=15.0)
    with_browser = await find_login_surface(
        Network(SCOPE, limits, browser).device(address), service
    )
    scripts_only = await find_login_surface(Network(SCOPE, limits, None).device(address), service)
    return with_browser.surface, scripts_only.surface


def _replay(surface: LoginSurface, login: Login) -> httpx.Response:
    """Send `login` the way the surface says, as a login check would: from a fresh session
    that opened the login page first (which sets the cookies a CSRF header repeats)."""
    with httpx.Client(timeout=15.0, trust_env=False) as client:
        client.get(surface.page_url)
        headers = {}
        for name, value in surface.headers:
            csrf_cookie = next((v for k, v in client.cookies.items() if "csrf" in k.lower()), "")
            headers[name] = csrf_cookie if "csrf" in name.lower() and csrf_cookie else value
        if surface.auth_header == "Basic":
            token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
            return client.request(surface.method, surface.url, headers=headers)
        fields = {
            **dict(surface.extra_fields),
            surface.username_field: login.username,
            surface.password_field: login.password,
        }
        if surface.content_type == "application/json":
            body = {k: json.loads(v) if v in ("true", "false") else v for k, v in fields.items()}
            return client.request(surface.method, surface.url, json=body, headers=headers)
        return client.request(surface.method, surface.url, data=fields, headers=headers)


async def test_homebridge_json_login(browser: Browser, tmp_path: Path):
    base = f"http://{homebridge.ADDRESS}:{homebridge.PORT}"
    with homebridge.running(tmp_path), httpx.Client(base_url=base, trust_env=False) as client:
        factory = homebridge.FACTORY
        assert (
            homebridge.submit_login(client, factory.username, factory.password).status_code == 201
        )
        wrong = homebridge.submit_login(client, factory.username, WRONG)
        assert wrong.status_code == 403

        seen, read = await _surfaces(browser, homebridge.ADDRESS, homebridge.PORT)
        for s in (seen, read):
            assert s is not None
            assert (s.url, s.method, s.content_type) == (
                f"{base}{homebridge.LOGIN_PATH}",
                "POST",
                "application/json",
            )
            assert (s.username_field, s.password_field) == ("username", "password")
            assert _replay(s, factory).status_code == 201
        assert seen is not None
        assert read is not None
        assert (seen.source, read.source) == ("chromium", "scripts")
        assert seen.failure_status == 403
        assert seen.page_url == f"{base}/login"  # the app routed itself to its login


async def test_octoprint_json_login_with_csrf_header(browser: Browser, tmp_path: Path):
    base = f"http://{octoprint.ADDRESS}:{octoprint.PORT}"
    with octoprint.running(tmp_path), httpx.Client(base_url=base, trust_env=False) as client:
        factory = octoprint.FACTORY
        assert octoprint.submit_login(client, factory.username, factory.password).status_code == 200
        assert octoprint.submit_login(client, factory.username, WRONG).status_code == 403

        seen, read = await _surfaces(browser, octoprint.ADDRESS, octoprint.PORT)
        for s in (seen, read):
            assert s is not None
            assert (s.url, s.method, s.content_type) == (
                f"{base}{octoprint.LOGIN_PATH}",
                "POST",
                "application/json",
            )
            assert (s.username_field, s.password_field) == ("user", "pass")
        assert seen is not None
        assert read is not None
        assert dict(seen.extra_fields) == {"remember": "false"}
        assert "x-csrf-token" in dict(seen.headers)  # the double-submit header, recorded
        assert seen.failure_status == 403
        assert _replay(seen, factory).status_code == 200
        # The scripts cannot know the CSRF header: the login checks' control login will
        # find that surface unconfirmed (400) rather than take it on trust.
        assert read.headers == ()


async def test_cockpit_basic_by_xhr(browser: Browser, tmp_path: Path):
    base = f"http://{cockpit.ADDRESS}:{cockpit.PORT}"
    with cockpit.running(tmp_path), httpx.Client(base_url=base, trust_env=False) as client:
        factory = cockpit.FACTORY
        assert cockpit.submit_login(client, factory.username, WRONG).status_code == 401
        # (then the planted one: its session cookie would let any later request in)
        assert cockpit.submit_login(client, factory.username, factory.password).status_code == 200

        seen, read = await _surfaces(browser, cockpit.ADDRESS, cockpit.PORT)
        assert seen is not None
        assert (seen.url, seen.method, seen.auth_header) == (
            f"{base}{cockpit.LOGIN_PATH}",
            "GET",
            "Basic",
        )
        assert (seen.content_type, seen.username_field, seen.password_field) == ("", "", "")
        assert ("x-superuser", "none") in seen.headers
        assert seen.failure_status == 401
        assert "Authentication failed" in seen.failure_shape
        assert _replay(seen, factory).status_code == 200
        assert read is None  # login.js builds its URL at run time: nothing is guessed
