"""Reading a web app's scripts for its login request, when no browser can submit one.

Pure functions over page and script text. A login endpoint is a string literal that looks
like a path to a login or token resource and stands next to a POST (`type:"POST"`,
`method: 'post'`, `.post(`); the nearest such literal wins. Fixed OAuth2 fields
(`client_id`, `grant_type`, `scope`, `audience`) and the names of the user and password
fields are read from the text around it. Nothing is returned without an endpoint: the
fallback never invents one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from probes._login.surface_request import FORM, JSON
from scanner.html_reader import MAX_HTML, read_html

MAX_SCRIPTS = 12  # <script> elements read per page
WINDOW = 800  # characters around an endpoint searched for its fields
POST_DISTANCE = 800  # how far from a POST marker a literal may stand

_LITERAL = re.compile(r"""(["'`])(/?(?:[\w.~-]+/)*[\w.~-]+/?)\1""")
_LOGIN_SEGMENT = re.compile(
    r"(?:^|/)(?:log-?in|sign-?in|log-?on|authenticate|auth|token|oauth2?/token|sessions?)"
    r"(?:\.(?:json|php|cgi|asp|aspx|lua))?/?$",
    re.IGNORECASE,
)
_STATIC = re.compile(r"\.(?:html?|js|mjs|css|png|svg|gif|jpe?g|ico|woff2?|ttf|map)$", re.I)
_POST = re.compile(
    r"""(?:["'`]POST["'`]|\.post(?:Json|Form)?\s*\(|method\s*[:=]\s*["'`]post["'`])""",
    re.IGNORECASE,
)
_FIXED = ("client_id", "grant_type", "scope", "audience")
_USER_KEYS = ("username", "userName", "user_name", "user", "login", "email", "account")
_PASSWORD_KEYS = ("password", "passwd", "passphrase", "passwort", "pass", "pwd", "secret")


@dataclass(frozen=True, slots=True)
class ScriptLogin:
    """A login request as a script writes it; `path` is as written (maybe relative)."""

    path: str
    method: str
    content_type: str
    username_field: str
    password_field: str
    extra_fields: tuple[tuple[str, str], ...] = ()


def page_scripts(html: str, limit: int = MAX_HTML) -> tuple[list[str], list[str]]:
    """The `src` of each script of a page (as written) and the text of its inline scripts,
    from its first `limit` characters; JSON data blocks and templates are not code."""
    scripts = [s for s in read_html(html, limit).scripts if s.javascript]
    sources = [s.src for s in scripts if s.src][:MAX_SCRIPTS]
    inline = [s.code for s in scripts if s.code.strip()][:MAX_SCRIPTS]
    return sources, inline


def find_script_login(text: str) -> ScriptLogin | None:
    """The login request a script makes, or None when none stands out."""
    posts = [m.start() for m in _POST.finditer(text)]
    if not posts:
        return None
    best: tuple[int, re.Match[str]] | None = None
    for m in _LITERAL.finditer(text):
        path = m.group(2)
        if not _LOGIN_SEGMENT.search(path) or _STATIC.search(path) or "logout" in path.lower():
            continue
        if "/" not in path and not _is_url_argument(text, m.start()):
            continue  # a bare word ("login", "token") is a URL only where a URL is expected
        distance = min(abs(p - m.start()) for p in posts)
        if distance <= POST_DISTANCE and (best is None or distance < best[0]):
            best = (distance, m)
    if best is None:
        return None
    match = best[1]
    window = text[max(0, match.start() - WINDOW) : match.end() + WINDOW]
    extra = tuple(
        (key, value) for key in _FIXED if (value := _nearest_value(window, key)) is not None
    )
    oauth = any(k == "grant_type" and v == "password" for k, v in extra)
    if oauth:
        # RFC 6749 4.3.2 names the fields of the password grant, form-encoded
        user, password, ctype = "username", "password", FORM
    else:
        user = _nearest_key(window, _USER_KEYS) or "username"
        password = _nearest_key(window, _PASSWORD_KEYS) or "password"
        ctype = _content_type(window)
    return ScriptLogin(match.group(2), "POST", ctype, user, password, extra)


_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}/[^"'\s]+\.m?js)["']""")


def module_imports(text: str) -> list[str]:
    """Relative ES module specifiers a script imports (`from "./chunk.js"`, `import("./x.js")`)."""
    return list(dict.fromkeys(m.group(1) for m in _IMPORT.finditer(text)))


def full_path(path: str, texts: list[str]) -> str:
    """`path` with the prefix the scripts put before it elsewhere, when they write the whole
    path once (an API client posts "/auth/login" to its base, and another line names
    "/api/auth/login"): that path when the scripts write exactly one, else `path` itself."""
    if not path.startswith("/"):
        return path
    pattern = re.compile(r"((?:/[\w.~-]+)+)" + re.escape(path) + r"""(?=["'`?])""")
    longer = {m.group(1) + path for text in texts for m in pattern.finditer(text)}
    return longer.pop() if len(longer) == 1 else path


_JSON_HINT = re.compile(r"JSON\.stringify|application/json|postJson")
_FORM_HINT = re.compile(
    r"URLSearchParams|x-www-form-urlencoded|FormData|\$\.(?:ajax|post)\b|jQuery\.(?:ajax|post)\b"
)


def _content_type(window: str) -> str:
    """JSON when the code says so; a form when it says so or uses jQuery (whose default it
    is); otherwise JSON, the default of fetch-with-object wrappers, axios and Angular."""
    if _JSON_HINT.search(window):
        return JSON
    return FORM if _FORM_HINT.search(window) else JSON


_BASE = re.compile(r"""<base\s[^>]*href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def base_href(html: str) -> str:
    """The page's `<base href>`, or ""."""
    m = _BASE.search(html[:65536])
    return m.group(1) if m else ""


def _is_url_argument(text: str, at: int) -> bool:
    before = text[max(0, at - 24) : at]
    return bool(re.search(r"(?:url\s*[:=]|fetch\s*\(|\.post\s*\(|\.open\s*\([^,]*,)\s*$", before))


def _nearest_value(window: str, key: str) -> str | None:
    """The string a key is given in an object literal or assignment (`client_id: "x"`)."""
    pattern = re.compile(rf"""["']?\b{re.escape(key)}["']?\s*[:=]\s*(["'`])([^"'`\n]{{0,100}})\1""")
    centre = len(window) // 2
    found = [(abs(m.start() - centre), m.group(2)) for m in pattern.finditer(window)]
    return min(found)[1] if found else None


def _nearest_key(window: str, keys: tuple[str, ...]) -> str | None:
    """The first of `keys` used as an object key, form-data name or input name nearby."""
    for key in keys:
        if re.search(
            rf"""(?:["']?\b{key}["']?\s*:(?!:)|\.append\(\s*["']{key}["']|name=["']{key}["'])""",
            window,
        ):
            return key
    return None
