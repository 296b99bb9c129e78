"""Services that misbehave, for the "devices lie" rule: a scanner must survive each one and
call it unidentified.

None of these byte streams resembles a real protocol, whatever label the personality gives
the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from typing import TYPE_CHECKING

from lab.servers.limits import HOLD_LIMIT
from lab.servers.streams import Handler, Listener, drain_until_closed, read_some, serve_tcp

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

HANG_BANNER = b"Welcome\r\n"
RESET_PREFIX = b"Wel"
RESET_AFTER = 1.0
HUGE_BANNER_SIZE = 1024 * 1024


def garbage() -> bytes:
    """256 fixed bytes of junk. It starts with NUL NUL 0xff NUL: not an SSH or FTP text line,
    not a telnet command (IAC is never followed by a command byte here), not a TLS record,
    not a Modbus header (protocol id 0xff00)."""
    rng = random.Random(62443)  # fixed seed: the same junk every run, so tests can pin it
    return b"\x00\x00\xff\x00" + bytes(rng.randrange(256) for _ in range(252))


GARBAGE = garbage()


async def _hang_after_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HANG_BANNER)
    await drain_until_closed(reader)


async def _reset_mid_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(RESET_PREFIX)
    await writer.drain()
    with contextlib.suppress(TimeoutError):
        await read_some(reader, timeout=RESET_AFTER)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger on, timeout 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _garbage_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(GARBAGE)
    await asyncio.wait_for(writer.drain(), timeout=5)


async def _huge_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"A" * HUGE_BANNER_SIZE)
    # Both waits end when the client closes or the lab stops; HOLD_LIMIT is the backstop.
    async with asyncio.timeout(HOLD_LIMIT):
        await writer.drain()
        await drain_until_closed(reader)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await drain_until_closed(reader)


HANDLERS: Mapping[str, Handler] = {
    "hang-after-banner": _hang_after_banner,
    "reset-mid-response": _reset_mid_response,
    "garbage-banner": _garbage_banner,
    "huge-banner": _huge_banner,
    "silent": _silent,
}


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    assert spec.fault is not None  # noqa: S101  # the device only routes faulty services here
    return await serve_tcp(HANDLERS[spec.fault], host, port)
