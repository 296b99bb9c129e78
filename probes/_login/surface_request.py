"""Reading a recorded login request: which field carries what, and what a replay must add.

Pure functions over what the browser saw when one random control login was submitted. The
control's user name and password are random letters and digits, so finding them in a URL,
a body or an Authorization header needs no guessing about encodings.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from scanner.model import device_str

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

MAX_EXTRA = 16  # fixed fields kept
MAX_HEADERS = 8  # custom headers kept
MAX_VALUE = 200  # characters of any kept value
MAX_SHAPE = 200  # characters of the answer's description

# Headers every browser sends by itself; a replay with httpx does not need them copied.
_BROWSER_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "authorization",  # read separately: it may carry the credentials
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "cookie",  # the replay's own session supplies cookies
        "dnt",
        "host",
        "origin",
        "pragma",
        "priority",
        "referer",
        "upgrade-insecure-requests",
        "user-agent",
    }
)


@dataclass(frozen=True, slots=True)
class SentLogin:
    """A request as the browser sent it. `headers` has lower-case names."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class LoginShape:
    """What a replay of the login needs (the fields of `LoginSurface` a request yields)."""

    url: str
    method: str
    content_type: str
    username_field: str
    password_field: str
    extra_fields: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    auth_header: str = ""


def read_login(sent: SentLogin, username: str, password: str) -> LoginShape | None:
    """The shape of `sent` if it carries `password` (None otherwise).

    A password in an `Authorization: Basic` header gives `auth_header` "Basic" and no
    fields. A password in the query of a GET gives the form encoding and the URL without
    its query. JSON fields are dotted paths (`auth.password`); a non-string JSON value kept
    as a fixed field is written as JSON text (`true`, `3`).
    """
    method = sent.method.upper()
    ctype = sent.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    headers = _custom_headers(sent.headers, username, password)
    if _basic_carries(sent.headers.get("authorization", ""), username, password):
        body_fields = _fields(ctype, sent.headers.get("content-type", ""), sent.body) or []
        return LoginShape(
            sent.url,
            method,
            ctype if body_fields else "",
            "",
            "",
            _extra(body_fields, username, password),
            headers,
            auth_header="Basic",
        )
    parts = urlsplit(sent.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    fields = _fields(ctype, sent.headers.get("content-type", ""), sent.body)
    if fields is not None and any(v == password for _, v in fields):
        content_type = ctype
        url = sent.url
    elif any(v == password for _, v in query):
        fields = query
        content_type = FORM
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    else:
        return None
    return LoginShape(
        url,
        method,
        content_type,
        next((k for k, v in fields if v == username), ""),
        next(k for k, v in fields if v == password),
        _extra(fields, username, password),
        headers,
    )


def carries(sent: SentLogin, password: str) -> bool:
    """Whether `sent` carries `password` anywhere a login could (fast test for each request)."""
    if password in sent.url or password.encode() in sent.body:
        return True
    auth = sent.headers.get("authorization", "")
    return auth.lower().startswith("basic ") and _basic_carries(auth, "", password)


def _basic_carries(header: str, username: str, password: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return False
    user, _, pw = decoded.partition(":")
    return pw == password and (not username or user == username)


def _fields(ctype: str, full_ctype: str, body: bytes) -> list[tuple[str, str]] | None:
    """Name/value pairs of a body: JSON leaves (dotted), form fields, multipart parts."""
    if not body:
        return None
    if ctype.endswith("json") or body.lstrip()[:1] in (b"{", b"["):
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):  # `[[[[…` past Python's depth
            return None
        return list(_leaves(doc, ""))
    if ctype == MULTIPART:
        return _multipart(full_ctype, body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return parse_qsl(text, keep_blank_values=True)


def _leaves(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:MAX_EXTRA]):
            yield from _leaves(v, f"{path}.{i}" if path else str(i))
    elif isinstance(value, str):
        yield path, value
    else:
        yield path, json.dumps(value)


def _multipart(full_ctype: str, body: bytes) -> list[tuple[str, str]] | None:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + full_ctype.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return None
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.append((name, payload.decode("utf-8", "replace")))
    return fields


def _extra(
    fields: list[tuple[str, str]], username: str, password: str
) -> tuple[tuple[str, str], ...]:
    """Fields sent besides the credentials, bounded; none that echoes the control login."""
    kept = [
        (k[:MAX_VALUE], v[:MAX_VALUE])
        for k, v in fields
        if v not in (username, password) and password not in v
    ]
    return tuple(kept[:MAX_EXTRA])


def _custom_headers(
    headers: Mapping[str, str], username: str, password: str
) -> tuple[tuple[str, str], ...]:
    """Headers the app added (CSRF tokens, X-Requested-With, API versions), bounded."""
    kept = [
        (name, value[:MAX_VALUE])
        for name, value in sorted(headers.items())
        if name.lower() not in _BROWSER_HEADERS
        and not name.startswith((":", "sec-"))
        and password not in value
        and (not username or username not in value)
    ]
    return tuple(kept[:MAX_HEADERS])


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def describe_answer(
    status: int,
    content_type: str,
    body: bytes,
    *,
    location: str = "",
    secrets: tuple[str, ...] = (),
) -> str:
    """A short, bounded description of the control login's answer (the failure signal):
    status, content type, and the answer's shape: JSON keys, an HTML title, a redirect."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    shape = f"{status} {ctype or 'no content type'}"
    if location:
        shape += f", redirect to {urlsplit(location).path or '/'}"
    elif ctype.endswith("json"):
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):  # `[[[[…` past Python's depth
            doc = None
        if isinstance(doc, dict):
            shape += ", JSON object with " + (", ".join(sorted(doc)[:8]) or "no keys")
            message = next(
                (
                    v
                    for k in ("error", "message", "error_description", "msg")
                    if isinstance(v := doc.get(k), str)
                ),
                "",
            )
            if message:
                shape += f': "{message[:60]}"'
        elif doc is not None:
            shape += f", JSON {type(doc).__name__}"
    elif "html" in ctype:
        m = _TITLE.search(body[:16384])
        title = device_str(m.group(1)).strip() if m else ""
        shape += f", {len(body)} bytes" + (f', title "{title[:60]}"' if title else "")
    elif body:
        shape += f', "{device_str(body[:60])}"'
    shape = _CONTROL.sub(" ", shape)
    for secret in secrets:
        if secret:
            shape = shape.replace(secret, "•••")
    return shape[:MAX_SHAPE]
