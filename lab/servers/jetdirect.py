"""Raw printing (JetDirect, port 9100): accepts bytes, prints them nowhere, never answers.

Silence is this protocol's normal behaviour, not a fault: a scanner should name it by port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.servers.streams import Listener, drain_until_closed, serve_tcp

if TYPE_CHECKING:
    import asyncio

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

#: Printers drop an idle job connection after about this long.
IDLE_LIMIT = 90.0


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await drain_until_closed(reader, limit=IDLE_LIMIT)

    return await serve_tcp(handle, host, port)
