"""Banner-only SSH: sends the ident line, reads the client's, then hangs up.

Enough for discovery and fingerprinting (the ident names the software); key exchange and
authentication are not simulated.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from lab.servers.streams import Listener, read_line, read_some, send, serve_tcp

if TYPE_CHECKING:
    import asyncio

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

IDENT_TIMEOUT = 10.0
#: After the client's ident it sends KEXINIT; give it this long before hanging up, so the
#: client sees a closed connection rather than a reset mid-write.
LINGER = 1.0


def _ident(banner: str) -> bytes:
    """The ident line's bytes. Characters U+0080-U+00FF are sent as the single bytes
    0x80-0xff (latin-1), so a hostile personality can send a raw 0xff (fault-ssh-ff-ident);
    anything beyond latin-1 goes as UTF-8, as before."""
    try:
        return f"{banner}\r\n".encode("latin-1")
    except UnicodeEncodeError:
        return f"{banner}\r\n".encode()


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        send(writer, _ident(spec.banner))
        await read_line(reader, timeout=IDENT_TIMEOUT)
        with contextlib.suppress(TimeoutError):
            await read_some(reader, timeout=LINGER)

    return await serve_tcp(handle, host, port)
