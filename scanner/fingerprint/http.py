"""What `GET /` shows on an HTTP(S) service: status, headers, title and login forms.

HTML from a device is hostile input: it is only ever parsed (stdlib `html.parser`, never a
browser engine), the body is cut at `MAX_BODY`, and every string kept is bounded. Pages
are fetched with the scanner's one HTTP exchange (scanner/http_exchange.py): a 429/503 is
kept as a page (fingerprinting notes what answers, it does not back off), and every
request says `Connection: close`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from scanner.errors import ScopeError
from scanner.facts import HttpPage, LoginForm
from scanner.http_exchange import (
    CLOSE,
    FAILURES,
    MAX_BODY,
    MAX_URL,
    REDIRECTS,
    Answer,
    exchange,
    follow,
)
from scanner.http_location import describe_failure, malformed_location
from scanner.model import MAX_DEVICE_TEXT, bound_text

if TYPE_CHECKING:
    import httpx

    from scanner.model import Service
    from scanner.net import DeviceNetwork

#: Caps on what one page can make us keep, whatever the HTML says.
MAX_FORMS = 16
MAX_INPUTS = 64
MAX_HIDDEN = 32
MAX_LINKS = 256
#: Login links followed when the start page shows no login itself (DokuWiki's "Log In").
MAX_LOGIN_LINKS = 2
_LOGIN_LINK = re.compile(
    r"(?:\b|_)(?:log_?in|log-in|logon|sign[ _-]?in|signin|anmelden|connexion)(?:\b|_)"
    r"|do=login|ログイン|登录|登入",
    re.IGNORECASE,
)
#: Links that end a session or leave the page, never followed while looking for a login.
_NOT_LOGIN_LINK = re.compile(r"log_?out|sign[ _-]?out|logoff|register|forgot|reset", re.I)

_USERNAME_TYPES = frozenset({"", "text", "email", "tel"})
#: Elements whose text is code, not words: never part of a title.
_CODE_ELEMENTS = frozenset({"script", "style"})
_REALM = re.compile(r"""realm\s*=\s*(?:"([^"]*)"|([^\s,]+))""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedInput:
    type: str  # lower case; "" when the attribute is missing (a text input)
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ParsedForm:
    action: str  # the attribute as written (relative or absolute), bounded
    method: str  # "GET" or "POST"
    inputs: tuple[ParsedInput, ...]


@dataclass(frozen=True, slots=True)
class ParsedPage:
    title: str
    forms: tuple[ParsedForm, ...]
    links: tuple[tuple[str, str], ...] = ()  # (href as written, link text), bounded


