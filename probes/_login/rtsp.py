"""RTSP login: OPTIONS, DESCRIBE without credentials, then DESCRIBE answering the challenge.

`401` with `WWW-Authenticate: Digest` (preferred: the password never crosses the wire) or
`Basic` is answered (Digest by probes/_login/digest.py, as the HTTP login: the strongest
challenge of MD5, SHA-256, SHA-512-256 and their -sess forms; `qop=auth` or `auth-int` when
offered, none for RFC 2069 servers). Oracle: `200` to the authenticated DESCRIBE is
ACCEPTED, `401` again REJECTED (a `stale=true` nonce is refreshed and the same credential
sent again), `403` LOCKED when its text says so (REJECTED otherwise), `503`/`429` the server
throttling. A DESCRIBE that already answers `200` without credentials means the stream needs
no login: the run says so and its control (empty) login is ACCEPTED.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from probes._login.common import (
    NOBODY,
    PACE,
    Dropped,
    LineReader,
    NoLoginNeeded,
    Pace,
    Scheduler,
    Unsupported,
    attempt,
    device_text,
    looks_locked,
    run_workers,
    session_worker,
)
from probes._login.digest import DigestChallenge, best_digest, parse_challenges
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
        self._challenge: DigestChallenge | None = None
        self._basic = False  # only Basic offered
        self._unusable = ""  # why the Digest challenge offered cannot be answered
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
        if self._challenge is None and not self._basic and not self._unusable:
            raise Unsupported(
                "401 without a Basic or Digest challenge: "
                + device_text(" ".join(response.all("www-authenticate")), NOBODY)
            )

    def _learn(self, response: Response) -> bool:
        """Keep the strongest challenge of a 401; True when its nonce is merely stale."""
        offered = [
            c
            for c in parse_challenges(response.all("www-authenticate"))
            if c.scheme in ("digest", "basic")
        ]
        if not offered:
            return False
        digest = best_digest(offered)
        unusable = next((c for c in offered if c.scheme == "digest"), None)
        self._basic, self._unusable = False, ""
        if digest is None and unusable is not None:
            # Digest is offered, but not in a form this client can answer: said at the
            # first attempt, as the run's reason (Basic beside it is not a fallback).
            algorithm = unusable.params.get("algorithm", "MD5")
            self._unusable = f"digest challenge not supported (algorithm {algorithm[:32]!r})"
            self._challenge = None
            return False
        if digest is None:
            self._basic, self._challenge = True, None
            return False
        if self._challenge is None or digest.nonce != self._challenge.nonce:
            self._challenge = digest  # a new nonce: its count starts again
        return digest.stale

    def _authorization(self, credential: Credential) -> str:
        if self._unusable:
            raise Unsupported(self._unusable)
        if self._challenge is None:
            return basic_authorization(credential)
        return self._challenge.authorization(
            "DESCRIBE", self._url, credential.username, credential.password
        )

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
    dev: DeviceNetwork, service: Service, credentials: Sequence[Credential], pace: Pace = PACE
) -> LoginRun:
    """Try `credentials` on an RTSP service, in order; see the module docstring."""
    timeout, connections = pace.timeout, pace.connections
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
