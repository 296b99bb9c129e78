"""Telnet: option negotiation, banner, `login:`/`Password:` prompts, a one-word shell.

Logins go through the device's `AuthState`: a locked account is told "Account locked", a
throttled client is told so and disconnected before the next `login:` prompt.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lab.auth import AuthResult
from lab.servers.context import peer_address
from lab.servers.echo import echoes
from lab.servers.limits import MAX_LINE
from lab.servers.streams import Listener, read_some, send, serve_tcp

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, NAWS = 1, 3, 31
# What busybox telnetd opens with; scanners recognise telnet by exactly these bytes.
NEGOTIATION = bytes([IAC, DO, ECHO, IAC, DO, NAWS, IAC, WILL, ECHO, IAC, WILL, SGA])
MAX_FAILURES = 3
#: Users whose shell prompt is `# ` (uid 0 on the small devices the lab imitates).
PRIVILEGED = frozenset({"root", "admin"})
THROTTLED = b"\r\nToo many failed logins. Try again later.\r\n"
AUTO_LOGOUT = b"\r\ntimed out waiting for input: auto-logout\r\n"


class TelnetLines:
    """Turns the client's byte stream into text lines, dropping telnet commands.

    Commands can be split across reads, so the parser keeps its state between chunks.
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._state = "data"  # data | iac | option | sb | sb_iac
        self._text = bytearray()
        self._eof = False

    def feed(self, data: bytes) -> None:
        for byte in data:
            if self._state == "data":
                if byte == IAC:
                    self._state = "iac"
                elif byte != 0:  # CR NUL is a bare carriage return
                    self._text.append(byte)
            elif self._state == "iac":
                if byte in (DO, DONT, WILL, WONT):
                    self._state = "option"
                elif byte == SB:
                    self._state = "sb"
                else:
                    if byte == IAC:
                        self._text.append(IAC)  # IAC IAC is a literal 0xff
                    self._state = "data"
            elif self._state == "option":
                self._state = "data"
            elif self._state == "sb":
                if byte == IAC:
                    self._state = "sb_iac"
            elif self._state == "sb_iac":
                self._state = "data" if byte == SE else "sb"
        if len(self._text) > MAX_LINE * 4:
            raise ConnectionResetError("telnet client sent too much without a line end")

    async def readline(self) -> str | None:
        """The next line, or None once the client has closed."""
        while True:
            for end in (b"\r\n", b"\n", b"\r"):
                index = self._text.find(end)
                if index >= 0:
                    line = bytes(self._text[:index])
                    del self._text[: index + len(end)]
                    if len(line) > MAX_LINE:
                        raise ConnectionResetError("telnet line too long")
                    return line.decode("utf-8", "replace")
            if self._eof:
                return None
            data = await read_some(self._reader)
            if not data:
                self._eof = True
            self.feed(data)


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = TelnetLines(reader)
        source = peer_address(writer)
        send(writer, NEGOTIATION + f"{spec.banner}\r\n\r\n".encode())
        for _ in range(MAX_FAILURES):
            if device.auth.retry_after(source) is not None:
                send(writer, THROTTLED)
                await writer.drain()
                return
            send(writer, b"login: ")
            username = await lines.readline()
            if username is None:
                return
            send(writer, b"Password: ")
            password = await lines.readline()
            if password is None:
                return
            user = username.strip()
            result = device.auth.attempt("telnet", user, password, source)
            pause = device.auth.take_delay(source)
            if pause:
                await asyncio.sleep(pause)  # the delay policy
            if result is AuthResult.ACCEPTED:
                if device.personality.echo_secrets:  # hostile firmware: an echoing MOTD
                    motd = f"\r\nWelcome {user}! Last login with {echoes(password)}\r\n"
                else:
                    motd = f"\r\nWelcome {user}\r\n"
                send(writer, motd.encode())
                prompt = b"# " if user in PRIVILEGED else b"$ "
                await _shell(lines, writer, prompt, spec.idle_timeout)
                return
            if result is AuthResult.THROTTLED:
                send(writer, THROTTLED)
                await writer.drain()
                return
            if result is AuthResult.LOCKED:
                send(writer, b"\r\nAccount locked\r\n")
            else:
                send(writer, b"\r\nLogin incorrect\r\n")
            await asyncio.sleep(0.2)  # as /bin/login: slows guessing a little, not tests
        # After the last failure the connection ends, as busybox login does.

    return await serve_tcp(handle, host, port)


async def _shell(
    lines: TelnetLines, writer: asyncio.StreamWriter, prompt: bytes, idle_timeout: float = 0.0
) -> None:
    """`idle_timeout` (0: none): a shell idle that long is logged out, as busybox's TMOUT."""
    while True:
        send(writer, prompt)
        try:
            async with asyncio.timeout(idle_timeout or None):
                command = await lines.readline()
        except TimeoutError:
            if not idle_timeout:
                raise
            send(writer, AUTO_LOGOUT)
            await writer.drain()
            return
        if command is None or command.strip() in ("exit", "logout"):
            return
        if command.strip():
            name = command.split()[0][:32]
            send(writer, f"sh: {name}: not found\r\n".encode())