class _PageParser(HTMLParser):
    """Collects the title and the forms' inputs; ignores everything else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self._title_len = 0
        self._in_title = False
        self._title_done = False
        self._code_depth = 0
        self.forms: list[ParsedForm] = []
        self._form: tuple[str, str] | None = None  # (action, method) of the open form
        self._inputs: list[ParsedInput] = []
        self.links: list[tuple[str, str]] = []
        self._link: tuple[str, list[str]] | None = None  # href and text of the open <a>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _CODE_ELEMENTS:
            self._code_depth += 1
        elif tag == "title" and not self._title_done:
            self._in_title = True
        elif tag == "form":
            # Unclosed forms are common in device HTML: a new <form> ends the previous one.
            self._close_form()
            values = _attrs(attrs)
            method = values.get("method", "get").strip().upper()
            self._form = (
                bound_text(values.get("action", ""), MAX_URL),
                "POST" if method == "POST" else "GET",
            )
        elif tag == "a" and len(self.links) < MAX_LINKS:
            self._close_link()
            href = _attrs(attrs).get("href", "")
            if href:
                self._link = (bound_text(href, MAX_URL), [])
        elif tag == "input" and self._form is not None and len(self._inputs) < MAX_INPUTS:
            values = _attrs(attrs)
            self._inputs.append(
                ParsedInput(
                    type=values.get("type", "").strip().lower()[:32],
                    name=bound_text(values.get("name", "")),
                    value=bound_text(values.get("value", "")),
                )
            )

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<input/>` must count; `<script/>` must not open a code element that never closes.
        if tag not in _CODE_ELEMENTS and tag != "title":
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _CODE_ELEMENTS:
            self._code_depth = max(0, self._code_depth - 1)
        elif tag == "title" and self._in_title:
            self._in_title = False
            self._title_done = True
        elif tag == "form":
            self._close_form()
        elif tag == "a":
            self._close_link()

    def handle_data(self, data: str) -> None:
        if self._link is not None and not self._code_depth and len(self._link[1]) < 8:
            self._link[1].append(data[:MAX_DEVICE_TEXT])
        if self._in_title and not self._code_depth and self._title_len < 2 * MAX_DEVICE_TEXT:
            piece = data[: 2 * MAX_DEVICE_TEXT - self._title_len]
            self.title_parts.append(piece)
            self._title_len += len(piece)

    def _close_form(self) -> None:
        if self._form is not None and len(self.forms) < MAX_FORMS:
            self.forms.append(ParsedForm(self._form[0], self._form[1], tuple(self._inputs)))
        self._form = None
        self._inputs = []

    def _close_link(self) -> None:
        if self._link is not None:
            text = " ".join("".join(self._link[1]).split())
            self.links.append((self._link[0], bound_text(text)))
        self._link = None

    def finish(self) -> ParsedPage:
        self._close_form()  # a form still open at the end of the page still counts
        self._close_link()
        title = " ".join("".join(self.title_parts).split())
        return ParsedPage(title=bound_text(title), forms=tuple(self.forms), links=tuple(self.links))


def _attrs(attrs: list[tuple[str, str | None]]) -> dict[str, str]:
    """First value of each attribute, as browsers do with duplicates."""
    out: dict[str, str] = {}
    for key, value in attrs:
        out.setdefault(key, value or "")
    return out


def parse_page(html: str) -> ParsedPage:
    """Title and forms of one HTML document; malformed HTML yields what could be read."""
    parser = _PageParser()
    try:
        parser.feed(html[:MAX_BODY])
        parser.close()
    except (AssertionError, ValueError):
        pass  # html.parser gives up on some broken markup; keep what it saw before that
    return parser.finish()


def login_forms(service: Service, page_url: str, html: str) -> tuple[LoginForm, ...]:
    """The forms of one page that hold a password input."""
    found: list[LoginForm] = []
    for form in parse_page(html).forms:
        login = _login_form(service, page_url, form)
        if login is not None:
            found.append(login)
    return tuple(found)


def _login_form(service: Service, page_url: str, form: ParsedForm) -> LoginForm | None:
    username = ""
    password = ""
    for field in form.inputs:
        if field.type == "password":
            password = field.name
            break
        if field.type in _USERNAME_TYPES and field.name:
            username = field.name  # the last text input before the password is the login
    else:
        return None
    hidden = tuple((f.name, f.value) for f in form.inputs if f.type == "hidden" and f.name)
    try:
        action = urljoin(page_url, form.action) if form.action else page_url
    except ValueError:
        action = page_url  # an unparsable action posts back to the page, as browsers do
    return LoginForm(
        service=service,
        page_url=page_url,
        action_url=bound_text(action, MAX_URL),
        method=form.method,
        username_field=username,
        password_field=password,
        hidden_fields=hidden[:MAX_HIDDEN],
    )


def _same_device(url: str, address: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.hostname == address.lower()
    except ValueError:
        return False


def _auth(header: str) -> tuple[str, str]:
    scheme = header.strip().split(" ", 1)[0].split(",", 1)[0]
    match = _REALM.search(header)
    realm = (match.group(1) if match.group(1) is not None else match.group(2)) if match else ""
    return bound_text(scheme, 32), bound_text(realm)


_SCRIPTED = re.compile(r"<(?:script|iframe|frame)\b", re.IGNORECASE)


def without_scripts(raw: bytes, body: str) -> bool:
    """Whether a page read whole shows no script or frame (the login-surface probe skips
    such a page: its forms are what fingerprinting reads)."""
    return bool(body) and len(raw) < MAX_BODY and not _SCRIPTED.search(body)


def _page(service: Service, answer: Answer, text: str) -> HttpPage:
    scheme, realm = _auth(answer.headers.get("www-authenticate", ""))
    incomplete = answer.incomplete
    if answer.status in REDIRECTS and (malformed := malformed_location(answer.headers)):
        # Where the device meant to send the browser is unknown, and so is what is there.
        incomplete = f"it redirected to a malformed location {malformed}; not followed"
    return HttpPage(
        service=service,
        url=bound_text(str(answer.url), MAX_URL),
        status=answer.status,
        server=bound_text(answer.headers.get("server", "")),
        title=parse_page(text).title if text else "",
        auth_scheme=scheme,
        auth_realm=realm,
        location=bound_text(answer.headers.get("location", ""), MAX_URL),
        hsts=bound_text(answer.headers.get("strict-transport-security", "")),
        without_scripts=not answer.incomplete and without_scripts(answer.body, text),
        incomplete=bound_text(incomplete),
    )


async def http_pages(
    dev: DeviceNetwork, service: Service, *, timeout: float
) -> tuple[tuple[HttpPage, ...], tuple[LoginForm, ...], str]:
    """`GET /` on one service, following up to `MAX_REDIRECTS` redirects that stay on the
    device, so `/` → `/login.html` finds the form. Returns the pages, the login forms and a
    note when the fetch failed (never raises for device behaviour)."""
    pages: list[HttpPage] = []
    forms: list[LoginForm] = []
    note = ""
    async with dev.http(service, timeout=timeout) as client:
        url = str(client.base_url.join("/"))
        try:
            first = await exchange(client, "GET", url, headers=CLOSE, throttle=False)
        except ScopeError:
            return (), (), f"redirect to {bound_text(url, MAX_URL)} leaves the device; not followed"
        except FAILURES as exc:
            return (), (), f"GET {bound_text(url, MAX_URL)}: {describe_failure(exc)}"
        # Other hosts are never contacted, even inside scope (ARCHITECTURE.md).
        chain = await follow(
            client, first, dev.address, headers=CLOSE, throttle=False, tolerant=True
        )
        for answer in chain.answers:
            text = answer.text
            pages.append(page := _page(service, answer, text))
            forms.extend(login_forms(service, page.url, text))
            if page.incomplete.startswith("it redirected") and not answer.headers.get("location"):
                note = f"GET {page.url}: {page.incomplete}"
        if chain.offsite_url:
            note = f"redirect to {chain.offsite_url} leaves the device; not followed"
        note = chain.failure or note
        final = chain.final
        if not forms and not any(p.auth_scheme for p in pages) and final.body:
            await _login_links(client, dev, service, str(final.url), final.text, pages, forms)
    return tuple(pages), tuple(forms), note


def login_links(page_url: str, html: str, address: str) -> list[str]:
    """Links of a page that lead to its login (by their address or their words), on the
    device, at most `MAX_LOGIN_LINKS`."""
    out: list[str] = []
    for href, text in parse_page(html).links:
        if not (_LOGIN_LINK.search(href) or _LOGIN_LINK.search(text)):
            continue
        if _NOT_LOGIN_LINK.search(href) or _NOT_LOGIN_LINK.search(text):
            continue
        try:
            target = urljoin(page_url, href.strip()).split("#", 1)[0]
        except ValueError:
            continue
        if _same_device(target, address) and target not in out and target != page_url:
            out.append(target)
        if len(out) == MAX_LOGIN_LINKS:
            break
    return out


async def _login_links(
    client: httpx.AsyncClient,
    dev: DeviceNetwork,
    service: Service,
    url: str,
    body: str,
    pages: list[HttpPage],
    forms: list[LoginForm],
) -> None:
    """The start page shows no login: follow its login links (GET only, on the device)."""
    for link in login_links(url, body, dev.address):
        try:
            answer = await exchange(client, "GET", link, headers=CLOSE, throttle=False)
        except ScopeError:
            continue
        except FAILURES:
            continue
        text = answer.text
        found = login_forms(service, link, text)
        if not found and not _auth(answer.headers.get("www-authenticate", ""))[0]:
            continue
        pages.append(_page(service, answer, text))
        forms.extend(found)
        return
