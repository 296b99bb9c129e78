"""FTP login: USER/PASS on one control connection, as many times as the server allows.

A server is judged by how it answers USER and PASS, not by how well its greeting follows
RFC 959: any greeting code below 400 will do (1xx greetings are waited out), a multi-line
reply ends at its own `code ` line or at any `ddd ` line (a device's banner whose text ends
in `200 Ready` is still one greeting), and stray greeting lines that arrive before the
answer to USER (`220 `, `200 ...`, never an answer to USER or PASS) are skipped.

Oracle, each row a unit test (tests/unit/login/test_telnet_ftp.py):

- `230` (to PASS, or to USER when no password is needed): ACCEPTED;
- `530` (or `430`) to PASS, or `530` to USER (this user may not log in): REJECTED, or
  LOCKED when its text says so: the only answers that prove a wrong login;
- `421` (service not available, closing), a closed connection: the server throttling or
  gone: back off and retry, THROTTLED if it persists;
- `500`-`504` (command not understood), `332` (needs an account), `534` or a refusal that
  asks for TLS first ("530 Non-anonymous sessions must use encryption"), any other code:
  the login was not judged: ERROR, never REJECTED.

A server that wants TLS before any login gets the whole list again over RFC 4217 explicit
FTPS (AUTH TLS on the same port), judged by the same rows.

The anonymous login is just a credential ("anonymous" / "shinsa@example.invalid") the
caller puts in the list.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from typing import TYPE_CHECKING

from probes._login.common import (
    NOBODY,
    PACE,
    Dropped,
    LineReader,
    Pace,
    Unsupported,
    attempt,
    device_text,
    looks_locked,
    stream_logins,
)
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.model import bound_text, device_str, quoted
from scanner.net import ReadLimitExceeded, lenient_tls_context

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork

METHOD = "ftp USER/PASS"
TLS_METHOD = "ftp AUTH TLS, USER/PASS"
_TLS_FIRST = "the server wants TLS before the login"
ANONYMOUS = Credential("anonymous", "shinsa@example.invalid", "anonymous FTP")
#: Longest line and most lines of one (multi-line) reply.
MAX_LINE = 2048
MAX_LINES = 64


class _Reply:
    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text


#: A reply code is three ASCII digits: str.isdigit and \d also take "²³⁰" (int() refuses
#: it) and "٢٣٠" (int() reads it as 230: a login accepted by garbage).
#: RFC 959 4.2: three digits, then a space, a hyphen or the end of the line ("2300 " is no
#: reply 230: hypothesis found it read as one, a login accepted on no 230).
_CODE = re.compile(r"[0-9]{3}(?=[ -]|\Z)")
_FINAL_LINE = re.compile(r"[0-9]{3}(?: |\Z)")
#: Codes that never answer USER or PASS: greeting lines that came late (a `220-` block
#: whose own text ended in `200 ...`, then pyftpdlib's bare `220 `).
_STRAY = frozenset({120, 200, 220})
MAX_STRAY = 4
#: Answers to PASS (or USER) that prove the login was wrong: 530 "not logged in", and 430
#: "invalid username or password" that some servers send instead.
_REFUSED = frozenset({430, 530})
#: A refusal because the login must come over TLS (vsftpd's force_local_logins_ssl: "530
#: Non-anonymous sessions must use encryption", RFC 4217's 534): the password was never
#: judged, and it may well work over FTPS.
_NEEDS_TLS = re.compile(r"encrypt|\b(?:TLS|SSL)\b|AUTH TLS|secure (?:connection|channel)", re.I)


class _Session:
    reusable = True

    def __init__(self, stream: BoundedStream, timeout: float) -> None:
        self._stream = stream
        self._lines = LineReader(stream)
        self._timeout = timeout

    async def reply(self) -> _Reply:
        """One reply, multi-line ones (`230-...` ... `230 ...`) joined; Dropped at EOF.

        A multi-line reply ends at its own `code ` line, or at any other `ddd ` line: RFC
        959 has servers pad text lines that start with digits, so such a line is a final
        one (the rest, if any, is skipped as stray by the caller).
        """
        lines: list[str] = []
        code = ""
        async with asyncio.timeout(self._timeout):
            for _ in range(MAX_LINES):
                raw = await self._lines.until(b"\n", MAX_LINE)
                if not raw.endswith(b"\n"):
                    raise Dropped("the server closed the control connection")
                line = device_str(raw).rstrip("\r\n")
                lines.append(line)
                if not code:
                    if not _CODE.match(line):
                        raise ValueError(f"not an FTP reply: {quoted(bound_text(line[:80]))}")
                    code = line[:3]
                    if line[3:4] != "-":
                        break
                elif line.startswith(code + " ") or line == code or _FINAL_LINE.match(line):
                    break
        return _Reply(int(code), " ".join(lines))

    async def answer(self) -> _Reply:
        """The answer to the command just sent, past stray greeting lines (bounded)."""
        for _ in range(MAX_STRAY):
            answer = await self.reply()
            if answer.code not in _STRAY:
                return answer
        raise ValueError(f"only greeting lines, no answer: {quoted(bound_text(answer.text[:80]))}")

    async def greet(self) -> None:
        try:
            greeting = await self.reply()
            for _ in range(MAX_STRAY):
                if greeting.code >= 200:
                    break
                greeting = await self.reply()  # 120 "ready in n minutes": the next one
        except (ValueError, ReadLimitExceeded) as exc:
            raise Unsupported(f"not an FTP server: {device_text(str(exc), NOBODY)}") from exc
        if greeting.code >= 400 or greeting.code < 200:
            raise Dropped(f"greeting {quoted(device_text(greeting.text, NOBODY))}", busy=True)

    async def _send(self, verb: str, argument: str) -> None:
        if "\r" in argument or "\n" in argument:
            raise ValueError("a line break in a credential would inject FTP commands")
        await self._stream.write(f"{verb} {argument}\r\n".encode())

    async def attempt(self, credential: Credential) -> Attempt:
        started = time.monotonic()
        verb = "USER"
        try:
            await self._send("USER", credential.username)
            answer = await self.answer()
            if answer.code == 331:
                started, verb = time.monotonic(), "PASS"
                await self._send("PASS", credential.password)
                answer = await self.answer()
        except (ValueError, ReadLimitExceeded) as exc:
            self.reusable = False
            return attempt(credential, Outcome.ERROR, device_text(str(exc), credential), started)
        except TimeoutError:
            self.reusable = False
            return attempt(
                credential, Outcome.ERROR, f"no reply within {self._timeout:g} s", started
            )
        return await self._judge(credential, verb, answer, started)

    async def _judge(
        self, credential: Credential, verb: str, answer: _Reply, started: float
    ) -> Attempt:
        detail = device_text(answer.text, credential)
        if answer.code == 230:
            self.reusable = False
            # the login is judged: whatever answers QUIT, garbage included, changes nothing
            with contextlib.suppress(OSError, TimeoutError, Dropped, ReadLimitExceeded, ValueError):
                await self._stream.write(b"QUIT\r\n")
                await self.reply()
            return attempt(credential, Outcome.ACCEPTED, detail, started)
        if answer.code == 421:
            raise Dropped(f"server answered {quoted(detail)}", busy=True)
        if answer.code >= 400 and looks_locked(answer.text):
            return attempt(credential, Outcome.LOCKED, detail, started)
        if answer.code == 534 or (answer.code >= 400 and _NEEDS_TLS.search(answer.text)):
            self.reusable = False
            return attempt(
                credential,
                Outcome.ERROR,
                f"{_TLS_FIRST}, which was not judged: {quoted(detail)}",
                started,
            )
        if answer.code in _REFUSED and (verb == "PASS" or answer.code == 530):
            if verb == "USER":
                detail = f"username refused: {detail}"
            return attempt(credential, Outcome.REJECTED, detail, started)
        self.reusable = False
        if 500 <= answer.code <= 504:
            why = f"{verb} not understood: not a login answer"
        else:
            why = f"unexpected reply to {verb}"
        return attempt(credential, Outcome.ERROR, f"{why}: {quoted(detail)}", started)


async def _open(stream: BoundedStream, timeout: float) -> _Session:
    session = _Session(stream, timeout)
    await session.greet()
    return session


async def _open_tls(stream: BoundedStream, timeout: float) -> _Session:
    """RFC 4217 explicit FTPS: AUTH TLS, 234, the handshake, then the same login."""
    session = _Session(stream, timeout)
    await session.greet()
    try:
        await session._send("AUTH", "TLS")
        answer = await session.answer()
    except (ValueError, ReadLimitExceeded, TimeoutError) as exc:
        raise Unsupported(f"AUTH TLS: {device_text(str(exc), NOBODY)}") from exc
    if answer.code != 234:
        raise Unsupported(f"AUTH TLS refused: {quoted(device_text(answer.text, NOBODY))}")
    try:
        await stream.start_tls(lenient_tls_context())
    except (ssl.SSLError, TimeoutError) as exc:
        raise Unsupported(f"AUTH TLS handshake failed: {type(exc).__name__}") from exc
    return _Session(stream, timeout)


def _wants_tls(run: LoginRun) -> bool:
    return any(a.detail.startswith(_TLS_FIRST) for a in run.attempts) and not any(
        a.outcome is Outcome.ACCEPTED for a in run.attempts
    )


async def try_logins(
    dev: DeviceNetwork, service: Service, credentials: Sequence[Credential], pace: Pace = PACE
) -> LoginRun:
    """Try `credentials` on an FTP service, in order; see the module docstring. A server
    that wants TLS before a login (vsftpd's force_local_logins_ssl) gets the whole list
    again over AUTH TLS, whose answers are then the run."""
    timeout, connections = pace.timeout, pace.connections
    run = await stream_logins(
        dev, service, credentials, METHOD, _open, timeout=timeout, connections=connections
    )
    if not _wants_tls(run):
        return run
    secure = await stream_logins(
        dev, service, credentials, TLS_METHOD, _open_tls, timeout=timeout, connections=connections
    )
    return secure if secure.attempts else run
