"""The login-surface probe: which services it looks at, and what it costs the device."""

from __future__ import annotations

import httpx

from probes.login_surface import LoginSurfaces
from scanner.facts import HTTP_PAGES, LOGIN_SURFACES, Facts, HttpPage
from scanner.fingerprint.http import without_scripts
from scanner.http_exchange import MAX_BODY
from scanner.model import Service, Target
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope

ADDRESS = "127.0.71.60"
SERVICE = Service("tcp", 80, "http")
APP = (
    b"<!doctype html><div id=app></div><script>"
    b'function go(u, p) { fetch("/api/session/login", {method: "POST", '
    b"body: JSON.stringify({login: u, secret: p})}); }</script>"
)


def _ctx(pages: tuple[HttpPage, ...], seen: list[str]) -> tuple[ProbeContext, Facts]:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, headers={"content-type": "text/html"}, content=APP)

    net = Network(Scope.of([ADDRESS]))  # no browser: the scripts are read
    dev = net.device(ADDRESS, http_transport=httpx.MockTransport(answer))
    facts = Facts()
    facts.put(HTTP_PAGES, pages)
    return ProbeContext(Target(ADDRESS), dev, facts), facts


def _page(status: int = 200, **kw: object) -> HttpPage:
    return HttpPage(SERVICE, f"http://{ADDRESS}/", status, **kw)  # type: ignore[arg-type]


def test_without_scripts_only_for_a_page_read_whole_without_script_or_frame():
    assert without_scripts(b"x", "<form><input type=password></form>")
    assert not without_scripts(b"x", "<html><SCRIPT src=app.js></script>")
    assert not without_scripts(b"x", '<iframe src="/login"></iframe>')
    assert not without_scripts(b"", "")  # nothing read: unknown
    assert not without_scripts(b"x" * MAX_BODY, "<form></form>")  # truncated: unknown


async def test_pages_without_scripts_cost_the_device_no_request():
    seen: list[str] = []
    ctx, facts = _ctx((_page(302, location="/login"), _page(without_scripts=True)), seen)
    assert await LoginSurfaces().run(ctx, SERVICE) == []
    assert seen == []
    assert facts.get(LOGIN_SURFACES) is None


async def test_http_authentication_is_left_to_fingerprinting():
    seen: list[str] = []
    ctx, _ = _ctx((_page(401, auth_scheme="Digest", auth_realm="cam"),), seen)
    assert await LoginSurfaces().run(ctx, SERVICE) == []
    assert seen == []


async def test_a_page_with_scripts_is_read_and_its_login_published():
    seen: list[str] = []
    ctx, facts = _ctx((_page(),), seen)  # without_scripts unknown (False)
    assert await LoginSurfaces().run(ctx, SERVICE) == []
    assert seen == ["/"]
    (surface,) = facts.get(LOGIN_SURFACES) or ()
    assert (surface.url, surface.content_type, surface.source) == (
        f"http://{ADDRESS}/api/session/login",
        "application/json",
        "scripts",
    )
    assert (surface.username_field, surface.password_field) == ("login", "secret")
