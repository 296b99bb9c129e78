"""Raw printing (JetDirect, port 9100): accepts print jobs and answers PJL status queries.

Real network printers answer `@PJL INFO ID` with their model name; everything else sent to
the port is a print job and gets no answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from lab.servers.streams import Listener, serve_tcp

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

#: Longest a print job connection is held; printers drop stalled jobs after about this long.
JOB_LIMIT = 90.0
#: Most bytes of a job examined for a PJL query; the rest is discarded unread.
QUERY_WINDOW = 4096


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    model = spec.server or "shinsa-lab LaserJet"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = b""
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(JOB_LIMIT):
                while chunk := await reader.read(1024):
                    if len(seen) < QUERY_WINDOW:
                        seen += chunk
                        if b"@PJL INFO ID" in seen and b"\r\n" in seen.split(b"@PJL INFO ID")[1]:
                            writer.write(f'@PJL INFO ID\r\n"{model}"\r\n\x0c'.encode())
                            await writer.drain()
                            seen = b"\xff" * QUERY_WINDOW  # answered: the rest is the job

    return await serve_tcp(handle, host, port)
