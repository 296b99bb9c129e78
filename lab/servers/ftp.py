"""FTP control connection: greeting, USER/PASS (anonymous when enabled), SYST, QUIT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.servers.streams import Listener, read_line, send, serve_tcp

if TYPE_CHECKING:
    import asyncio

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

ANONYMOUS_USERS = frozenset({"anonymous", "ftp"})
MAX_COMMANDS = 200  # a client looping on commands is cut off rather than served forever


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    # A banner without its reply code gets the 220 every FTP greeting must start with.
    greeting = spec.banner if spec.banner[:3].isdigit() else f"220 {spec.banner}"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
                elif (user in ANONYMOUS_USERS and spec.anonymous) or device.personality.check_login(
                    user, argument
                ):
                    logged_in = True
                    reply = "230 Login successful."
                else:
                    user = None
                    reply = "530 Login incorrect."
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
