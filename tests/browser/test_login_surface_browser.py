"""The login-surface finder in Debian's headless Chromium, against pages served here.

One Chromium for the module (as in a scan). Each app is a page of the test server on
127.0.71.10; the server records what it received, so every recorded surface is compared
with what actually went over the wire, not only with what the browser reported. The scope
test has canaries on other 127.0.71.x addresses (one outside the scan's scope, one inside
it but another device) and asserts that no connection reached either.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import parse_qs

import pytest
import pytest_asyncio
import trustme

from probes._login.surface import find_login_surface
from probes.login_surface import LoginSurfaces
from scanner.browser import Browser, BrowserOptions, BrowserUnavailable
from scanner.facts import LOGIN_SURFACES, Facts
from scanner.model import Service, Target
from scanner.net import Limits, Network
from scanner.probe import ProbeContext
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DEVICE = "127.0.71.10"
OTHER_DEVICE = "127.0.71.11"  # in the scan's scope, but not the page's device
OUTSIDE = "127.0.71.99"  # outside the scan's scope
SCOPE = Scope.of([DEVICE, OTHER_DEVICE])


@pytest.fixture(scope="module")
def canaries() -> Iterator[dict[str, list[tuple[str, int]]]]:
    """Listeners that record every connection made to them."""
    hits: dict[str, list[tuple[str, int]]] = {}
    socks, stop = [], threading.Event()
    for address in (OTHER_DEVICE, OUTSIDE):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, 0))
        s.listen(16)
        s.settimeout(0.2)
        socks.append(s)
        hits[f"{address}:{s.getsockname()[1]}"] = []

    def accept(s: socket.socket, seen: list[tuple[str, int]]) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, peer = s.accept()
                seen.append(peer)
                conn.close()

    threads = [
        threading.Thread(target=accept, args=(s, seen), daemon=True)
        for s, seen in zip(socks, hits.values(), strict=True)
    ]
    for t in threads:
        t.start()
    yield hits
    stop.set()
    for t in threads:
        t.join(timeout=2)
    for s in socks:
        s.close()


def _pages(canary_out: str, canary_other: str) -> dict[str, str]:
    return {
        # A custom element whose open shadow root holds the form; JSON with nested fields
        # and a CSRF header, as many IoT dashboards built on web components do.
        "/shadow/": """<!doctype html><title>dash</title><x-login></x-login><script>
          customElements.define('x-login', class extends HTMLElement {
            connectedCallback() {
              const root = this.attachShadow({mode: 'open'});
              root.innerHTML = '<form><input name=u autocomplete=username>'
                + '<input type=password name=p><button type=submit>Sign in</button></form>';
              root.querySelector('form').addEventListener('submit', (e) => {
                e.preventDefault();
                fetch('/api/shadow-login', {method: 'POST', headers: {
                  'Content-Type': 'application/json', 'X-CSRF-Token': 'tok123'},
                  body: JSON.stringify({credentials: {name: root.querySelector('[name=u]').value,
                    secret: root.querySelector('[name=p]').value}, client: 'web'})});
              });
            }
          });</script>""",
        # The login form lives in an iframe of the same device: a classic form POST with a
        # hidden CSRF input.
        "/frame/": '<!doctype html><title>router</title><iframe src="/frame/inner"></iframe>',
        "/frame/inner": """<!doctype html><form method=post action="/frame/login">
          <input name=user><input type=password name=pass>
          <input type=hidden name=csrf value=h1dd3n><input type=submit value=Login></form>""",
        # A single-page app that routes itself to #/login and draws a form-less login whose
        # only way to submit is its button (Enter does nothing).
        "/spa/": """<!doctype html><div id=app>loading</div><script>
          const draw = () => {
            if (location.hash !== '#/login') return;
            document.getElementById('app').innerHTML =
              '<input id=n type=email><input id=k type=password><div role=button id=b>Go</div>';
            document.getElementById('b').onclick = () => {
              const x = new XMLHttpRequest(); x.open('POST', '/api/spa/auth');
              x.setRequestHeader('Content-Type', 'application/json');
              x.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
              x.send(JSON.stringify({email: document.getElementById('n').value,
                                     password: document.getElementById('k').value}));
            };
          };
          window.addEventListener('hashchange', draw);
          setTimeout(() => { location.hash = '#/login'; }, 300);
        </script>""",
        # OAuth2 resource-owner password grant, form-encoded, as token endpoints want it.
        "/oauth/": """<!doctype html><form id=f><input name=username>
          <input type=password name=password><button>Log in</button></form><script>
          document.getElementById('f').onsubmit = (e) => { e.preventDefault();
            fetch('/oauth/token', {method: 'POST', body: new URLSearchParams({
              grant_type: 'password', client_id: 'dash-ui', scope: 'openid admin',
              username: e.target.username.value, password: e.target.password.value})}); };
        </script>""",
        # Cockpit-style: the script sends user:password in an Authorization header by XHR.
        "/basic/": """<!doctype html><input id=u><input id=p type=password>
          <button id=b>Log in</button><script>
          document.getElementById('b').onclick = () => { const x = new XMLHttpRequest();
            x.open('GET', '/login'); x.setRequestHeader('Authorization', 'Basic ' +
              btoa(document.getElementById('u').value + ':' + document.getElementById('p').value));
            x.setRequestHeader('X-Superuser', 'any'); x.send(); };
        </script>""",
        # Everything a page can do to reach elsewhere.
        "/escape/": f"""<!doctype html><head>
          <link rel=preconnect href="http://{canary_out}"><link rel=prefetch href="http://{canary_out}/pf">
          <link rel=stylesheet href="http://{canary_other}/s.css"></head><body>
          <img src="http://{canary_out}/i.png"><iframe src="http://{canary_other}/f"></iframe>
          <iframe src="http://canary.invalid/"></iframe><script>
          fetch('http://{canary_out}/f').catch(() => {{}});
          fetch('http://{canary_other}/f').catch(() => {{}});
          try {{ new WebSocket('ws://{canary_out}/ws'); }} catch (e) {{}}
          try {{ new WebSocket('ws://{canary_other}/ws'); }} catch (e) {{}}
          navigator.sendBeacon('http://{canary_out}/b', 'x');
          setTimeout(() => {{ location.href = '/escape/redirect'; }}, 500);
        </script></body>""",
        # The login shows only when asked for: a "Log in" button opens a dialog.
        "/modal/": """<!doctype html><h1>Gateway</h1><button id=open>Log in</button>
          <div id=dlg style="display:none"><input id=mu><input id=mp type=password>
          <button id=go>OK</button></div><script>
          document.getElementById('open').onclick = () => {
            document.getElementById('dlg').style.display = 'block'; };
          document.getElementById('go').onclick = () => fetch('/api/modal/login', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({name: document.getElementById('mu').value,
                                  key: document.getElementById('mp').value})});
        </script>""",
        "/nologin/": "<!doctype html><title>status</title><script>var up = 1;</script>ok",
        "/": """<!doctype html><input id=u><input id=p type=password><script>
          document.getElementById('p').onkeydown = (e) => { if (e.key !== 'Enter') return;
            fetch('api/root-login', {method: 'POST', headers: {'Content-Type':
              'application/json'}, body: JSON.stringify({user: document.getElementById('u')
              .value, pass: document.getElementById('p').value})}); };
        </script>""",
    }


class _App(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}
    received: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []
    redirect_to: ClassVar[str] = ""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, ctype: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.received.append(("GET", path, dict(self.headers.items()), b""))
        if path == "/escape/redirect":
            self._send(302, "text/html", b"", Location=self.redirect_to)
        elif path == "/login" and "Authorization" in self.headers:
            self._send(401, "application/json", b'{"problem": "authentication-failed"}')
        elif path in self.pages:
            self._send(200, "text/html; charset=utf-8", self.pages[path].encode())
        else:
            self._send(404, "text/plain", b"not found")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(("POST", path, dict(self.headers.items()), body))
        if path == "/oauth/token":
            self._send(400, "application/json", b'{"error": "invalid_grant"}')
        elif path == "/frame/login":
            self._send(200, "text/html", b"<title>Login failed</title>wrong")
        elif path == "/api/spa/auth":
            self._send(403, "application/json", b'{"message": "denied"}')
        else:
            self._send(401, "application/json", b'{"error": "bad credentials"}')


def _handler(pages: dict[str, str], redirect_to: str) -> type[_App]:
    """A handler class with these pages and a record of its own."""
    received: list[tuple[str, str, dict[str, str], bytes]] = []
    return type("App", (_App,), {"pages": pages, "received": received, "redirect_to": redirect_to})


@pytest.fixture(scope="module")
def app(canaries: dict[str, list[tuple[str, int]]]) -> Iterator[tuple[int, type[_App]]]:
    other, out = list(canaries)
    Handler = _handler(_pages(out, other), f"http://{out}/r")
    server = ThreadingHTTPServer((DEVICE, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], Handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def tls_app(app: tuple[int, type[_App]]) -> Iterator[tuple[int, type[_App]]]:
    """The same app over HTTPS with a certificate nobody trusts, as devices ship them."""
    cert = trustme.CA().issue_cert(DEVICE)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)

    TlsHandler = _handler(app[1].pages, app[1].redirect_to)
    server = ThreadingHTTPServer((DEVICE, 0), TlsHandler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], TlsHandler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    b = Browser(SCOPE, BrowserOptions(bind=DEVICE, page_timeout=20.0))
    yield b
    await b.aclose()


def _device(browser: Browser | None) -> Network:
    return Network(SCOPE, Limits(connect_timeout=2.0, read_timeout=5.0), browser)


def _posted(handler: type[_App], path: str) -> tuple[dict[str, str], bytes]:
    hits = [(h, b) for m, p, h, b in handler.received if p == path and m != "GET"]
    assert len(hits) == 1, f"{path}: one control login expected, got {len(hits)}"
    return hits[0]


async def test_login_in_an_open_shadow_root_sends_nested_json(browser, app):
    port, handler = app
    service = Service("tcp", port, "http")
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/shadow/")
    s = found.surface
    assert s is not None, found.reason
    headers, body = _posted(handler, "/api/shadow-login")
    sent = json.loads(body)
    assert (s.url, s.method, s.content_type) == (
        f"http://{DEVICE}:{port}/api/shadow-login",
        "POST",
        "application/json",
    )
    assert (s.username_field, s.password_field) == ("credentials.name", "credentials.secret")
    assert sent["credentials"]["name"]
    assert sent["credentials"]["secret"]
    assert s.extra_fields == (("client", "web"),)
    assert ("x-csrf-token", "tok123") in s.headers
    assert headers["X-CSRF-Token"] == "tok123"
    assert (s.failure_status, s.source) == (401, "chromium")
    assert "error" in s.failure_shape
    assert s.page_url == f"http://{DEVICE}:{port}/shadow/"
    assert sent["credentials"]["secret"] not in repr(s)  # the control password is not kept


async def test_login_in_an_iframe_posts_its_form_with_the_hidden_field(browser, app):
    port, handler = app
    service = Service("tcp", port, "http")
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/frame/")
    s = found.surface
    assert s is not None, found.reason
    _, body = _posted(handler, "/frame/login")
    sent = parse_qs(body.decode())
    assert sent["csrf"] == ["h1dd3n"]
    assert (s.url, s.content_type) == (
        f"http://{DEVICE}:{port}/frame/login",
        "application/x-www-form-urlencoded",
    )
    assert (s.username_field, s.password_field, s.extra_fields) == (
        "user",
        "pass",
        (("csrf", "h1dd3n"),),
    )
    assert s.page_url == f"http://{DEVICE}:{port}/frame/inner"  # the frame, not the top page
    assert s.failure_status == 200
    assert 'title "Login failed"' in s.failure_shape


async def test_spa_that_routes_to_hash_login_and_submits_by_button(browser, app):
    port, handler = app
    service = Service("tcp", port, "http")
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/spa/")
    s = found.surface
    assert s is not None, found.reason
    _, body = _posted(handler, "/api/spa/auth")
    assert set(json.loads(body)) == {"email", "password"}
    assert (s.username_field, s.password_field) == ("email", "password")
    assert ("x-requested-with", "XMLHttpRequest") in s.headers
    assert s.page_url.endswith("/spa/#/login")
    assert (s.failure_status, s.content_type) == (403, "application/json")


async def test_a_login_shown_only_after_clicking_log_in(browser, app):
    port, handler = app
    service = Service("tcp", port, "http")
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/modal/")
    s = found.surface
    assert s is not None, found.reason
    _, body = _posted(handler, "/api/modal/login")
    assert set(json.loads(body)) == {"name", "key"}
    assert (s.url, s.username_field, s.password_field) == (
        f"http://{DEVICE}:{port}/api/modal/login",
        "name",
        "key",
    )


async def test_oauth2_password_grant_records_the_fixed_fields(browser, app):
    port, handler = app
    service = Service("tcp", port, "http")
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/oauth/")
    s = found.surface
    assert s is not None, found.reason
    _, body = _posted(handler, "/oauth/token")
    sent = parse_qs(body.decode(), keep_blank_values=True)
    assert sent["grant_type"] == ["password"]
    assert (s.url, s.content_type) == (
        f"http://{DEVICE}:{port}/oauth/token",
        "application/x-www-form-urlencoded",
    )
    assert (s.username_field, s.password_field) == ("username", "password")
    assert dict(s.extra_fields) == {
        "grant_type": "password",
        "client_id": "dash-ui",
        "scope": "openid admin",
    }
    assert s.failure_status == 400
    assert "invalid_grant" in s.failure_shape


async def test_a_login_over_https_with_an_untrusted_certificate(browser, tls_app):
    port, handler = tls_app
    service = Service("tcp", port, "https", tls=True)
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/oauth/")
    s = found.surface
    assert s is not None, found.reason
    _posted(handler, "/oauth/token")
    assert s.url == f"https://{DEVICE}:{port}/oauth/token"
    assert dict(s.extra_fields)["client_id"] == "dash-ui"
    assert s.failure_status == 400


async def test_credentials_sent_by_xhr_in_a_basic_header(browser, app):
    port, handler = app
    service = Service("tcp", port, "http")
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/basic/")
    s = found.surface
    assert s is not None, found.reason
    sent = [h for m, p, h, _ in handler.received if p == "/login" and "Authorization" in h]
    assert len(sent) == 1
    user, _, password = base64.b64decode(sent[0]["Authorization"][6:]).decode().partition(":")
    assert user
    assert password
    assert (s.url, s.method, s.auth_header) == (f"http://{DEVICE}:{port}/login", "GET", "Basic")
    assert (s.content_type, s.username_field, s.password_field) == ("", "", "")
    assert ("x-superuser", "any") in s.headers
    assert s.failure_status == 401


async def test_a_page_without_a_password_field_gives_no_surface(browser, app):
    port, _ = app
    service = Service("tcp", port, "http")
    t0 = time.monotonic()
    found = await find_login_surface(_device(browser).device(DEVICE), service, "/nologin/")
    assert found.surface is None
    assert "no password field" in found.reason
    assert time.monotonic() - t0 < 20


async def test_nothing_leaves_the_device_whatever_the_page_tries(browser, app, canaries):
    port, _handler = app
    async with _device(browser).device(DEVICE).browser_page() as bp:
        await bp.page.goto(f"http://{DEVICE}:{port}/escape/", wait_until="load")
        await asyncio.sleep(2.5)  # the page's own redirect after 0.5 s, and its retries
        refused = bp.refusals()
    assert all(seen == [] for seen in canaries.values()), canaries
    other, out = list(canaries)
    assert any(out in r for r in refused)
    assert any(other in r for r in refused)
    assert any("canary.invalid" in r for r in refused)


async def test_webrtc_sends_no_udp_around_the_gate(browser):
    """STUN over UDP would bypass both interception and the SOCKS gate: Chromium is told to
    send no UDP that a proxy does not carry (without that flag this canary got 4 packets)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((OUTSIDE, 0))
    udp.setblocking(False)
    stun = f"stun:{OUTSIDE}:{udp.getsockname()[1]}"
    try:
        async with _device(browser).device(DEVICE).browser_page() as bp:
            await bp.page.set_content(
                "<script>const pc = new RTCPeerConnection({iceServers: [{urls: 'STUN'}]});"
                "pc.createDataChannel('x');"
                "pc.createOffer().then((o) => pc.setLocalDescription(o));</script>".replace(
                    "STUN", stun
                )
            )
            await asyncio.sleep(2.0)
            state = await bp.page.evaluate("() => pc.iceGatheringState")
        datagrams = []
        with contextlib.suppress(BlockingIOError):
            while True:
                datagrams.append(udp.recvfrom(2048))
    finally:
        udp.close()
    assert state in ("gathering", "complete")  # WebRTC ran, it just could not go out
    assert datagrams == []


async def test_the_probe_publishes_the_surface_for_other_probes(browser, app):
    port, _ = app
    service = Service("tcp", port, "http")
    facts = Facts()
    ctx = ProbeContext(Target(DEVICE), _device(browser).device(DEVICE), facts)
    assert await LoginSurfaces().run(ctx, service) == []
    published = facts.get(LOGIN_SURFACES)
    assert published is not None
    assert [(s.url, s.username_field, s.password_field) for s in published] == [
        (f"http://{DEVICE}:{port}/api/root-login", "user", "pass")
    ]


async def test_without_chromium_the_scan_is_told_once_and_pages_are_refused_at_once():
    notices: list[str] = []
    missing = Browser(SCOPE, BrowserOptions(executable="/nonexistent/chromium"), notices.append)
    for _ in range(3):
        t0 = time.monotonic()
        with pytest.raises(BrowserUnavailable, match="not found"):
            async with missing.page(DEVICE):
                pass
        assert time.monotonic() - t0 < 1.0
    assert len(notices) == 1
    assert "scripts" in notices[0]
    await missing.aclose()
