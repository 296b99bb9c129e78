"""Telnet login: option negotiation, login prompts, a shell prompt as oracle.

Negotiation follows RFC 1143's rules (see `TelnetDecoder`): every request that changes an
option is answered, so servers that wait for acknowledgements (Twisted, BSD-derived
telnetds) go on; the client only agrees that the server echoes and suppresses go-ahead.
Prompts are read from the last line of text with terminal escape sequences removed:
`login:`, `login as:`, `Username:`, `User Name:`, `user:`, `Password:`... whether they come
at once, late (within the timeout) or after a banner page; a page that asks to "press
enter" gets an Enter (a few times at most).

Oracle, each row a unit test (tests/unit/login/test_telnet_ftp.py):

- after the password, a shell prompt (`# `, `$ `, `> `, `% `, `>>> `) or a post-login
  banner followed by quiet, with no new login prompt and no failure text: ACCEPTED;
- a failure message ("Login incorrect", "Authentication failed"...) or a fresh login or
  password prompt after the password: REJECTED (LOCKED when the text says locked);
- a login prompt again right after the username, with no failure message: ERROR (the
  username may not even have arrived), as is no prompt at all, or text that is neither
  prompt nor failure;
- the connection closed without a failure message: the device throttling or gone: retried,
  then THROTTLED. A server that hangs up after N failures is simply reconnected.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from probes._login.common import (
    NOBODY,
    PACE,
    Dropped,
    NoLoginNeeded,
    Pace,
    attempt,
    device_text,
    looks_locked,
    stream_logins,
)
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.model import device_str, quoted
from scanner.net import ReadLimitExceeded

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork

METHOD = "telnet login"

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3
#: Output kept while waiting for a prompt: prompts are at the end, banners can be long.
KEEP = 8 * 1024
#: Quiet time after a shell prompt that confirms no login prompt follows.
CONFIRM = 0.3

_LOGIN_PROMPT = re.compile(r"(?:login(?: as)?|user ?(?:name|id)?|account)\s*:\s*\Z", re.I)
_PASSWORD_PROMPT = re.compile(r"pass(?:word|wd|code)?\s*:\s*\Z", re.I)
_SHELL_PROMPT = re.compile(r"[#$>%] ?\Z")
_FAILED = re.compile(
    r"login incorrect|authentication fail|access denied|login failed|incorrect password"
    r"|invalid (?:login|user|password|credentials)|wrong password|bad password|permission denied",
    re.I,
)
#: A banner page that waits for a key before the login prompt.
_PRESS_KEY = re.compile(r"press (?:enter|return|any key)\b.*\Z", re.I)
MAX_PAGES = 3
#: Terminal escape sequences (CSI, OSC, two-character ESC) and other control characters:
#: a prompt behind `ESC c` or followed by `ESC [4h` is still a prompt.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)
_BANNER = re.compile(r"last login|busybox|built-in shell|welcome|logged in|login successful", re.I)


class TelnetDecoder:
    """Strips telnet commands from the byte stream and answers option requests.

    Option state is kept per option and side, as RFC 1143 asks: a request that would
    change the state is answered (accepted or refused), one that would not is ignored, so
    negotiation cannot loop. Servers that wait for the acknowledgement of their own change
    (Twisted's telnet stack: WILL ECHO before the password, WONT ECHO after it, and again
    for the next login) need the second and later rounds answered too.
    Commands may be split across reads: the state persists between `feed()` calls.
    """

    #: Most refusals of one option: a server that keeps asking for what was refused is not
    #: negotiating (accepted changes need no bound: each one needs the server to flip the
    #: option first, as Twisted does twice per login).
    MAX_REFUSALS = 16

    def __init__(self) -> None:
        self._state = "data"  # data | iac | option | sb | sb_iac
        self._verb = 0
        self._him: set[int] = set()  # options the server has enabled on its side
        self._us: set[int] = set()  # options we have enabled on ours
        self._refusals: dict[int, int] = {}

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """(text bytes, negotiation replies to send)."""
        text, replies = bytearray(), bytearray()
        for byte in data:
            if self._state == "data":
                if byte == IAC:
                    self._state = "iac"
                elif byte != 0:
                    text.append(byte)
            elif self._state == "iac":
                if byte in (DO, DONT, WILL, WONT):
                    self._verb, self._state = byte, "option"
                elif byte == SB:
                    self._state = "sb"
                else:
                    if byte == IAC:
                        text.append(IAC)
                    self._state = "data"
            elif self._state == "option":
                replies += self._answer(self._verb, byte)
                self._state = "data"
            elif self._state == "sb":
                if byte == IAC:
                    self._state = "sb_iac"
            elif self._state == "sb_iac":
                self._state = "data" if byte == SE else "sb"
        return bytes(text), bytes(replies)

    def _answer(self, verb: int, option: int) -> bytes:
        reply = self._reply(verb, option)
        if not reply:
            return b""
        if (verb, reply) in ((WILL, DONT), (DO, WONT)):  # a refusal: the state stays
            refused = self._refusals.get(option, 0)
            if refused >= self.MAX_REFUSALS:
                return b""
            self._refusals[option] = refused + 1
        return bytes((IAC, reply, option))

    def _reply(self, verb: int, option: int) -> int:
        """The verb to answer with, 0 for none (the request changes nothing)."""
        if verb == WILL:
            if option in self._him:
                return 0
            if option in (ECHO, SGA):  # the server echoes (hides the password), no GA
                self._him.add(option)
                return DO
            return DONT
        if verb == WONT:
            if option not in self._him:
                return 0
            self._him.discard(option)
            return DONT  # acknowledge: the server may wait for it (Twisted does)
        if verb == DO:
            if option in self._us:
                return 0
            if option == SGA:
                self._us.add(option)
                return WILL
            return WONT
        if option not in self._us:  # DONT
            return 0
        self._us.discard(option)
        return WONT


def _last_line(text: str) -> str:
    return re.split(r"[\r\n]", _ESCAPES.sub("", text))[-1]


class _Session:
    reusable = True

    def __init__(self, stream: BoundedStream, timeout: float) -> None:
        self._stream = stream
        self._timeout = timeout
        self._decoder = TelnetDecoder()
        self._prompt: str | None = None  # "login" | "password" | None (not at a prompt)
        self._eof = False

    async def _read(self, budget: float) -> str:
        """The next chunk of text (negotiation answered), "" at EOF; TimeoutError after budget."""
        data = await self._stream.read_some(4096, timeout=max(budget, 0.01))
        if not data:
            self._eof = True
            return ""
        text, replies = self._decoder.feed(data)
        if replies:
            await self._stream.write(replies)
        return device_str(text)

    async def _until(self, done: _AnyEnd, deadline: float) -> tuple[str, bool]:
        """Text until `done` matches its end, EOF or the deadline: (text, matched)."""
        buf = ""
        while True:
            if done.search(buf):
                return buf, True
            left = deadline - time.monotonic()
            if left <= 0:
                return buf, False
            try:
                chunk = await self._read(left)
            except TimeoutError:
                return buf, False
            if self._eof:  # an empty chunk may be a packet of pure option negotiation
                return buf, False
            buf = (buf + chunk)[-KEEP:]

    async def start(self) -> None:
        """Read up to the first prompt; a shell without one means no login is needed."""
        deadline = time.monotonic() + self._timeout
        buf = ""
        pages = 0
        while time.monotonic() < deadline:
            try:
                chunk = await self._read(deadline - time.monotonic())
            except TimeoutError:
                break
            if self._eof:  # (a chunk of pure option negotiation decodes to "")
                raise Dropped("the server closed the connection before a login prompt")
            buf = (buf + chunk)[-KEEP:]
            line = _last_line(buf)
            if _LOGIN_PROMPT.search(line):
                self._prompt = "login"
                return
            if _PASSWORD_PROMPT.search(line):
                self._prompt = "password"
                return
            if _PRESS_KEY.search(line) and pages < MAX_PAGES:
                pages += 1
                await self._stream.write(b"\r\n")
                buf = ""
                continue
            if _SHELL_PROMPT.search(line) and not await self._more(CONFIRM):
                raise NoLoginNeeded(
                    f"telnet shell prompt without any login: {quoted(device_text(buf, NOBODY))}"
                )
        raise Dropped(
            f"no login prompt within {self._timeout:g} s: {quoted(device_text(buf, NOBODY))}"
        )

    async def _more(self, seconds: float) -> str:
        """Whatever text arrives within `seconds` (used to confirm a prompt is the last
        word); packets of pure option negotiation are not text, so keep waiting past them."""
        deadline = time.monotonic() + seconds
        while not self._eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return ""
            try:
                text = await self._read(left)
            except (TimeoutError, ReadLimitExceeded):
                return ""
            if text:
                return text
        return ""

    async def attempt(self, credential: Credential) -> Attempt:
        deadline = time.monotonic() + self._timeout
        if self._eof:
            raise Dropped("the server closed the connection")
        if self._prompt is None:
            text, _ = await self._until(_PROMPT_END, deadline)
            if self._set_prompt(text) is None:
                raise Dropped(f"no new login prompt: {quoted(device_text(text, credential))}")
        started = time.monotonic()
        if self._prompt == "login":
            await self._stream.write(credential.username.encode() + b"\r\n")
            self._prompt = None
            text, _ = await self._until(_PROMPT_END, deadline)
            line = _last_line(text)
            if _PASSWORD_PROMPT.search(line):
                self._prompt = "password"
            elif _LOGIN_PROMPT.search(line):
                self._prompt = "login"
                if _FAILED.search(text) or looks_locked(text):
                    return self._judged_failure(credential, text, started)
                # A new prompt and nothing else: the username may never have been read.
                return attempt(
                    credential,
                    Outcome.ERROR,
                    "login prompt again after the username, without a failure message: "
                    f"{quoted(device_text(text, credential))}",
                    started,
                )
            elif _SHELL_PROMPT.search(line):
                return attempt(
                    credential,
                    Outcome.ACCEPTED,
                    "shell prompt after the username alone: "
                    + quoted(device_text(text, credential)),
                    started,
                )
            elif self.closed():
                if _FAILED.search(text) or looks_locked(text):
                    return self._judged_failure(credential, text, started)
                raise Dropped("the server closed the connection after the username")
            else:
                return attempt(
                    credential,
                    Outcome.ERROR,
                    f"no password prompt within {self._timeout:g} s: "
                    f"{quoted(device_text(text, credential))}",
                    started,
                )
        started = time.monotonic()
        await self._stream.write(credential.password.encode() + b"\r\n")
        self._prompt = None
        return await self._judge(credential, started, deadline)

    def closed(self) -> bool:
        return self._eof

    def _set_prompt(self, text: str) -> str | None:
        line = _last_line(text)
        if _LOGIN_PROMPT.search(line):
            self._prompt = "login"
        elif _PASSWORD_PROMPT.search(line):
            self._prompt = "password"
        return self._prompt

    def _judged_failure(self, credential: Credential, text: str, started: float) -> Attempt:
        outcome = Outcome.LOCKED if looks_locked(text) else Outcome.REJECTED
        return attempt(credential, outcome, device_text(text, credential), started)

    async def _judge(self, credential: Credential, started: float, deadline: float) -> Attempt:
        text = ""
        while True:
            line = _last_line(text)
            if _LOGIN_PROMPT.search(line) or _PASSWORD_PROMPT.search(line):
                self._set_prompt(text)
                return self._judged_failure(credential, text, started)
            if _FAILED.search(text) or looks_locked(text):
                # Failure text: the next prompt (or the hang-up) follows shortly.
                more, _ = await self._until(_PROMPT_END, min(deadline, time.monotonic() + 2.0))
                text = (text + more)[-KEEP:]
                line = _last_line(text)
                if not _FAILED.search(text) and _SHELL_PROMPT.search(line):
                    pass  # "locked" in a message of the day, then a shell: judge the shell
                else:
                    self._set_prompt(text)
                    if not self._prompt and not self._eof:
                        self.reusable = False
                    return self._judged_failure(credential, text, started)
            if _SHELL_PROMPT.search(line):
                # A shell prompt: accepted unless more output (a login prompt) follows.
                more = await self._more(CONFIRM)
                if more:
                    text = (text + more)[-KEEP:]
                    continue
                self.reusable = False
                return attempt(
                    credential,
                    Outcome.ACCEPTED,
                    f"shell prompt: {quoted(device_text(text, credential))}",
                    started,
                )
            if self._eof:
                raise Dropped(
                    "the server closed the connection without answering the password"
                    + (f": {quoted(device_text(text, credential))}" if text.strip() else "")
                )
            left = deadline - time.monotonic()
            if left > 0:
                try:
                    chunk = await self._read(left)
                except TimeoutError:
                    pass
                else:  # text, EOF, or a packet of pure negotiation: look again
                    text = (text + chunk)[-KEEP:]
                    continue
            # The deadline passed with neither prompt nor failure.
            if _BANNER.search(text):
                self.reusable = False
                return attempt(
                    credential,
                    Outcome.ACCEPTED,
                    f"post-login banner, no login prompt: {quoted(device_text(text, credential))}",
                    started,
                )
            return attempt(
                credential,
                Outcome.ERROR,
                f"no recognisable answer within {self._timeout:g} s: "
                f"{quoted(device_text(text, credential))}",
                started,
            )


class _AnyEnd:
    """Matches text ending in any prompt (login, password or shell)."""

    def __init__(self, *patterns: re.Pattern[str]) -> None:
        self._patterns = patterns

    def search(self, text: str) -> bool:
        line = _last_line(text)
        return any(p.search(line) for p in self._patterns)


_PROMPT_END = _AnyEnd(_LOGIN_PROMPT, _PASSWORD_PROMPT, _SHELL_PROMPT)


async def open_session(stream: BoundedStream, timeout: float) -> _Session:
    """A telnet login session on `stream`, read up to the device's first prompt: ready for
    `attempt`. Raises `NoLoginNeeded` when a shell answers without any login, `Dropped` when
    no prompt comes within `timeout`."""
    session = _Session(stream, timeout)
    await session.start()
    return session


async def try_logins(
    dev: DeviceNetwork, service: Service, credentials: Sequence[Credential], pace: Pace = PACE
) -> LoginRun:
    """Try `credentials` on a telnet service, in order; see the module docstring."""
    timeout, connections = pace.timeout, pace.connections
    return await stream_logins(
        dev, service, credentials, METHOD, open_session, timeout=timeout, connections=connections
    )
