"""A throwaway HTTP device for the example's tests: a server on a loopback address that
answers each path as a table says, one request per connection.

Self-contained (a copy of the example carries it along); shinsa's own suite has the same
kind of helper in tests/serving.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

#: the example's addresses (shinsa's tests each own a block of 127.0.0.0/8)
PROBE_ADDRESS = "127.0.79.10"
SCAN_ADDRESS = "127.0.79.20"

NOT_FOUND = (404, b"<html><title>404 Not Found</title></html>")
#: an answer that never comes: the device reads the request and says nothing
SILENT: Final = "silent"
Answer = tuple[int, bytes] | None | Literal["silent"]


def page(title: str, text: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body>{text}</body></html>".encode()


@contextlib.asynccontextmanager
async def device(address: str, pages: Mapping[str, Answer]) -> AsyncIterator[int]:
    """Serve `pages` on `address` (a port the kernel picks, yielded; never 2024): each path
    answers (status, body), None to close the connection without a word, or SILENT to
    keep it open without a word; a path not in `pages` is 404. Every connection is closed
    when the block ends (a leaked socket is a ResourceWarning, an error under the suite's
    filterwarnings)."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            async with asyncio.timeout(8):  # a test's device never holds a client longer
                head = await reader.readuntil(b"\r\n\r\n")
                parts = head.split(b" ", 2)
                path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
                answer = pages.get(path, NOT_FOUND)
                if answer == SILENT:
                    await asyncio.sleep(8)  # until the client gives up or the block ends
                elif answer is not None:
                    status, body = answer
                    writer.write(
                        b"HTTP/1.1 %d X\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                        b"Connection: close\r\n\r\n%s" % (status, len(body), body)
                    )
                    await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(handle, address, 0)
    port = int(server.sockets[0].getsockname()[1])
    assert port != 2024  # the machine's port: never part of a test
    try:
        yield port
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)
