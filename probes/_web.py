"""HTML and cookie reading shared by the web probes: links, GET forms, Set-Cookie lines.

Device pages are hostile input: they are read by scanner/html_reader.py (no scripts run),
every list is bounded, and nothing here trusts a URL to stay on the device — callers check
`on_service` before fetching.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from scanner.errors import ScopeError
from scanner.html_reader import read_html
from scanner.http_exchange import Throttled, exchange, follow

MAX_LINKS = 200  # links, and GET forms, kept of one page
#: Input types a GET form is replayed with (their default values).
_FILLED = frozenset({"text", "search", "hidden", "email", "number", "url"})
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


def read_page(base: str, body: bytes) -> tuple[list[Link], list[GetForm]]:
    """The links and GET forms (without a password input) of an HTML page; only those
    closed by their own end tag, as links and forms an unsure reading would invent are
    worth no request."""
    page = read_html(body.decode("utf-8", "replace"))
    links: list[Link] = []
    for link in page.links:
        if link.closed and len(links) < MAX_LINKS:
            with contextlib.suppress(ValueError):
                links.append(Link(urljoin(base, link.href), link.text[:200]))
    forms: list[GetForm] = []
    for form in page.forms:
        if not form.closed or form.method != "GET" or len(forms) >= MAX_LINKS:
            continue
        if any(i.type == "password" for i in form.inputs):
            continue  # a login: never replayed
        fields = tuple(
            (i.name, i.value) for i in form.inputs if i.name and (i.type or "text") in _FILLED
        )
        if fields:
            with contextlib.suppress(ValueError):
                forms.append(GetForm(urljoin(base, form.action), fields))
    return links, forms


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


@dataclass(frozen=True, slots=True)
class Page:
    """Where a GET ended, after the redirects that stay on the device."""

    url: str
    status: int
    body: bytes

    @property
    def content(self) -> bool:
        """Looks like the page itself: 200 after redirects and no login form."""
        return self.status == 200 and PASSWORD_INPUT.search(self.body) is None


async def fetch_page(
    client: httpx.AsyncClient, url: str, address: str, headers: dict[str, str]
) -> Page | str:
    """GET `url` and its redirects on the device; why not, as a short text, when it fails."""
    try:
        chain = await follow(client, await exchange(client, "GET", url, headers=headers), address)
    except Throttled as exc:
        return f"HTTP {exc.status} (throttled)"
    except ScopeError:
        return "the request would leave the device"
    except (httpx.HTTPError, OSError) as exc:
        return type(exc).__name__
    return Page(str(chain.final.url), chain.final.status, chain.final.body)
