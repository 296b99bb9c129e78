"""One bounded HTTP exchange with a device, and the same-device redirects after it.

Shared by the web probes and the HTTP logins. Every request goes through the client the
caller got from `DeviceNetwork.http` (scope, one device permit per request, no automatic
redirects); here a body is read to `MAX_BODY` and decoded, a 429/503 becomes `Throttled`,
and a redirect is followed only while it stays on the device.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from probes._web import PASSWORD_INPUT
from scanner.errors import ScopeError
from scanner.http_decoding import read_body
from scanner.http_location import malformed_location
from scanner.model import bound_text

#: Most body bytes read from one answer, and kept once decoded (gzip, deflate, br); the rest
#: is never read (the connection is dropped).
MAX_BODY = 256 * 1024
#: Redirect hops followed, on the device only.
MAX_REDIRECTS = 3

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_THROTTLE_STATUSES = frozenset({429, 503})


class Throttled(Exception):
    """A 429/503 answer; `delay` is its Retry-After in seconds (None when absent or unreadable)."""

    def __init__(self, status: int, delay: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.delay = delay


@dataclass(slots=True)
class Answer:
    """One answer: the body decoded and bounded, `url` the URL that was asked."""

    status: int
    headers: httpx.Headers
    body: bytes  # decoded, at most MAX_BODY
    url: httpx.URL
    incomplete: str = ""  # why `body` is not the whole page (cut at the bound, corrupt coding)


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Answer:
    """One request, its body decoded and read to `MAX_BODY`; 429/503 raise `Throttled`."""
    request = client.build_request(
        method, url, headers=headers, data=data, params=params, content=content
    )
    response = await client.send(request, stream=True)
    try:
        body = await read_body(response, MAX_BODY)
    finally:
        await response.aclose()
    if response.status_code in _THROTTLE_STATUSES:
        raise Throttled(response.status_code, _retry_after(response.headers))
    return Answer(response.status_code, response.headers, body.data, request.url, body.incomplete)


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # HTTP-date form, rare on devices

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(slots=True)
class Chain:
    """A request and the same-device redirects followed after it."""

    first: Answer
    final: Answer
    location: str = ""  # where the first answer redirected, normalised (no query)
    offsite: str = ""  # a redirect target off the device, not followed
    malformed: str = ""  # a Location that points nowhere, as evidence (see http_location)
    # (name, value) of cookies set (not deleted) along the chain
    cookies: frozenset[tuple[str, str]] = frozenset()
    bodies: tuple[bytes, ...] = ()


async def follow(client: httpx.AsyncClient, first: Answer, address: str) -> Chain:
    """Follow `first`'s redirects (GET, at most `MAX_REDIRECTS`) while they stay on the
    device; a redirect elsewhere is recorded, never requested."""
    chain = Chain(first=first, final=first, cookies=set_cookies(first.headers))
    bodies = [first.body]
    answer = first
    for hop in range(MAX_REDIRECTS + 1):
        location = answer.headers.get("location", "").strip()
        if answer.status in _REDIRECTS and not location:
            chain.malformed = malformed_location(answer.headers)
            if hop == 0 and chain.malformed:
                chain.location = "(a malformed location)"  # where it went is still a signal
        if answer.status not in _REDIRECTS or not location:
            break
        try:
            target = answer.url.join(location)
        except (httpx.InvalidURL, ValueError):  # set aside by the device transport already
            break
        if hop == 0:
            chain.location = short_url(target, address)
        if target.host != address.lower() or target.scheme not in ("http", "https"):
            chain.offsite = short_url(target, "")
            break
        if hop == MAX_REDIRECTS:
            break
        try:
            answer = await exchange(client, "GET", target)
        except ScopeError:
            chain.offsite = short_url(target, "")
            break
        chain.cookies |= set_cookies(answer.headers)
        bodies.append(answer.body)
    chain.final = answer
    chain.bodies = tuple(bodies)
    return chain


def short_url(url: httpx.URL, address: str) -> str:
    """A URL for comparing and showing: the path alone on the device, scheme://host:port/path
    elsewhere; never the query (a device may echo the login back in it)."""
    path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace") or "/"
    if address and url.host == address.lower():
        return bound_text(path, 200)
    port = f":{url.port}" if url.port else ""
    return bound_text(f"{url.scheme}://{url.host}{port}{path}", 200)


def set_cookies(headers: httpx.Headers) -> frozenset[tuple[str, str]]:
    """(name, value) of the cookies an answer sets; deletions and empty values left out."""
    pairs: set[tuple[str, str]] = set()
    for line in headers.get_list("set-cookie"):
        first, _, attributes = line.partition(";")
        name, sep, value = first.partition("=")
        value = value.strip().strip('"')
        attrs = attributes.lower().replace(" ", "")
        if not sep or not name.strip() or not value or value.lower() == "deleted":
            continue
        if "max-age=0" in attrs or "max-age=-" in attrs or "expires=thu,01jan1970" in attrs:
            continue  # a deletion, not a session
        pairs.add((bound_text(name.strip(), 64), value))
    return frozenset(pairs)


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
