"""What `GET /` shows on an HTTP(S) service: status, headers, title and login forms.

HTML from a device is hostile input: it is only ever parsed (stdlib `html.parser`, never a
browser engine), the body is cut at `MAX_BODY`, and every string kept is bounded. Pages
are fetched with the scanner's one HTTP exchange (scanner/http_exchange.py): a 429/503 is
kept as a page (fingerprinting notes what answers, it does not back off), and every
request says `Connection: close`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from scanner.errors import ScopeError
from scanner.facts import HttpPage, LoginForm
from scanner.html_reader import Form, Input, Link, Page, read_html
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
from scanner.model import bound_text

if TYPE_CHECKING:
    import httpx

    from scanner.model import Service
    from scanner.net import DeviceNetwork

#: Hidden fields kept of one login form (the reader bounds forms, inputs and links).
MAX_HIDDEN = 32
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
_REALM = re.compile(r"""realm\s*=\s*(?:"([^"]*)"|([^\s,]+))""", re.IGNORECASE)


def parse_page(html: str) -> Page:
    """Title, forms and links of one HTML document (the first `MAX_BODY` characters), every
    string bounded and escaped; malformed HTML yields what could be read."""
    page = read_html(html, MAX_BODY)
    return Page(
        title=bound_text(page.title),
        forms=tuple(
            Form(
                bound_text(f.action, MAX_URL),
                f.method,
                tuple(Input(i.type, bound_text(i.name), bound_text(i.value)) for i in f.inputs),
                f.closed,
            )
            for f in page.forms
        ),
        links=tuple(
            Link(bound_text(k.href, MAX_URL), bound_text(k.text), k.closed) for k in page.links
        ),
    )


def login_forms(service: Service, page_url: str, html: str) -> tuple[LoginForm, ...]:
    """The forms of one page that hold a password input."""
    found: list[LoginForm] = []
    for form in parse_page(html).forms:
        login = _login_form(service, page_url, form)
        if login is not None:
            found.append(login)
    return tuple(found)


def _login_form(service: Service, page_url: str, form: Form) -> LoginForm | None:
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
    for link in parse_page(html).links:
        href, text = link.href, link.text
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
