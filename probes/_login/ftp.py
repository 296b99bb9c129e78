"""FTP login: USER/PASS on one control connection, as many times as the server allows.

Oracle: `230` (to PASS, or to USER when no password is needed) is ACCEPTED; `530` is
REJECTED, or LOCKED when its text says so; `421` (service not available, closing) is the
server throttling: back off and retry, THROTTLED if it persists. The anonymous login is just
a credential ("anonymous" / "shinsa@example.invalid") the caller puts in the list.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from probes._login.common import (
    NOBODY,
    Dropped,
    LineReader,
    Unsupported,
    attempt,
    device_text,
    looks_locked,
    stream_logins,
)
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.net import ReadLimitExceeded

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork

METHOD = "ftp USER/PASS"
ANONYMOUS = Credential("anonymous", "shinsa@example.invalid", "anonymous FTP")
#: Longest line and most lines of one (multi-line) reply.
MAX_LINE = 2048
MAX_LINES = 64


class _Reply:
    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text


class _Session:
    reusable = True

    def __init__(self, stream: BoundedStream, timeout: float) -> None:
        self._stream = stream
        self._lines = LineReader(stream)
        self._timeout = timeout

    async def reply(self) -> _Reply:
        """One reply, multi-line ones (`230-...` ... `230 ...`) joined; Dropped at EOF."""
        lines: list[str] = []
        code = ""
        async with asyncio.timeout(self._timeout):
            for _ in range(MAX_LINES):
                raw = await self._lines.until(b"\n", MAX_LINE)
                if not raw.endswith(b"\n"):
                    raise Dropped("the server closed the control connection")
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                lines.append(line)
                if not code:
                    if len(line) < 3 or not line[:3].isdigit():
                        raise ValueError(f"not an FTP reply: {line[:80]!r}")
                    code = line[:3]
                    if line[3:4] != "-":
                        break
                elif line.startswith(code + " ") or line == code:
                    break
        return _Reply(int(code), " ".join(lines))

    async def greet(self) -> None:
        try:
            greeting = await self.reply()
        except (ValueError, ReadLimitExceeded) as exc:
            raise Unsupported(f"not an FTP server: {device_text(str(exc), NOBODY)}") from exc
        if greeting.code == 421 or greeting.code >= 400:
            raise Dropped(f"greeting {device_text(greeting.text, NOBODY)!r}", busy=True)

    async def _send(self, verb: str, argument: str) -> None:
        if "\r" in argument or "\n" in argument:
            raise ValueError("a line break in a credential would inject FTP commands")
        await self._stream.write(f"{verb} {argument}\r\n".encode())

    async def attempt(self, credential: Credential) -> Attempt:
        started = time.monotonic()
        try:
            await self._send("USER", credential.username)
            answer = await self.reply()
            if answer.code == 331 or answer.code == 332:
                started = time.monotonic()
                await self._send("PASS", credential.password)
                answer = await self.reply()
        except (ValueError, ReadLimitExceeded) as exc:
            self.reusable = False
            return attempt(credential, Outcome.ERROR, device_text(str(exc), credential), started)
        except TimeoutError:
            self.reusable = False
            return attempt(
                credential, Outcome.ERROR, f"no reply within {self._timeout:g} s", started
            )
        detail = device_text(answer.text, credential)
        if answer.code == 230:
            self.reusable = False
            with contextlib.suppress(OSError, TimeoutError, Dropped, ReadLimitExceeded):
                await self._stream.write(b"QUIT\r\n")
                await self.reply()
            return attempt(credential, Outcome.ACCEPTED, detail, started)
        if answer.code == 421:
            raise Dropped(f"server answered {detail!r}", busy=True)
        if looks_locked(answer.text):
            return attempt(credential, Outcome.LOCKED, detail, started)
        if answer.code == 530:
            return attempt(credential, Outcome.REJECTED, detail, started)
        self.reusable = False
        return attempt(credential, Outcome.ERROR, f"unexpected reply {detail!r}", started)


async def _open(stream: BoundedStream, timeout: float) -> _Session:
    session = _Session(stream, timeout)
    await session.greet()
    return session


async def try_logins(
    dev: DeviceNetwork,
    service: Service,
    credentials: Sequence[Credential],
    *,
    timeout: float = 10.0,
    connections: int = 1,
) -> LoginRun:
    """Try `credentials` on an FTP service, in order; see the module docstring."""
    return await stream_logins(
        dev, service, credentials, METHOD, _open, timeout=timeout, connections=connections
    )
