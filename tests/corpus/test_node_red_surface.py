"""Node-RED's login surface, found by the scanner the way a person would meet it.

The ground truth is checked first with httpx posting the token request the editor posts:
the planted login gets a token, a wrong one 403. Then the finder must record that request
from a random control login in Chromium, and read the same endpoint from the editor's
scripts when there is no browser; a replay of either surface with the planted login gets a
token, which is what the login checks will do with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio

from probes._login.surface import find_login_surface
from scanner.browser import Browser, BrowserOptions
from scanner.model import Service
from scanner.net import Limits, Network
from scanner.scope import Scope
from tests.corpus.programs import node_red

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scanner.facts import LoginSurface

pytestmark = pytest.mark.corpus
in_module_loop = pytest.mark.asyncio(loop_scope="module")  # the module's browser is shared

BASE = f"http://{node_red.ADDRESS}:{node_red.PORT}"
SCOPE = Scope.of([node_red.ADDRESS])
SERVICE = Service("tcp", node_red.PORT, "http")
GATE = "127.0.71.1"  # where the browser's SOCKS gate listens (this suite's block)
EDITOR_FIELDS = {"client_id": "node-red-editor", "grant_type": "password", "scope": ""}


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with node_red.running(tmp_path_factory.mktemp("node-red")):
        yield


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    b = Browser(SCOPE, BrowserOptions(bind=GATE))
    yield b
    await b.aclose()


def _token_request(surface_or_none: LoginSurface | None, username: str, password: str) -> int:
    """POST the token request (the recorded surface's shape, or the editor's own)."""
    if surface_or_none is None:
        url, fields, user_f, pass_f = f"{BASE}/auth/token", EDITOR_FIELDS, "username", "password"
    else:
        s = surface_or_none
        url, fields, user_f, pass_f = (
            s.url,
            dict(s.extra_fields),
            s.username_field,
            s.password_field,
        )
    with httpx.Client(timeout=15.0, trust_env=False) as client:
        r = client.post(url, data={**fields, user_f: username, pass_f: password})
    if r.status_code == 200:
        assert r.json()["access_token"]
    return r.status_code


def test_ground_truth_planted_login_gets_a_token_and_a_wrong_one_403(program):
    login = node_red.FACTORY
    assert _token_request(None, login.username, login.password) == 200
    assert _token_request(None, login.username, "wrong-Zr4corpus") == 403
    assert _token_request(None, "nobody", login.password) == 403


def _assert_editor_surface(s: LoginSurface | None, source: str) -> LoginSurface:
    assert s is not None
    assert (s.url, s.method, s.content_type) == (
        f"{BASE}/auth/token",
        "POST",
        "application/x-www-form-urlencoded",
    )
    assert (s.username_field, s.password_field, s.auth_header) == ("username", "password", "")
    assert dict(s.extra_fields) == EDITOR_FIELDS
    assert s.source == source
    return s


@pytest.mark.browser
@in_module_loop
async def test_chromium_records_the_editors_oauth2_password_grant(program, browser):
    net = Network(SCOPE, Limits(connect_timeout=3.0, read_timeout=10.0), browser)
    found = await find_login_surface(net.device(node_red.ADDRESS), SERVICE)
    s = _assert_editor_surface(found.surface, "chromium")
    assert s.page_url == f"{BASE}/"
    assert s.failure_status == 403
    assert "invalid_grant" in s.failure_shape
    assert ("x-requested-with", "XMLHttpRequest") in s.headers
    assert not [r for r in found.refused if node_red.ADDRESS in r]  # the app itself allowed
    login = node_red.FACTORY
    assert _token_request(s, login.username, login.password) == 200
    assert _token_request(s, login.username, "wrong-Zr4corpus") == 403


@in_module_loop
async def test_without_a_browser_the_editors_scripts_give_the_same_endpoint(program):
    notices: list[str] = []
    off = Browser(SCOPE, BrowserOptions(enabled=False, bind=GATE), notices.append)
    net = Network(SCOPE, Limits(connect_timeout=3.0, read_timeout=10.0), off)
    found = await find_login_surface(net.device(node_red.ADDRESS), SERVICE)
    s = _assert_editor_surface(found.surface, "scripts")
    assert (s.failure_status, s.failure_shape) == (0, "")  # not observed without a browser
    assert "disabled" in found.reason
    assert len(notices) == 1
    login = node_red.FACTORY
    assert _token_request(s, login.username, login.password) == 200
    await off.aclose()
