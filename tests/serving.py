"""A throwaway TCP server for tests that play a device byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(address: str, handler: Handler) -> AsyncIterator[int]:
    """A server on `address` (port chosen by the kernel, yielded) running `handler` for
    each connection, bounded to 8 s; every connection is closed when the block ends (a
    leaked socket is a ResourceWarning, an error under filterwarnings)."""
    writers: list[asyncio.StreamWriter] = []

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            async with asyncio.timeout(8):
                await handler(reader, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(guarded, address, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)
