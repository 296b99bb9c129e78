"""The device's web interface: pages and login logic, free of any socket code.

`http.py` feeds it parsed requests; keeping the two apart lets the pages be read (and
changed) without wading through h11 state handling.

Login styles (`login:`): `form` (CSRF-protected form, session cookie), `basic`, `digest`
(RFC 7616), `json` (a script POSTs JSON to /api/login and gets a token), `always-200` (a
form that welcomes any credentials: a trap for scanners without a control login) and
`none`. Every checked login goes through the device's shared `AuthState`, so lockouts and
throttles span protocols.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

from lab.auth import AuthResult, AuthState
from lab.servers.digest import DigestAuth
from lab.servers.echo import b64, echoes, header_safe

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import Personality, ServiceSpec

SESSION_COOKIE = "session"
#: Sessions and tokens remembered per web interface; the oldest are forgotten first.
MAX_SESSIONS = 1024
_ROOT_PATHS = ("/", "/index.html", "/login")


@dataclass(frozen=True, slots=True)
class WebRequest:
    method: str
    path: str  # without the query
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes = b""
    source: str = ""  # the client's address
    query: str = ""  # the raw query string, after "?"


@dataclass(frozen=True, slots=True)
class WebResponse:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/html; charset=utf-8"


@dataclass(slots=True)
class WebApp:
    """One web interface: a login of the spec's style in front of a welcome page."""

    spec: ServiceSpec
    personality: Personality
    auth: AuthState | None = None  # None: a private state (tests that build a bare WebApp)
    csrf_token: str = field(default_factory=lambda: secrets.token_hex(16))
    sessions: dict[str, None] = field(default_factory=dict)  # logged-in session IDs
    anonymous: dict[str, None] = field(default_factory=dict)  # handed out before a login
    digest: DigestAuth | None = None
    host: str = "localhost"  # the device's address, for absolute URLs it writes
    clock: Callable[[], float] = time.monotonic
    #: logged-in session -> (login time, last request): idle_timeout and absolute_timeout
    session_times: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: echo_secrets: logged-in session -> the (username, password) it logged in with
    given: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.spec.login == "digest":
            self.digest = DigestAuth(self.spec.title)

    @property
    def state(self) -> AuthState:
        if self.auth is None:
            self.auth = AuthState(self.personality)
        return self.auth

    def respond(self, request: WebRequest) -> WebResponse:
        if self.spec.location:
            # Hostile firmware (fault-malformed-location): every answer a 302 to this exact,
            # possibly malformed, Location.
            return WebResponse(302, "", (("Location", self.spec.location),))
        if self.spec.redirect_to:
            # Plain HTTP that only sends everyone to HTTPS on the same device.
            host = request.headers.get("host", "").rsplit(":", 1)[0] or "localhost"
            target = f"https://{host}:{self.spec.redirect_to}{request.path}"
            return WebResponse(301, "", (("Location", target),))
        response = self._respond(request)
        if self.spec.hsts:
            response = replace(
                response,
                headers=(*response.headers, ("Strict-Transport-Security", self.spec.hsts)),
            )
        return response

    def _respond(self, request: WebRequest) -> WebResponse:
        login = self.spec.login
        if login in ("basic", "digest"):
            return self._challenge_auth(request)
        if login == "json":
            return self._json(request)
        if login == "always-200":
            return self._always_200(request)
        path = request.path
        get = request.method in ("GET", "HEAD")
        if path == "/search" and get and self.spec.search != "none":
            return WebResponse(200, self._search_page(request.query))
        if path in _ROOT_PATHS and get:
            if login == "form" and not self._has_session(request):
                return self._anonymous_form_page(request)
            return WebResponse(200, self._welcome_page())
        if login != "form":
            return self._not_here(request)
        if path == "/home" and get:
            if self._has_session(request):
                return WebResponse(200, self._welcome_page(self._given(request)))
            return WebResponse(302, "", (("Location", "/"),))
        if path == "/status" and get and self.personality.echo_secrets:
            given = self._given(request) if self._has_session(request) else None
            if given is None:
                return WebResponse(302, "", (("Location", "/"),))
            return WebResponse(200, self._page(self.spec.title, f"<p>pw {given[1][:6]}</p>"))
        if path == "/admin" and get:
            if self.spec.admin == "open" or self._has_session(request):
                return WebResponse(200, self._admin_page())
            return WebResponse(302, "", (("Location", "/"),))
        if path == "/logout" and get and self.spec.logout != "none":
            if self.spec.logout == "invalidates":
                for session in self._cookie_sessions(request):
                    self.sessions.pop(session, None)
            expire = ("Set-Cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0")
            return WebResponse(302, "", (("Location", "/"), expire))
        if request.path == "/login" and request.method == "POST":
            return self._form_login(request)
        return self._not_here(request)

    def _anonymous_form_page(self, request: WebRequest) -> WebResponse:
        """The login form; like most devices, it hands out a (not yet logged-in) session."""
        known = [s for s in self._cookie_sessions(request) if s in self.anonymous]
        if known:
            return WebResponse(200, self._form_page())
        session = _remember(self.anonymous, secrets.token_hex(16))
        cookie = ("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/{self._cookie_attributes()}")
        return WebResponse(200, self._form_page(), headers=(cookie,))

    def _cookie_attributes(self) -> str:
        return f"; {self.spec.cookie}" if self.spec.cookie else ""

    # --- form ------------------------------------------------------------------------------

    def _form_login(self, request: WebRequest) -> WebResponse:
        fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        token = fields.get("csrf_token", [""])[0]
        if not secrets.compare_digest(token.encode(), self.csrf_token.encode()):
            return WebResponse(403, self._page("Forbidden", "<p>Invalid CSRF token</p>"))
        username = fields.get("username", [""])[0]
        password = fields.get("password", [""])[0]
        result = self.state.attempt("http", username, password, request.source)
        if result is AuthResult.THROTTLED:
            return self._too_many(request)
        if result is AuthResult.LOCKED:
            message = "Account locked: too many failed logins. Try again later."
            return WebResponse(200, self._form_page(message))
        if result is AuthResult.REJECTED:
            # 200, as many devices answer: the scanner must read the page, not the status.
            return WebResponse(200, self._form_page("Login failed: Invalid username or password"))
        anonymous = [s for s in self._cookie_sessions(request) if s in self.anonymous]
        if self.spec.fixation and anonymous:
            # The flaw: the ID the browser had before the login now opens the session.
            session = self._start_session(anonymous[0])
        else:
            session = self._new_session()
        for old in anonymous:
            self.anonymous.pop(old, None)
        cookie = ("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/{self._cookie_attributes()}")
        if self.personality.echo_secrets:
            return self._echo_login(session, username, password, cookie)
        if self.spec.form_success == "redirect" or self.spec.session_in_url:
            home = f"/home?sid={session}" if self.spec.session_in_url else "/home"
            return WebResponse(302, "", (("Location", home), cookie))
        return WebResponse(200, self._welcome_page(), headers=(cookie,))

    def _echo_login(
        self, session: str, username: str, password: str, cookie: tuple[str, str]
    ) -> WebResponse:
        """Hostile firmware (echo_secrets): the login's password goes into the landing URL's
        query (plain, percent-encoded, base64) and into two cookies, and the session keeps
        it for the pages behind the login."""
        self.given[session] = (username, password)
        if len(self.given) > MAX_SESSIONS:  # forgotten or logged-out sessions
            self.given = {k: v for k, v in self.given.items() if k in self.sessions}
        user, pw = quote(username), quote(password, safe="")
        remember = b64(f"{username}:{password}")
        return WebResponse(
            302,
            "",
            (
                ("Location", f"/home?user={user}&pw={pw}&k={b64(password)}"),
                cookie,
                ("Set-Cookie", f"remember={remember}; Path=/"),
                ("Set-Cookie", f"hint={header_safe(password.upper()[:6])}; Path=/"),
            ),
        )

    def _given(self, request: WebRequest) -> tuple[str, str] | None:
        """echo_secrets: the login a request's live session was opened with."""
        for session in self._cookie_sessions(request):
            if session in self.sessions and session in self.given:
                return self.given[session]
        return None

    # --- always-200 ------------------------------------------------------------------------

    def _always_200(self, request: WebRequest) -> WebResponse:
        if request.path in _ROOT_PATHS and request.method in ("GET", "HEAD"):
            return WebResponse(200, self._form_page(csrf=False))  # the cookie never opens it
        if request.path == "/login" and request.method == "POST":
            # Any credentials "work": a fresh cookie every time, remembered nowhere.
            cookie = f"{SESSION_COOKIE}={secrets.token_hex(16)}; Path=/; HttpOnly"
            return WebResponse(200, self._welcome_page(), headers=(("Set-Cookie", cookie),))
        return self._not_here(request)

    # --- basic and digest --------------------------------------------------------------------

    def _challenge_auth(self, request: WebRequest) -> WebResponse:
        retry = self.state.retry_after(request.source)
        if retry is not None:
            return self._too_many(request, retry)
        header = request.headers.get("authorization", "")
        if self.digest is not None:
            result = self._digest_login(request, header, self.digest)
        else:
            credentials = basic_credentials(header)
            result = (
                None
                if credentials is None
                else self.state.attempt("http", *credentials, request.source)
            )
        if result is AuthResult.THROTTLED:
            return self._too_many(request)
        if result is AuthResult.LOCKED:
            body = self._page("Forbidden", "<p>Account locked</p>")
            return WebResponse(403, body)
        if result is not AuthResult.ACCEPTED:
            return WebResponse(
                401,
                self._page("Unauthorized", "<p>Authorization required</p>"),
                headers=self._challenges(),
            )
        if request.path not in ("/", "/index.html"):
            return WebResponse(404, self._page("Not Found", "<p>Not found</p>"))
        return WebResponse(200, self._welcome_page())

    def _digest_login(
        self, request: WebRequest, header: str, digest: DigestAuth
    ) -> AuthResult | None:
        answer = digest.credentials(header)
        if answer is None:
            return None
        username, params = answer
        correct = digest.verify(params, request.method, self.personality.accounts)
        return self.state.attempt("http", username, "", request.source, correct=correct)

    def _challenges(self) -> tuple[tuple[str, str], ...]:
        if self.digest is not None:
            return tuple(("WWW-Authenticate", c) for c in self.digest.challenges())
        realm = self.spec.title.replace('"', "'")
        return (("WWW-Authenticate", f'Basic realm="{realm}"'),)

    # --- json --------------------------------------------------------------------------------

    def _json(self, request: WebRequest) -> WebResponse:
        if request.path in _ROOT_PATHS and request.method in ("GET", "HEAD"):
            return WebResponse(200, self._json_page())
        if request.path == "/api/login" and request.method == "POST":
            return self._json_login(request)
        if request.path == "/api/status" and request.method == "GET":
            token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if token and self._alive(token):
                return _json_response(200, {"ok": True, "device": self.personality.title})
            return _json_response(401, {"ok": False, "error": "not logged in"})
        if request.path.startswith("/api/"):
            return _json_response(404, {"ok": False, "error": "not found"})
        return self._not_here(request)

    def _json_login(self, request: WebRequest) -> WebResponse:
        retry = self.state.retry_after(request.source)
        if retry is not None:
            return self._too_many(request, retry)
        if "json" not in request.headers.get("content-type", ""):
            return _json_response(415, {"ok": False, "error": "expected application/json"})
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return _json_response(400, {"ok": False, "error": "malformed JSON"})
        username = data.get("username") if isinstance(data, dict) else None
        password = data.get("password") if isinstance(data, dict) else None
        if not isinstance(username, str) or not isinstance(password, str):
            return _json_response(400, {"ok": False, "error": "username and password required"})
        result = self.state.attempt("http", username, password, request.source)
        if result is AuthResult.THROTTLED:
            return self._too_many(request)
        if result is AuthResult.LOCKED:
            return _json_response(403, {"ok": False, "error": "account locked"})
        if result is AuthResult.REJECTED:
            return _json_response(401, {"ok": False, "error": "invalid credentials"})
        return _json_response(200, {"ok": True, "token": self._new_session()})

    def _json_page(self) -> str:
        # The inputs sit in a <form> with neither action nor method: submitting it without
        # the script only reloads this page. The login endpoint appears only in the script.
        script = (
            "<script>\n"
            "function login(event) {\n"
            "  event.preventDefault();\n"
            '  const username = document.getElementById("username").value;\n'
            '  const password = document.getElementById("password").value;\n'
            '  fetch("/api/login", {method: "POST", '
            'headers: {"Content-Type": "application/json"}, '
            "body: JSON.stringify({username: username, password: password})})\n"
            "    .then(r => r.json())\n"
            '    .then(d => { if (d.ok) { localStorage.setItem("token", d.token); '
            'location.href = "/#/dashboard"; } else { '
            'document.getElementById("error").textContent = d.error; } });\n'
            "  return false;\n"
            "}\n"
            "</script>"
        )
        body = (
            '<div id="app">\n<form id="login-form" onsubmit="return login(event)">\n'
            '<label>User <input type="text" id="username" name="username"></label>\n'
            '<label>Password <input type="password" id="password" name="password"></label>\n'
            '<button type="submit">Log in</button>\n</form>\n'
            '<p id="error"></p>\n</div>\n' + script
        )
        return self._page(self.spec.title, body)

    # --- shared ------------------------------------------------------------------------------

    def _too_many(self, request: WebRequest, retry: int | None = None) -> WebResponse:
        wait = retry or self.state.retry_after(request.source) or 1
        headers = (("Retry-After", str(wait)),)
        if self.spec.login == "json":
            error = {"ok": False, "error": "too many attempts"}
            return WebResponse(429, json.dumps(error), headers, "application/json")
        body = self._page("Too Many Requests", "<p>Too many failed logins. Try again later.</p>")
        return WebResponse(429, body, headers)

    def _not_here(self, request: WebRequest) -> WebResponse:
        if request.path in _ROOT_PATHS:
            return WebResponse(405, self._page("Method Not Allowed", "<p>Method not allowed</p>"))
        if self.spec.not_found == "reflected":
            # The hostile firmware's bug on purpose: the path, percent-decoded as a server
            # reads it, unescaped in the page.
            page = self._page("Not Found", f"<p>{urllib.parse.unquote(request.path)} not found</p>")
            return WebResponse(404, page)
        return WebResponse(404, self._page("Not Found", "<p>Not found</p>"))

    def _new_session(self) -> str:
        return self._start_session(secrets.token_hex(16))

    def _start_session(self, session: str) -> str:
        """A logged-in session; with `max_sessions`, the oldest beyond it end now."""
        now = self.clock()
        _remember(self.sessions, session)
        self.session_times[session] = (now, now)
        while self.spec.max_sessions and len(self.sessions) > self.spec.max_sessions:
            oldest = next(iter(self.sessions))
            del self.sessions[oldest]
            self.session_times.pop(oldest, None)
        if len(self.session_times) > MAX_SESSIONS:  # forgotten or logged-out sessions
            self.session_times = {k: v for k, v in self.session_times.items() if k in self.sessions}
        return session

    def _alive(self, session: str) -> bool:
        """Whether `session` is logged in and within its timers; a request refreshes it."""
        if session not in self.sessions:
            return False
        now = self.clock()
        started, seen = self.session_times.get(session, (now, now))
        idle, absolute = self.spec.idle_timeout, self.spec.absolute_timeout
        if (idle and now - seen > idle) or (absolute and now - started > absolute):
            del self.sessions[session]
            self.session_times.pop(session, None)
            return False
        self.session_times[session] = (started, now)
        return True

    @staticmethod
    def _cookie_sessions(request: WebRequest) -> list[str]:
        values = []
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value:
                values.append(value)
        return values

    def _has_session(self, request: WebRequest) -> bool:
        if any(self._alive(s) for s in self._cookie_sessions(request)):
            return True
        if self.spec.session_in_url:
            query = parse_qs(request.query)
            return any(self._alive(s) for s in query.get("sid", []))
        return False

    def _form_page(self, message: str = "", *, csrf: bool = True) -> str:
        hidden = (
            f'<input type="hidden" name="csrf_token" value="{self.csrf_token}">\n' if csrf else ""
        )
        error = f'<p class="error">{html.escape(message)}</p>\n' if message else ""
        if self.spec.notice:
            error = f'<p class="notice">{html.escape(self.spec.notice)}</p>\n{error}'
        action = "/login"
        if self.spec.form_action == "http":  # an HTTPS page that posts to plain HTTP
            action = f"http://{self.host}/login"
        form = (
            f'{error}<form method="post" action="{action}">\n{hidden}'
            '<label>User <input type="text" name="username"></label>\n'
            '<label>Password <input type="password" name="password"></label>\n'
            '<input type="submit" value="Log in">\n'
            "</form>"
        )
        return self._page(self.spec.title, form + self._search_form())

    def _welcome_page(self, given: tuple[str, str] | None = None) -> str:
        if given is not None:
            # Hostile firmware (echo_secrets): the password, in every form, raw in the page
            # as such firmware writes it (the user's name is escaped: only the secret matters).
            user, password = given
            return self._page(
                f"Welcome {user}",
                f"<p>Your password is {echoes(password)}</p>\n"
                '<p><a href="/status">Status</a> | <a href="/logout">Log out</a></p>',
            )
        links = ""
        if self.spec.login == "form":
            links = '\n<p><a href="/admin">Settings</a>'
            if self.spec.logout != "none":
                links += ' | <a href="/logout">Log out</a>'
            links += "</p>"
        return self._page(self.spec.title, f"<p>Welcome</p>{links}{self._search_form()}")

    def _admin_page(self) -> str:
        body = (
            "<h2>Device settings</h2>\n<table><tr><th>Serial number</th><td>"
            f"{html.escape(self.personality.name.upper())}-0042</td></tr>\n"
            "<tr><th>Remote access</th><td>enabled</td></tr></table>"
        )
        return self._page(f"{self.spec.title}: settings", body)

    def _search_form(self) -> str:
        if self.spec.search == "none":
            return ""
        return (
            '\n<form method="get" action="/search"><input type="text" name="q">'
            '<input type="submit" value="Search"></form>'
        )

    def _search_page(self, query: str) -> str:
        term = parse_qs(query).get("q", [""])[0]
        # The flaw on purpose for "reflected": the term goes into the page unescaped.
        shown = term if self.spec.search == "reflected" else html.escape(term)
        return self._page("Search", f"<p>No results for {shown}</p>{self._search_form()}")

    def _page(self, title: str, body: str) -> str:
        safe = html.escape(title)
        return (
            "<!DOCTYPE html>\n<html><head><title>"
            f"{safe}</title></head>\n<body><h1>{safe}</h1>\n{body}\n</body></html>\n"
        )


def _remember(store: dict[str, None], session: str) -> str:
    store[session] = None
    while len(store) > MAX_SESSIONS:
        del store[next(iter(store))]
    return session


def _json_response(status: int, data: dict[str, object]) -> WebResponse:
    return WebResponse(status, json.dumps(data), content_type="application/json")


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None
