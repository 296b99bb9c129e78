"""The device's web interface: pages and login logic, free of any socket code.

`http.py` feeds it parsed requests; keeping the two apart lets the pages be read (and
changed) without wading through h11 state handling.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from lab.personality import Personality, ServiceSpec

SESSION_COOKIE = "session"


@dataclass(frozen=True, slots=True)
class WebRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class WebResponse:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/html; charset=utf-8"


@dataclass(slots=True)
class WebApp:
    """One web interface: a login form or Basic auth in front of a welcome page."""

    spec: ServiceSpec
    personality: Personality
    csrf_token: str = field(default_factory=lambda: secrets.token_hex(16))
    sessions: set[str] = field(default_factory=set)

    def respond(self, request: WebRequest) -> WebResponse:
        if self.spec.login == "basic":
            return self._basic(request)
        if request.path in ("/", "/index.html", "/login") and request.method in ("GET", "HEAD"):
            if self.spec.login == "form" and not self._has_session(request):
                return WebResponse(200, self._form_page())
            return WebResponse(200, self._welcome_page())
        if request.path == "/login" and request.method == "POST" and self.spec.login == "form":
            return self._form_login(request)
        if request.path in ("/", "/login"):
            return WebResponse(405, self._page("Method Not Allowed", "<p>Method not allowed</p>"))
        return WebResponse(404, self._page("Not Found", "<p>Not found</p>"))

    def _form_login(self, request: WebRequest) -> WebResponse:
        fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        token = fields.get("csrf_token", [""])[0]
        if not secrets.compare_digest(token, self.csrf_token):
            return WebResponse(403, self._page("Forbidden", "<p>Invalid CSRF token</p>"))
        username = fields.get("username", [""])[0]
        password = fields.get("password", [""])[0]
        if not self.personality.check_login(username, password):
            # 200, as many devices answer: the scanner must read the page, not the status.
            return WebResponse(200, self._page(self.spec.title, "<p>Login failed</p>"))
        session = secrets.token_hex(16)
        self.sessions.add(session)
        cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly"
        return WebResponse(200, self._welcome_page(), headers=(("Set-Cookie", cookie),))

    def _basic(self, request: WebRequest) -> WebResponse:
        credentials = _basic_credentials(request.headers.get("authorization", ""))
        if credentials is None or not self.personality.check_login(*credentials):
            realm = self.spec.title.replace('"', "'")
            return WebResponse(
                401,
                self._page("Unauthorized", "<p>Authorization required</p>"),
                headers=(("WWW-Authenticate", f'Basic realm="{realm}"'),),
            )
        if request.path not in ("/", "/index.html"):
            return WebResponse(404, self._page("Not Found", "<p>Not found</p>"))
        return WebResponse(200, self._welcome_page())

    def _has_session(self, request: WebRequest) -> bool:
        for part in request.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value in self.sessions:
                return True
        return False

    def _form_page(self) -> str:
        form = (
            '<form method="post" action="/login">\n'
            f'<input type="hidden" name="csrf_token" value="{self.csrf_token}">\n'
            '<label>User <input type="text" name="username"></label>\n'
            '<label>Password <input type="password" name="password"></label>\n'
            '<input type="submit" value="Log in">\n'
            "</form>"
        )
        return self._page(self.spec.title, form)

    def _welcome_page(self) -> str:
        return self._page(self.spec.title, "<p>Welcome</p>")

    def _page(self, title: str, body: str) -> str:
        safe = html.escape(title)
        return (
            "<!DOCTYPE html>\n<html><head><title>"
            f"{safe}</title></head>\n<body><h1>{safe}</h1>\n{body}\n</body></html>\n"
        )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None
