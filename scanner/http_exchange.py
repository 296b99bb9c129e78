"""One bounded HTTP exchange with a device, and the same-device redirects after it.

The one way fingerprinting, the web probes, the HTTP logins and the declarative checks
talk HTTP. Every request goes through the client the caller got from `DeviceNetwork.http`
(scope, one device permit per request, no automatic redirects); here a body is read to
`MAX_BODY` (or the caller's smaller or larger bound) and decoded, a 429/503 becomes
`Throttled` for callers that back off (fingerprinting keeps it as a page), and a redirect
is followed only while it stays on the device.
"""

from __future__ import annotations

import codecs
import time
from dataclasses import dataclass, field

import httpx

from scanner.errors import ScopeError
from scanner.http_decoding import BODY_DEADLINE, read_body
from scanner.http_location import describe_failure, malformed_location
from scanner.model import bound_text

#: Most body bytes read from one answer, and kept once decoded (gzip, deflate, br); the rest
#: is never read (the connection is dropped). A login page is a few KiB; a device that
#: streams megabytes (a camera's MJPEG on `/`, a gzip bomb) must not cost memory.
MAX_BODY = 256 * 1024
#: Redirect hops followed, on the device only: enough for `/` → `/index.html` → `/login.html`.
MAX_REDIRECTS = 3
#: URLs are kept longer than other device text: a truncated action URL is useless.
MAX_URL = 2048
#: Request headers of a fetch that reads a page once: embedded servers often close after one
#: answer without saying so, and a reused dead connection would lose a redirect's target.
CLOSE = {"Connection": "close"}
#: The statuses that redirect.
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: What a failed exchange raises (besides `ScopeError`): device behaviour, never a bug.
FAILURES: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, OSError, TimeoutError)

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
    body: bytes  # decoded, at most the exchange's bound (MAX_BODY unless asked otherwise)
    url: httpx.URL
    incomplete: str = ""  # why `body` is not the whole page (cut at the bound, corrupt coding)
    charset: str | None = None  # the Content-Type's charset, as the device named it

    @property
    def text(self) -> str:
        """The body as text, in its charset (UTF-8 when it names none or a useless one)."""
        return decode_text(self.body, self.charset)


def decode_text(body: bytes, charset: str | None) -> str:
    """`body` decoded in `charset`, unreadable bytes replaced."""
    try:
        return body.decode(codecs.lookup(charset or "utf-8").name, "replace")
    except (LookupError, ValueError):
        # An invented charset name, a codec that is not text (charset=base64, rot13: a
        # LookupError on decode) or one without "replace" (idna, punycode: a UnicodeError)
        # is not a reason to drop the page.
        return body.decode("utf-8", "replace")


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    content: bytes | None = None,
    limit: int = MAX_BODY,
    deadline: float = BODY_DEADLINE,
    throttle: bool = True,
) -> Answer:
    """One request, its body decoded and read to `limit` bytes within `deadline` seconds;
    with `throttle`, a 429/503 raises `Throttled` (without, it is an answer like any)."""
    request = client.build_request(
        method, url, headers=headers, data=data, params=params, content=content
    )
    response = await client.send(request, stream=True)
    try:
        body = await read_body(response, limit, deadline)
    finally:
        await response.aclose()
    if throttle and response.status_code in _THROTTLE_STATUSES:
        raise Throttled(response.status_code, _retry_after(response.headers))
    return Answer(
        response.status_code,
        response.headers,
        body.data,
        request.url,
        body.incomplete,
        response.charset_encoding,
    )


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
    offsite_url: str = ""  # the same target whole (query included), bounded
    malformed: str = ""  # a Location that points nowhere, as evidence (see http_location)
    # (name, value) of cookies set (not deleted) along the chain
    cookies: frozenset[tuple[str, str]] = frozenset()
    answers: tuple[Answer, ...] = field(default=())  # every answer, first to final
    failure: str = ""  # with `tolerant`: the hop that failed and how ("GET url: why")

    @property
    def bodies(self) -> tuple[bytes, ...]:
        return tuple(a.body for a in self.answers)

    def leaves(self, target: httpx.URL) -> None:
        """Record a redirect off the device, never requested."""
        self.offsite = short_url(target, "")
        self.offsite_url = bound_text(str(target), MAX_URL)


async def follow(
    client: httpx.AsyncClient,
    first: Answer,
    address: str,
    *,
    headers: dict[str, str] | None = None,
    throttle: bool = True,
    tolerant: bool = False,
) -> Chain:
    """Follow `first`'s redirects (GET, at most `MAX_REDIRECTS`) while they stay on the
    device; a redirect elsewhere is recorded, never requested. `headers` go with each hop
    and `throttle` is `exchange`'s; with `tolerant`, a hop that fails ends the chain with
    `failure` saying so (the answers before it kept) instead of raising."""
    chain = Chain(first=first, final=first, cookies=set_cookies(first.headers))
    answers = [first]
    answer = first
    for hop in range(MAX_REDIRECTS + 1):
        location = answer.headers.get("location", "").strip()
        if answer.status in REDIRECTS and not location:
            chain.malformed = malformed_location(answer.headers)
            if hop == 0 and chain.malformed:
                chain.location = "(a malformed location)"  # where it went is still a signal
        if answer.status not in REDIRECTS or not location:
            break
        try:
            target = answer.url.join(location)
        except (httpx.InvalidURL, ValueError):  # set aside by the device transport already
            break
        if hop == 0:
            chain.location = short_url(target, address)
        if target.host != address.lower() or target.scheme not in ("http", "https"):
            chain.leaves(target)
            break
        if hop == MAX_REDIRECTS:
            break
        try:
            answer = await exchange(client, "GET", target, headers=headers, throttle=throttle)
        except ScopeError:
            chain.leaves(target)
            break
        except FAILURES as exc:
            if not tolerant:
                raise
            chain.failure = f"GET {bound_text(str(target), MAX_URL)}: {describe_failure(exc)}"
            break
        chain.cookies |= set_cookies(answer.headers)
        answers.append(answer)
    chain.final = answer
    chain.answers = tuple(answers)
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
