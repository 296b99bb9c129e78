"""HTTP login client: Basic, Digest, forms and JSON against lab devices and tiny servers.

Addresses: 127.0.36.0/24 for devices, 127.0.37.0/24 for "another host" a redirect names.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import h11
import httpx
import pytest

from probes._login import http as login_http
from probes._login.common import Pace
from scanner.credentials import Credential, LoginRun, Outcome
from scanner.facts import HttpPage, LoginForm
from scanner.http_exchange import MAX_BODY
from scanner.model import Service
from scanner.net import DeviceNetwork, Limits, Network
from scanner.scope import Scope

_ADDRESSES = itertools.cycle(range(10, 250))
SCOPE = Scope.of(["127.0.36.0/24", "127.0.37.0/24"])

WRONG = Credential("admin", "wrong-pw", "test")
RIGHT = Credential("admin", "S3cret!pw", "test")


@pytest.fixture
def address() -> str:
    return f"127.0.36.{next(_ADDRESSES)}"


def device(address: str, per_device: int = 4) -> DeviceNetwork:
    return Network(SCOPE, Limits(per_device=per_device)).device(address)


# --- a tiny keep-alive HTTP server -----------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def cookie(self, name: str) -> str:
        for part in self.headers.get("cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return ""


@dataclass
class Resp:
    status: int = 200
    body: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Req], Resp | None]  # None: drop the connection without an answer


@dataclass
class Server:
    handler: Handler
    host: str
    port: int = 0
    requests: list[Req] = field(default_factory=list)
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def service(self) -> Service:
        return Service("tcp", self.port, "http")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                    continue
                if not isinstance(event, h11.Request):
                    return
                body = b""
                while not isinstance(ev := conn.next_event(), h11.EndOfMessage):
                    if ev is h11.NEED_DATA:
                        conn.receive_data(await reader.read(65536))
                    elif isinstance(ev, h11.Data):
                        body += ev.data
                target = event.target.decode()
                parts = urlsplit(target)
                req = Req(
                    event.method.decode(),
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.decode().lower(): v.decode() for k, v in event.headers},
                    body,
                )
                self.requests.append(req)
                resp = self.handler(req)
                if resp is None:
                    return
                data = resp.body.encode()
                headers = [("Content-Length", str(len(data))), *resp.headers]
                if not any(k.lower() == "content-type" for k, _ in resp.headers):
                    headers.append(("Content-Type", "text/html"))
                writer.write(conn.send(h11.Response(status_code=resp.status, headers=headers)))
                writer.write(conn.send(h11.Data(data=data)))
                writer.write(conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            return
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(handler: Handler, host: str) -> AsyncIterator[Server]:
    server = Server(handler, host)
    listener = await asyncio.start_server(server.serve, host, 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for writer in server.writers:
            writer.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await listener.wait_closed()


def page(title: str, inner: str) -> str:
    return f"<html><head><title>{title}</title></head><body>{inner}</body></html>"


def login_page(token: str = "", message: str = "") -> str:
    hidden = f'<input type="hidden" name="csrf_token" value="{token}">' if token else ""
    return page(
        "Login",
        f"<p>{message}</p><form method='post' action='/login'>{hidden}"
        "<input type='text' name='username'><input type='password' name='password'>"
        "<input type='submit'></form>",
    )


def assert_no_password(run: LoginRun, *passwords: str) -> None:
    texts = [run.note, repr(run), str(run)]
    texts += [a.detail for a in run.attempts]
    if run.control is not None:
        texts += [run.control.detail, repr(run.control)]
        passwords = (*passwords, run.control.credential.password)
    for text in texts:
        for password in passwords:
            assert password not in text


def outcomes(run: LoginRun) -> list[Outcome]:
    return [a.outcome for a in run.attempts]


# --- lab devices ----------------------------------------------------------------------------


@pytest.mark.lab
async def test_lab_basic_right_and_wrong(address: str) -> None:
    from lab.device import LabDevice
    from lab.personality import load_builtin

    async with LabDevice(load_builtin("legacy-plc"), address) as lab:
        svc = next(s for s in lab.services if s.protocol == "http")
        run = await login_http.try_logins(
            device(address), svc, [Credential("admin", "admin"), Credential("admin", "1234")]
        )
    assert run.method == "http basic"
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert_no_password(run, "1234")


@pytest.mark.lab
async def test_lab_form_with_csrf(address: str) -> None:
    from lab.device import LabDevice
    from lab.personality import load_builtin

    async with LabDevice(load_builtin("weak-camera"), address) as lab:
        svc = next(s for s in lab.services if s.protocol == "http")
        creds = [Credential("admin", "1234"), Credential("admin", "admin"), WRONG]
        run = await login_http.try_logins(device(address), svc, creds)
    assert run.method == "http form POST /login"
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]  # stops at the first
    assert "new cookie session" in run.attempts[1].detail
    assert_no_password(run, "1234")


# --- Basic and Digest -----------------------------------------------------------------------


def basic_handler(req: Req) -> Resp:
    import base64

    expected = base64.b64encode(f"{RIGHT.username}:{RIGHT.password}".encode()).decode()
    if req.headers.get("authorization") == f"Basic {expected}":
        return Resp(200, page("Status", "<p>ok</p>"))
    return Resp(401, "no", [("WWW-Authenticate", 'Basic realm="cam"')])


async def test_basic_with_page_fact(address: str) -> None:
    async with serving(basic_handler, address) as srv:
        pages = [HttpPage(srv.service, f"http://{address}:{srv.port}/", 401, auth_scheme="Basic")]
        run = await login_http.try_logins(
            device(address), srv.service, [WRONG, RIGHT, WRONG], pages=pages
        )
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert_no_password(run, RIGHT.password, WRONG.password)


def digest_handler(algorithm: str, *, one_time: bool = False) -> Handler:
    hname = {"MD5": "md5", "SHA-256": "sha256"}[algorithm.removesuffix("-sess")]
    nonces = {secrets.token_hex(8)}

    def h(text: str) -> str:
        return hashlib.new(hname, text.encode()).hexdigest()

    def challenge(stale: bool = False) -> Resp:
        nonce = secrets.token_hex(8)
        if one_time:
            nonces.add(nonce)
        else:
            nonce = next(iter(nonces))
        value = f'Digest realm="dev", qop="auth", nonce="{nonce}", algorithm={algorithm}'
        value += ', opaque="xyz"' + (", stale=TRUE" if stale else "")
        return Resp(401, "unauthorized", [("WWW-Authenticate", value)])

    def handle(req: Req) -> Resp:
        header = req.headers.get("authorization", "")
        if not header.startswith("Digest "):
            return challenge()
        p = {
            m[0]: m[1] or m[2]
            for m in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header.removeprefix("Digest "))
        }
        if p.get("algorithm") != algorithm or p.get("opaque") != "xyz" or p.get("qop") != "auth":
            return Resp(400, "bad digest")
        if p["nonce"] not in nonces:
            return challenge(stale=True)
        if one_time:
            nonces.discard(p["nonce"])
        ha1 = h(f"{RIGHT.username}:dev:{RIGHT.password}")
        if algorithm.endswith("-sess"):
            ha1 = h(f"{ha1}:{p['nonce']}:{p['cnonce']}")
        ha2 = h(f"{req.method}:{p['uri']}")
        want = h(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        if p["username"] == RIGHT.username and p["response"] == want:
            return Resp(200, page("Status", "<p>ok</p>"))
        return challenge()

    return handle


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess"])
async def test_digest(address: str, algorithm: str) -> None:
    async with serving(digest_handler(algorithm), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert run.method == f"http digest {algorithm}"
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert_no_password(run, RIGHT.password, WRONG.password)


async def test_digest_one_time_nonces_use_the_freshest(address: str) -> None:
    async with serving(digest_handler("SHA-256", one_time=True), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, WRONG, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED, Outcome.REJECTED, Outcome.ACCEPTED]


async def test_digest_rotating_nonces_cost_one_request_per_attempt(address: str) -> None:
    """lighttpd hands a new nonce with every 401 and takes any nonce it issued: each attempt
    uses the last 401's (unused) nonce, so its 401 is an answer, not a reason to try again
    (retrying doubled every attempt, each behind lighttpd's 2 s failure delay)."""
    handler = digest_handler("MD5", one_time=True)
    authorised = 0

    def counting(req: Req) -> Resp | None:
        nonlocal authorised
        authorised += req.headers.get("authorization", "").startswith("Digest ")
        return handler(req)

    wrong = [Credential("admin", f"wrong-{i}", "test") for i in range(5)]
    async with serving(counting, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [*wrong, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED] * 5 + [Outcome.ACCEPTED]
    assert authorised == 1 + 6  # the control login and six candidates, once each


# --- forms ----------------------------------------------------------------------------------


def csrf_form_handler() -> tuple[Handler, dict[str, str]]:
    """One-time CSRF tokens bound to a pre-login cookie; success redirects with a session."""
    tokens: dict[str, str] = {}

    def handle(req: Req) -> Resp:
        if req.method == "GET" and req.path in ("/", "/login"):
            if req.cookie("sid"):
                return Resp(200, page("Home", "<p>Welcome</p>"))
            pre = secrets.token_hex(6)
            tokens[pre] = secrets.token_hex(8)
            return Resp(200, login_page(tokens[pre]), [("Set-Cookie", f"pre={pre}; Path=/")])
        if req.method == "POST" and req.path == "/login":
            fields = req.form()
            if tokens.pop(req.cookie("pre"), None) != fields.get("csrf_token"):
                return Resp(403, page("Forbidden", "<p>Invalid CSRF token</p>"))
            if (fields.get("username"), fields.get("password")) == (RIGHT.username, RIGHT.password):
                return Resp(302, "", [("Location", "/"), ("Set-Cookie", "sid=s1; Path=/")])
            return Resp(302, "", [("Location", "/")])  # back to the (login) page
        return Resp(404, "not found")

    return handle, tokens


async def test_form_refetches_the_csrf_token_every_attempt(address: str) -> None:
    handler, _ = csrf_form_handler()
    async with serving(handler, address) as srv:
        base = f"http://{address}:{srv.port}"
        # What fingerprinting saw a while ago: that token is stale by now.
        stale = LoginForm(
            srv.service, f"{base}/", f"{base}/login", "POST", "username", "password",
            (("csrf_token", "stale-token"),),
        )  # fmt: skip
        async with httpx.AsyncClient(base_url=base) as raw:
            await raw.get("/")  # a fresh pre-login cookie, but the stale token
            answer = await raw.post(
                "/login", data={"csrf_token": "stale-token", "username": "admin", "password": "x"}
            )
        assert answer.status_code == 403  # the server really rejects a stale token
        run = await login_http.try_logins(
            device(address), srv.service, [WRONG, WRONG, RIGHT], forms=[stale]
        )
    assert run.method == "http form POST /login"
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert outcomes(run) == [Outcome.REJECTED, Outcome.REJECTED, Outcome.ACCEPTED]
    assert "login form gone" in run.attempts[2].detail
    posts = [r.form()["csrf_token"] for r in srv.requests if r.method == "POST"][1:]
    assert len(set(posts)) == len(posts) == 4  # control + 3, each with its own token
    assert_no_password(run, RIGHT.password, WRONG.password)


async def test_form_concurrent_connections(address: str) -> None:
    handler, _ = csrf_form_handler()
    creds = [Credential("admin", f"pw{i}") for i in range(40)] + [RIGHT]
    async with serving(handler, address) as srv:
        run = await login_http.try_logins(
            device(address, 8), srv.service, creds, pace=Pace(connections=8)
        )
    assert run.attempts[-1].credential == RIGHT
    assert run.attempts[-1].outcome is Outcome.ACCEPTED
    assert {a.outcome for a in run.attempts[:-1]} == {Outcome.REJECTED}


async def test_always_200_makes_the_control_accepted_and_nothing_is_tried(address: str) -> None:
    def handle(req: Req) -> Resp:
        if req.method == "POST":
            sid = secrets.token_hex(8)
            return Resp(200, page("Home", "<p>Welcome</p>"), [("Set-Cookie", f"sid={sid}")])
        return Resp(200, login_page())

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert run.control is not None
    assert run.control.outcome is Outcome.ACCEPTED
    assert run.attempts == ()
    assert "no success oracle" in run.note


async def test_always_200_basic_is_no_oracle(address: str) -> None:
    pages_seen: list[HttpPage] = []

    def handle(req: Req) -> Resp:
        return Resp(200, page("Status", "<p>anything goes</p>"))

    async with serving(handle, address) as srv:
        pages_seen.append(HttpPage(srv.service, "/", 401, auth_scheme="Basic"))
        run = await login_http.try_logins(device(address), srv.service, [RIGHT], pages=pages_seen)
    assert run.control is not None
    assert run.control.outcome is Outcome.ACCEPTED
    assert run.attempts == ()


def failing_form(after_control: Callable[[int], Resp | None]) -> Handler:
    """A form whose first POST (the control) fails normally; later POSTs answer
    `after_control(n)` (n counts from 1) or, when that is None, like the control."""
    posts = itertools.count()

    def handle(req: Req) -> Resp | None:
        if req.method == "GET":
            return Resp(200, login_page())
        n = next(posts)
        special = after_control(n) if n else None
        if special is not None:
            return special
        if (req.form().get("username"), req.form().get("password")) == (
            RIGHT.username,
            RIGHT.password,
        ):
            return Resp(200, page("Home", "<p>Welcome</p>"), [("Set-Cookie", "sid=ok")])
        return Resp(200, login_page(message="Login failed"))

    return handle


async def test_429_with_retry_after_is_throttled_after_one_wait(address: str) -> None:
    handler = failing_form(lambda n: Resp(429, "slow down", [("Retry-After", "1")]))
    async with serving(handler, address) as srv:
        started = time.monotonic()
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
        elapsed = time.monotonic() - started
    assert outcomes(run) == [Outcome.THROTTLED]  # and the run stopped
    assert "Retry-After 1" in run.attempts[0].detail
    assert elapsed >= 1.0
    assert len([r for r in srv.requests if r.method == "POST"]) == 3  # control + 2 tries


async def test_429_once_is_waited_out(address: str) -> None:
    handler = failing_form(lambda n: Resp(429, "", [("Retry-After", "1")]) if n == 1 else None)
    async with serving(handler, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]


async def test_long_retry_after_is_not_waited(address: str) -> None:
    handler = failing_form(lambda n: Resp(503, "", [("Retry-After", "3600")]))
    async with serving(handler, address) as srv:
        run = await asyncio.wait_for(
            login_http.try_logins(device(address), srv.service, [WRONG, RIGHT]), 5
        )
    assert outcomes(run) == [Outcome.THROTTLED]


async def test_lock_message_is_locked(address: str) -> None:
    locked = Resp(200, page("Login", "<p>Account locked: too many failed attempts</p>"))
    async with serving(failing_form(lambda n: locked if n >= 2 else None), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, WRONG, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED, Outcome.LOCKED]


async def test_lock_warning_on_the_login_page_is_not_a_lock(address: str) -> None:
    warning = "The account will be locked after 5 failed attempts."

    def handle(req: Req) -> Resp:
        if req.method == "POST" and req.form().get("password") == RIGHT.password:
            return Resp(302, "", [("Location", "/home"), ("Set-Cookie", "sid=1")])
        return Resp(200, login_page(message=warning))

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]


async def test_dropped_connection_is_retried_not_rejected(address: str) -> None:
    dropped: set[str] = set()
    base = failing_form(lambda n: None)

    def handle(req: Req) -> Resp | None:
        if req.method == "POST" and req.form().get("password") not in dropped:
            password = req.form().get("password", "")
            if password in (WRONG.password, RIGHT.password):
                dropped.add(password)
                return None  # hang up without an answer
        return base(req)

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]


