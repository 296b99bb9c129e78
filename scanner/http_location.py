"""Where a device's `Location` header points, or why it points nowhere.

A `Location` is device bytes: `http:host/`, `http://[::1`, `http://a b/`, a port past
65535, control characters, kilobytes of path. httpx builds the redirect request of every
3xx answer even when it follows none, and raises on such a header, so the whole answer
would be lost as a Python exception. `set_aside` runs in the device transport
(scanner/net.py) on every answer: a `Location` that cannot be resolved is moved to
`MALFORMED_LOCATION`, with a sentence saying what the device sent, and every reader sees
an answer that redirects nowhere plus that sentence (`malformed_location`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from scanner.model import bound_text, quoted

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The header a malformed Location is moved to (never sent by a device we trust).
MALFORMED_LOCATION = "X-Shinsa-Malformed-Location"
#: A Location longer than this is not a redirect anyone follows.
MAX_LOCATION = 2048
#: Shown of a malformed Location: enough to recognise it, never its query (a device may
#: echo the login into it).
SHOWN = 120

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=:\[\]\u0080-\uffff-]*")
_SCHEME_ONLY = re.compile(r"https?:(?!//)", re.IGNORECASE)
#: A Location that names its own authority: `http://…`, `https://…` or scheme-relative `//…`.
_AUTHORITY = re.compile(r"(?:https?:)?//", re.IGNORECASE)


class MalformedLocation(ValueError):
    """A Location that points nowhere; the message says what the device sent."""


def resolve(base: str, location: str) -> str:
    """The absolute URL `location` points to from `base`; `MalformedLocation` when it
    points nowhere a client could go."""
    # HTTP's own whitespace only: str.strip() also takes NEL (0x85) and the like, which
    # httpx keeps, so "0\t\x85" would pass here stripped and fail there whole
    text = location.strip(" \t")
    if len(text) > MAX_LOCATION:
        raise MalformedLocation(f"{len(text)} characters long")
    if _CONTROL.search(text):
        raise MalformedLocation("control characters in it")
    if _SCHEME_ONLY.match(text):
        raise MalformedLocation("a scheme without '//' and a host")
    try:
        # urljoin reads 'http://' (or '//', 'http://:80/') as "the base's host": a Location
        # naming an authority must name a host itself, or it points nowhere.
        names_no_host = bool(_AUTHORITY.match(text)) and not urlsplit(text).hostname
        target = urljoin(base, text)
        parts = urlsplit(target)
        _ = parts.port  # raises for a port that is not a number or past 65535
        host = parts.hostname or ""
    except ValueError as exc:
        raise MalformedLocation(_why(exc)) from None
    if names_no_host:
        raise MalformedLocation("an HTTP URL without a host")
    if parts.scheme.lower() in ("http", "https"):
        if not host:
            raise MalformedLocation("an HTTP URL without a host")
        if not _HOST.fullmatch(parts.netloc.rpartition("@")[2]):
            raise MalformedLocation("a host name with characters no host name has")
    try:
        # What httpx does with it when it builds the redirect request.
        url = httpx.URL(text)
        if url.scheme and not url.host:
            url = url.copy_with(host=httpx.URL(base).host)
        httpx.URL(base).join(url)
    except (httpx.InvalidURL, ValueError):
        raise MalformedLocation("not a URL an HTTP client can request") from None
    return target


def _why(exc: ValueError) -> str:
    text = str(exc)
    if "IPv6" in text:
        return "a '[' host that is not a closed IPv6 address"
    if "Port" in text or "port" in text:
        return "a port that is not a number from 0 to 65535"
    return "not a URL"


def describe_failure(exc: Exception) -> str:
    """What the device did, for an exception an HTTP exchange ended in (never the library's
    message: it may quote device bytes, a password among them)."""
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "disconnected" in str(exc).lower():
            return "it closed the connection without an answer"
        return (
            "its answer is not valid HTTP (a malformed status line or header, or a header "
            "block too large)"
        )
    if isinstance(exc, httpx.ConnectError):
        return "the connection was refused or failed"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, OSError)):
        return "the connection broke"
    if isinstance(exc, httpx.InvalidURL):
        return "the URL is not one an HTTP client can request"
    return f"it failed ({type(exc).__name__})"


def shown(location: str) -> str:
    """A Location as evidence: bounded, control characters escaped, query dropped."""
    return bound_text(re.split(r"[?#]", location.strip(), maxsplit=1)[0], SHOWN)


def set_aside(request_url: httpx.URL, headers: httpx.Headers) -> None:
    """Move a Location that points nowhere out of httpx's way (see the module doc)."""
    location = headers.get("location")
    if location is None:
        return
    try:
        resolve(str(request_url), location)
    except MalformedLocation as exc:
        del headers["location"]
        sentence = f"{quoted(shown(location))} ({exc})"
        headers[MALFORMED_LOCATION] = sentence.encode("ascii", "backslashreplace").decode()


def malformed_location(headers: Mapping[str, str]) -> str:
    """The sentence about a malformed Location this answer carried, or ""."""
    return headers.get(MALFORMED_LOCATION, "")  # httpx.Headers: any case
