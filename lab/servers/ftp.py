"""FTP control connection: greeting, USER/PASS (anonymous when enabled), SYST, QUIT.

Logins go through the device's `AuthState`: a locked account gets `530 Account locked`, a
throttled client `421` (at the greeting or after PASS) and the connection closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.auth import AuthResult
from lab.servers.context import peer_address
from lab.servers.echo import echoes
from lab.servers.streams import Listener, read_line, send, serve_tcp

if TYPE_CHECKING:
    import asyncio

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

ANONYMOUS_USERS = frozenset({"anonymous", "ftp"})
MAX_COMMANDS = 200  # a client looping on commands is cut off rather than served forever
THROTTLED = b"421 Too many failed logins, try again later.\r\n"


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    # A banner without its reply code gets the 220 every FTP greeting must start with.
    greeting = spec.banner if spec.banner[:3].isdigit() else f"220 {spec.banner}"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        source = peer_address(writer)
        if device.auth.retry_after(source) is not None:
            send(writer, THROTTLED)
            await writer.drain()
            return
        send(writer, f"{greeting}\r\n".encode())
        user: str | None = None
        logged_in = False
        for _ in range(MAX_COMMANDS):
            line = (await read_line(reader)).decode("utf-8", "replace")
            if not line and reader.at_eof():
                return
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                send(writer, b"221 Goodbye.\r\n")
                await writer.drain()
                return
            if verb == "USER":
                user, logged_in = argument.strip(), False
                if user in ANONYMOUS_USERS and spec.anonymous:
                    reply = "331 Guest login ok, send your e-mail address as password."
                else:
                    reply = "331 Please specify the password."
            elif verb == "PASS":
                if user is None:
                    reply = "503 Login with USER first."
                elif user in ANONYMOUS_USERS and spec.anonymous:
                    device.auth.note_anonymous("ftp", user, source)
                    logged_in = True
                    reply = "230 Login successful."
                else:
                    result = device.auth.attempt("ftp", user, argument, source)
                    if result is AuthResult.THROTTLED:
                        send(writer, THROTTLED)
                        await writer.drain()
                        return
                    logged_in = result is AuthResult.ACCEPTED
                    if logged_in and device.personality.echo_secrets:
                        # Hostile firmware: a multi-line 230 repeating the password.
                        reply = (
                            f"230-Welcome {user}\r\n230-{echoes(argument)}\r\n230 {argument[:5]}"
                        )
                    elif logged_in:
                        reply = "230 Login successful."
                    elif result is AuthResult.LOCKED:
                        user, reply = None, "530 Account locked."
                    else:
                        user, reply = None, "530 Login incorrect."
            elif verb == "SYST":
                reply = "215 UNIX Type: L8"
            elif verb == "NOOP":
                reply = "200 NOOP ok."
            elif verb == "FEAT":
                reply = "211 No features."
            elif verb == "PWD" and logged_in:
                reply = '257 "/" is the current directory'
            elif not logged_in:
                reply = "530 Please login with USER and PASS."
            else:
                reply = "502 Command not implemented."
            send(writer, f"{reply}\r\n".encode())
            await writer.drain()

    return await serve_tcp(handle, host, port)