async def test_redirect_to_another_host_is_not_followed(address: str) -> None:
    other_host = address.replace("127.0.36.", "127.0.37.")
    async with serving(lambda req: Resp(200, page("Other", "<p>x</p>")), other_host) as other:
        target = f"http://{other_host}:{other.port}/welcome"

        def handle(req: Req) -> Resp:
            if req.method == "POST" and req.form().get("password") == RIGHT.password:
                return Resp(302, "", [("Location", target)])
            return Resp(200, login_page(message="Login failed"))

        async with serving(handle, address) as srv:
            run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert other.requests == []
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert "leaves the device; not followed" in run.attempts[1].detail


async def test_redirect_from_root_to_another_host_is_not_followed(address: str) -> None:
    other_host = address.replace("127.0.36.", "127.0.37.")
    async with serving(lambda req: Resp(200, login_page()), other_host) as other:
        target = f"http://{other_host}:{other.port}/login"
        async with serving(lambda req: Resp(302, "", [("Location", target)]), address) as srv:
            run = await login_http.try_logins(device(address), srv.service, [RIGHT])
    assert other.requests == []
    assert run.attempts == ()
    assert "no login surface found" in run.note


async def test_password_echoed_by_the_device_never_reaches_a_detail(address: str) -> None:
    def handle(req: Req) -> Resp:
        if req.method == "GET" and req.path == "/":
            return Resp(200, login_page())
        if req.method == "POST":
            pw = req.form().get("password", "")
            if pw == RIGHT.password:
                loc = f"/home?pw={pw}"
                return Resp(302, f"ok {pw}", [("Location", loc), ("Set-Cookie", f"x{pw}=1")])
            return Resp(302, f"bad {pw}", [("Location", f"/?error=1&pw={pw}")])
        if req.path == "/home":
            return Resp(200, page("Home", f"<p>Welcome, your password is {req.query['pw']}</p>"))
        return Resp(200, login_page(message=f"Invalid password {req.query.get('pw', '')}"))

    creds = [WRONG, Credential("root", "r00t pw&x", "t"), RIGHT]
    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, creds)
    assert outcomes(run)[-1] is Outcome.ACCEPTED
    assert_no_password(run, RIGHT.password, WRONG.password, "r00t pw&x", "r00t+pw", "r00t%20pw")


