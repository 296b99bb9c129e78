"""HTML and cookie reading shared by the web probes: links, GET forms, Set-Cookie lines.

Device pages are hostile input: the parser is the standard library's (no scripts run),
every list is bounded, and nothing here trusts a URL to stay on the device — callers check
`on_service` before fetching.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

MAX_LINKS = 200
MAX_COMPARE = 20_000  # bytes of each body compared for "the same page"
SAME_PAGE_RATIO = 0.9
PASSWORD_INPUT = re.compile(rb"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)
#: Query parameter names that carry secrets (case-insensitive, whole name): a URL naming one
#: puts a password or session in logs, history and Referer headers.
SECRET_PARAM = re.compile(
    r"^(pass(word|wd)?|pwd|passphrase|secret|token|access_token|auth(_?token)?|api_?key|"
    r"session(_?id)?|sid|sess|jsessionid|phpsessid|aspsessionid\w*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Link:
    url: str  # absolute
    text: str  # the anchor's text, bounded


@dataclass(frozen=True, slots=True)
class GetForm:
    action: str  # absolute
    fields: tuple[tuple[str, str], ...]  # text-like inputs and their default values


class _Collector(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[Link] = []
        self.forms: list[GetForm] = []
        self._anchor: str | None = None
        self._text: list[str] = []
        self._form: tuple[str, list[tuple[str, str]], bool] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "a" and a.get("href") and len(self.links) < MAX_LINKS:
            self._anchor, self._text = a["href"], []
        elif tag == "form":
            method = a.get("method", "get").lower()
            self._form = (a.get("action", ""), [], method == "get")
        elif tag == "input" and self._form is not None:
            kind = a.get("type", "text").lower()
            if a.get("name") and kind in ("text", "search", "hidden", "email", "number", "url"):
                self._form[1].append((a["name"], a.get("value", "")))
            elif kind == "password":
                self._form = (self._form[0], self._form[1], False)  # a login: never replayed

    def handle_data(self, data: str) -> None:
        if self._anchor is not None and sum(map(len, self._text)) < 200:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            with contextlib.suppress(ValueError):
                url = urljoin(self.base, self._anchor)
                self.links.append(Link(url, " ".join("".join(self._text).split())[:200]))
            self._anchor = None
        elif tag == "form" and self._form is not None:
            action, fields, is_get = self._form
            if is_get and fields and len(self.forms) < MAX_LINKS:
                with contextlib.suppress(ValueError):
                    self.forms.append(GetForm(urljoin(self.base, action), tuple(fields)))
            self._form = None


def read_page(base: str, body: bytes) -> tuple[list[Link], list[GetForm]]:
    """The links and GET forms (without a password input) of an HTML page."""
    collector = _Collector(base=base)
    with contextlib.suppress(Exception):  # a broken page yields what was read before
        collector.feed(body.decode("utf-8", "replace"))
        collector.close()
    return collector.links, collector.forms


@dataclass(frozen=True, slots=True)
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # lower-case attribute names; flags map to ""

    @property
    def deletion(self) -> bool:
        expires = self.attributes.get("expires", "").replace(" ", "").lower()
        return (
            not self.value
            or self.attributes.get("max-age", "").strip().startswith(("0", "-"))
            or "1970" in expires
        )

    def describe(self) -> str:
        """The cookie as evidence: its name and attributes, never its value."""
        attrs = "; ".join(f"{k}={v}" if v else k for k, v in self.attributes.items())
        return f"{self.name}=…" + (f"; {attrs}" if attrs else "")


def parse_set_cookie(line: str) -> SetCookie | None:
    first, *parts = line.split(";")
    name, sep, value = first.partition("=")
    if not sep or not name.strip():
        return None
    attributes: dict[str, str] = {}
    for part in parts[:20]:
        key, _, val = part.strip().partition("=")
        if key:
            attributes[key.strip().lower()[:32]] = val.strip()[:128]
    return SetCookie(name.strip()[:64], value.strip().strip('"'), attributes)


#: runs that look like tokens (CSRF, nonces, session IDs): they differ between two fetches
_VOLATILE = re.compile(rb"[A-Za-z0-9+/_=-]{12,}")


def same_page(a: bytes, b: bytes) -> bool:
    """Whether two answers show the same content (volatile tokens aside)."""
    if a == b:
        return True
    a, b = _VOLATILE.sub(b"~", a[:MAX_COMPARE]), _VOLATILE.sub(b"~", b[:MAX_COMPARE])
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a[:MAX_COMPARE], b[:MAX_COMPARE], autojunk=False)
    return matcher.quick_ratio() >= SAME_PAGE_RATIO and matcher.ratio() >= SAME_PAGE_RATIO
