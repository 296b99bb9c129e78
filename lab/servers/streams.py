"""TCP listeners that remember their connections, so a lab can close hung ones on stop.

asyncio.Server.close() in Python 3.11 stops accepting but leaves open connections alone;
a lab holding a `hang-after-banner` connection would then never stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from lab.servers.limits import CHUNK, HOLD_LIMIT, MAX_LINE, READ_TIMEOUT, TLS_HANDSHAKE_TIMEOUT

log = logging.getLogger(__name__)

#: How long a finished connection may take to close cleanly before it is aborted.
CLOSE_GRACE = 2.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


class ClientMisbehaved(Exception):
    """The client broke a bound (line too long, packet too big): the device hangs up."""


# What a client hanging up, stalling or sending nonsense looks like from a handler.
CLIENT_GONE = (
    ClientMisbehaved,
    ConnectionError,
    TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ssl.SSLError,
)


class Listener:
    """Something a device started and must close: a TCP server or a UDP endpoint."""

    port: int

    async def close(self) -> None:
        raise NotImplementedError


class TcpListener(Listener):
    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        # Every connection until its transport is really closed (insertion-ordered set).
        self._open: dict[asyncio.StreamWriter, None] = {}
        self.port = 0

    async def start(self, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            host,
            port,
            ssl=context,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if context else None,
            limit=MAX_LINE * 2,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The handler runs in its own task so close() can cancel it: cancelling the task
        # asyncio.start_server made makes Python 3.11 log a spurious traceback.
        handler = asyncio.create_task(self._handler(reader, writer))
        self._connections[handler] = writer
        self._open[writer] = None
        try:
            await handler
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        except CLIENT_GONE:
            pass  # a client that goes away or stalls is normal traffic for a device
        except Exception:
            log.exception("lab server on port %d failed", self.port)
        finally:
            self._connections.pop(handler, None)
            await self._finish(writer)

    async def _finish(self, writer: asyncio.StreamWriter) -> None:
        # A TLS close waits for the client's close_notify; a client that never sends one
        # must not keep the transport (and the lab's shutdown) waiting.
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), CLOSE_GRACE)
        except (TimeoutError, *CLIENT_GONE):
            writer.transport.abort()
        finally:
            self._open.pop(writer, None)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.transport.abort()  # no FIN handshake: hung clients must not delay the stop
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=1.0)
        # Give the per-connection tasks a moment to see their aborted transports close.
        for _ in range(20):
            if not self._open:
                break
            await asyncio.sleep(0.01)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=0.5)


async def serve_tcp(
    handler: Handler, host: str, port: int, context: ssl.SSLContext | None = None
) -> TcpListener:
    """A bound, listening TCP server; raises OSError (e.g. PermissionError) when it cannot bind."""
    listener = TcpListener(handler)
    await listener.start(host, port, context)
    return listener


def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write unless the client has gone: writes to a lost connection only make asyncio warn."""
    if writer.transport.is_closing():
        raise ConnectionResetError("client went away")
    writer.write(data)


async def read_some(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> bytes:
    """The next chunk from the client; b"" at end of stream. Raises TimeoutError when it stalls."""
    return await asyncio.wait_for(reader.read(CHUNK), timeout)


async def read_line(reader: asyncio.StreamReader, timeout: float = READ_TIMEOUT) -> bytes:
    """One line of at most MAX_LINE bytes, without its line ending; b"" at end of stream."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except ValueError as exc:  # what readline raises past the reader's buffer limit
        raise ClientMisbehaved("line too long") from exc
    if len(line) > MAX_LINE:
        raise ClientMisbehaved("line too long")
    return line.rstrip(b"\r\n")


async def drain_until_closed(reader: asyncio.StreamReader, limit: float = HOLD_LIMIT) -> None:
    """Discard whatever the client sends until it hangs up, the limit passes or the lab stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            while await reader.read(CHUNK):
                pass