# --- JSON API -------------------------------------------------------------------------------


def json_handler(script_inline: bool = True) -> Handler:
    script = """<script>
    function login(u, p) {
      fetch("/api/login", {method: "POST", body: JSON.stringify({username: u, password: p})})
        .then(r => r.json());
    }</script>"""

    def handle(req: Req) -> Resp:
        if req.method == "GET" and req.path == "/":
            inner = script if script_inline else '<script src="/static/app.js"></script>'
            return Resp(200, page("App", f"<div id='app'></div>{inner}"))
        if req.method == "GET" and req.path == "/static/app.js":
            return Resp(200, script.removeprefix("<script>").removesuffix("</script>"))
        if req.method == "POST" and req.path == "/api/login":
            assert req.headers["content-type"] == "application/json"
            doc = json.loads(req.body)
            if (doc["username"], doc["password"]) == (RIGHT.username, RIGHT.password):
                body = json.dumps({"success": True, "token": "tok"})
                return Resp(200, body, [("Content-Type", "application/json")])
            body = json.dumps({"success": False, "error": "invalid credentials"})
            return Resp(200, body, [("Content-Type", "application/json")])
        return Resp(404, "")

    return handle


@pytest.mark.parametrize("inline", [True, False])
async def test_json_api(address: str, inline: bool) -> None:
    async with serving(json_handler(inline), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert run.method == "http json POST /api/login"
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert "JSON success" in run.attempts[1].detail
    assert_no_password(run, RIGHT.password, WRONG.password)


async def test_json_api_that_says_ok_to_anything_is_no_oracle(address: str) -> None:
    def handle(req: Req) -> Resp:
        if req.method == "GET":
            return Resp(200, "<script>axios.post('/login', {u, p})</script>")
        return Resp(200, '{"ok": true}', [("Content-Type", "application/json")])

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [RIGHT])
    assert run.control is not None
    assert run.control.outcome is Outcome.ACCEPTED
    assert run.attempts == ()


async def test_no_login_surface(address: str) -> None:
    async with serving(lambda req: Resp(200, page("Hi", "<p>status page</p>")), address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [RIGHT])
    assert run.attempts == ()
    assert run.control is None
    assert run.note.startswith("no login surface found")


async def test_bounded_body(address: str) -> None:
    huge = "x" * (2 * MAX_BODY)

    def handle(req: Req) -> Resp:
        if req.method == "GET":
            return Resp(200, login_page() + huge)
        if req.form().get("password") == RIGHT.password:
            return Resp(200, huge, [("Set-Cookie", "sid=1")])
        return Resp(200, login_page(message="Login failed") + huge)

    async with serving(handle, address) as srv:
        run = await login_http.try_logins(device(address), srv.service, [WRONG, RIGHT])
    assert outcomes(run) == [Outcome.REJECTED, Outcome.ACCEPTED]
