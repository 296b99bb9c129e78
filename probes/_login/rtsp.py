"""RTSP login: OPTIONS, DESCRIBE without credentials, then DESCRIBE answering the challenge.

`401` with `WWW-Authenticate: Digest` (preferred: the password never crosses the wire) or
`Basic` is answered (RFC 2617/7616 digest: MD5, MD5-sess, SHA-256; `qop=auth` when
offered). Oracle: `200` to the authenticated DESCRIBE is ACCEPTED, `401` again REJECTED
(a `stale=true` nonce is refreshed and the same credential sent again), `403` LOCKED when its
text says so (REJECTED otherwise), `503`/`429` the server throttling. A DESCRIBE that already
answers `200` without credentials means the stream needs no login: the run says so and its
control (empty) login is ACCEPTED.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from probes._login.common import (
    NOBODY,
    Dropped,
    LineReader,
    NoLoginNeeded,
    Scheduler,
    Unsupported,
    attempt,
    device_text,
    looks_locked,
    run_workers,
    session_worker,
)
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.model import device_str
from scanner.net import ReadLimitExceeded

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork

METHOD = "rtsp describe"
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name.lower()), "")

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]


@dataclass
class Challenge:
    scheme: str  # "digest" | "basic"
    params: dict[str, str]


def parse_challenges(values: Sequence[str]) -> list[Challenge]:
    """Basic and Digest challenges from WWW-Authenticate values (one per header line)."""
    found: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() not in ("digest", "basic"):
            continue
        params: dict[str, str] = {}
        for match in _PARAM.finditer(rest):
            raw = match.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params[match.group(1).lower()] = raw
        found.append(Challenge(scheme.lower(), params))
    return found


_HASHES = {"md5": hashlib.md5, "md5-sess": hashlib.md5, "sha-256": hashlib.sha256}
_HASHES["sha-256-sess"] = hashlib.sha256


def digest_authorization(
    challenge: Challenge,
    credential: Credential,
    method: str,
    uri: str,
    nc: int,
    cnonce: str | None = None,
) -> str:
    """The Authorization value answering a Digest challenge (RFC 2617 / RFC 7616)."""
    params = challenge.params
    algorithm = params.get("algorithm", "MD5")
    hasher = _HASHES.get(algorithm.lower())
    if hasher is None:
        raise Unsupported(f"digest algorithm {algorithm[:32]!r} is not supported")

    def h(text: str) -> str:
        return hasher(text.encode()).hexdigest()

    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = h(f"{credential.username}:{realm}:{credential.password}")
    if algorithm.lower().endswith("-sess"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    parts = [
        f'username="{credential.username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
    ]
    if "auth" in qops:
        count = f"{nc:08x}"
        response = h(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        parts += [f'response="{response}"', "qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        parts.append(f'response="{h(f"{ha1}:{nonce}:{ha2}")}"')
    if "algorithm" in params:
        parts.append(f"algorithm={algorithm}")
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)


def basic_authorization(credential: Credential) -> str:
    token = base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode()
    return f"Basic {token}"


class _Session:
    def __init__(self, stream: BoundedStream, url: str, timeout: float) -> None:
        self._stream = stream
        self._lines = LineReader(stream)
        self._url = url
        self._timeout = timeout
        self._cseq = 0
        self._challenge: Challenge | None = None
        self._nc = 0
        self.reusable = True

    async def request(self, method: str, authorization: str = "") -> Response:
        self._cseq += 1
        lines = [f"{method} {self._url} RTSP/1.0", f"CSeq: {self._cseq}", "User-Agent: shinsa"]
        if method == "DESCRIBE":
            lines.append("Accept: application/sdp")
        if authorization:
            lines.append(f"Authorization: {authorization}")
        await self._stream.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        async with asyncio.timeout(self._timeout):
            head = await self._lines.until(b"\r\n\r\n", MAX_HEAD)
            if not head.endswith(b"\r\n\r\n"):
                raise Dropped("the server closed the connection without an answer")
            response = _parse_head(head)
            length = response.header("content-length")
            # ASCII digits only: str.isdigit also takes "²", which int() refuses.
            if length.isascii() and length.isdigit() and int(length) > 0:
                if int(length) > MAX_BODY:
                    self.reusable = False
                    response.body = await self._lines.exactly(4096)
                else:
                    response.body = await self._lines.exactly(int(length))
        if response.header("connection").lower() == "close":
            self.reusable = False
        return response

    async def start(self) -> None:
        """OPTIONS, then DESCRIBE without credentials: learn the challenge."""
        try:
            await self.request("OPTIONS")
            response = await self.request("DESCRIBE")
        except (ValueError, ReadLimitExceeded) as exc:
            raise Unsupported(f"not an RTSP server: {device_text(str(exc), NOBODY)}") from exc
        if response.status == 200:
            raise NoLoginNeeded(f"DESCRIBE {self._url} answered 200 without credentials")
        if response.status in (429, 503):
            raise Dropped(_describe(response, NOBODY), busy=True)
        if response.status != 401:
            raise Unsupported(f"DESCRIBE without credentials: {_describe(response, NOBODY)}")
        self._learn(response)
        if self._challenge is None:
            raise Unsupported(
                "401 without a Basic or Digest challenge: "
                + device_text(" ".join(response.all("www-authenticate")), NOBODY)
            )

    def _learn(self, response: Response) -> bool:
        """Keep the strongest challenge of a 401; True when its nonce is merely stale."""
        challenges = parse_challenges(response.all("www-authenticate"))
        digest = [c for c in challenges if c.scheme == "digest"]
        if not challenges:
            return False
        chosen = (digest or challenges)[0]
        if self._challenge is None or chosen.params.get("nonce") != self._challenge.params.get(
            "nonce"
        ):
            self._nc = 0
        self._challenge = chosen
        return chosen.params.get("stale", "").lower() == "true"

    def _authorization(self, credential: Credential) -> str:
        if self._challenge is None or self._challenge.scheme == "basic":
            return basic_authorization(credential)
        self._nc += 1
        return digest_authorization(self._challenge, credential, "DESCRIBE", self._url, self._nc)

    async def attempt(self, credential: Credential) -> Attempt:
        if any(c in credential.username + credential.password for c in "\r\n"):
            return attempt(credential, Outcome.ERROR, "line break in the credential: not sent")
        started = time.monotonic()
        for _ in range(2):  # a second time only after a stale nonce
            started = time.monotonic()
            try:
                response = await self.request("DESCRIBE", self._authorization(credential))
            except TimeoutError:
                self.reusable = False
                return attempt(
                    credential, Outcome.ERROR, f"no answer within {self._timeout:g} s", started
                )
            except (ValueError, ReadLimitExceeded) as exc:
                self.reusable = False
                return attempt(
                    credential, Outcome.ERROR, device_text(str(exc), credential), started
                )
            detail = _describe(response, credential)
            if response.status == 200:
                self.reusable = False
                return attempt(credential, Outcome.ACCEPTED, detail, started)
            if response.status == 401:
                if self._learn(response):
                    continue
                outcome = Outcome.LOCKED if looks_locked(_text(response)) else Outcome.REJECTED
                return attempt(credential, outcome, detail, started)
            if response.status == 403:
                outcome = Outcome.LOCKED if looks_locked(_text(response)) else Outcome.REJECTED
                return attempt(credential, outcome, detail, started)
            if response.status in (429, 503):
                raise Dropped(detail, busy=True)
            self.reusable = False
            return attempt(credential, Outcome.ERROR, f"unexpected answer {detail}", started)
        return attempt(credential, Outcome.ERROR, "stale nonce twice in a row", started)


def _parse_head(head: bytes) -> Response:
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"RTSP/\d\.\d (\d{3})(?: (.*))?\Z", lines[0])
    if not match:
        raise ValueError(f"not an RTSP status line: {lines[0][:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
    return Response(int(match.group(1)), match.group(2) or "", headers)


def _text(response: Response) -> str:
    return " ".join((response.reason, device_str(response.body[:2048])))


def _describe(response: Response, credential: Credential) -> str:
    body = device_str(response.body[:120]).strip()
    text = f"RTSP {response.status} {response.reason}" + (f": {body}" if body else "")
    return device_text(text, credential)


async def try_logins(
    dev: DeviceNetwork,
    service: Service,
    credentials: Sequence[Credential],
    *,
    timeout: float = 10.0,
    connections: int = 1,
) -> LoginRun:
    """Try `credentials` on an RTSP service, in order; see the module docstring."""
    host = f"[{dev.address}]" if ":" in dev.address else dev.address
    url = f"rtsp://{host}:{service.port}/"
    scheduler = Scheduler(credentials)

    @contextlib.asynccontextmanager
    async def open_session() -> AsyncIterator[_Session]:
        async with dev.tcp(service.port) as stream:
            session = _Session(stream, url, timeout)
            await session.start()
            yield session

    await run_workers(scheduler, lambda: session_worker(scheduler, open_session), connections)
    return scheduler.run(METHOD)
