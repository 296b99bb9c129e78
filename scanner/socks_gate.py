"""A SOCKS5 listener on loopback that is the browser's only way out.

Chromium's request interception (Playwright's `route`) does not see every connection: the
target of a redirect is followed without asking it (measured with Chromium 156), and
preconnects and the browser's own background services (update checks, autofill) open
sockets of their own. So every browser context is also pointed at a gate of its own, and the
gate connects only where `admits` says, relays at most `max_bytes` from the device, and ends
every relay when the gate closes. With SOCKS5 Chromium hands over the host name unresolved,
so a name outside scope is refused here without a DNS lookup.

Browser connections take no device permit: Chromium keeps idle keep-alive sockets open, and a
page whose idle sockets held the permits would wait forever for its next resource. The gate
bounds its own connections instead (`max_connections`, each ended after `idle` seconds quiet).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

# RFC 1928 reply codes
_OK = 0x00
_FAILURE = 0x01
_NOT_ALLOWED = 0x02
_HOST_UNREACHABLE = 0x04
_REFUSED = 0x05
_COMMAND_UNSUPPORTED = 0x07
_ADDRESS_UNSUPPORTED = 0x08

MAX_REFUSED = 32  # refusals remembered for evidence


class SocksGate:
    """One SOCKS5 listener; `admits(host, port)` decides each connection.

    Resource handling: `start()` listens on `bind` (an ephemeral port); `aclose()` stops
    listening and ends every relay. Refused destinations are kept (bounded) in `refused`.
    """

    def __init__(
        self,
        admits: Callable[[str, int], bool],
        *,
        bind: str = "127.0.0.1",
        max_bytes: int = 64 * 1024 * 1024,
        max_connections: int = 8,
        connect_timeout: float = 3.0,
        idle: float = 20.0,
        pace: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._admits = admits
        self._pace = pace  # waits for the scan's next probe slot (scanner/pacing.py)
        self._bind = bind
        self._max_bytes = max_bytes
        self._slots = asyncio.Semaphore(max_connections)
        self._connect_timeout = connect_timeout
        self._idle = idle
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.received = 0  # bytes relayed from devices to the browser
        self.refused: list[str] = []
        self.connections = 0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("SocksGate not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"socks5://{host}:{port}"

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, self._bind, 0)
        return self.url

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            # asyncio's server started these tasks, so no TaskGroup of ours holds them: we
            # can only wait. Each ends quietly once cancelled (_accept); one still running
            # after 2 s is abandoned rather than holding up the shutdown.
            await asyncio.wait(self._tasks, timeout=2.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()

    def _refuse(self, what: str) -> None:
        if len(self.refused) < MAX_REFUSED and what not in self.refused:
            self.refused.append(what)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the browser gave up or the device went away: nothing to relay
        except asyncio.CancelledError:
            pass  # aclose() ends relays; this task is the gate's own, nobody awaits it
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self._connect_timeout):
            version, n_methods = await reader.readexactly(2)
            methods = await reader.readexactly(n_methods)
            if version != 5 or 0 not in methods:
                writer.write(b"\x05\xff")  # no acceptable method
                return
            writer.write(b"\x05\x00")
            version, command, _, atyp = await reader.readexactly(4)
            host = await _read_address(reader, atyp)
            port = int.from_bytes(await reader.readexactly(2), "big")
        if host is None:
            await _reply(writer, _ADDRESS_UNSUPPORTED)
            return
        if command != 1:  # only CONNECT: no BIND, no UDP ASSOCIATE
            await _reply(writer, _COMMAND_UNSUPPORTED)
            return
        if not self._admits(host, port) or self.received >= self._max_bytes:
            self._refuse(f"{host}:{port}")
            await _reply(writer, _NOT_ALLOWED)
            return
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._slots.acquire()
        except TimeoutError:
            await _reply(writer, _FAILURE)
            return
        try:
            if self._pace is not None:
                await self._pace(host)
            try:
                async with asyncio.timeout(self._connect_timeout):
                    up_reader, up_writer = await asyncio.open_connection(host, port)
            except ConnectionRefusedError:
                await _reply(writer, _REFUSED)
                return
            except (OSError, TimeoutError):
                await _reply(writer, _HOST_UNREACHABLE)
                return
            self.connections += 1
            try:
                await _reply(writer, _OK)
                await self._relay(reader, writer, up_reader, up_writer)
            finally:
                up_writer.close()
        finally:
            self._slots.release()

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            # A direction that fails (reset, idle timeout, a closed writer) has ended like
            # one at EOF: the relay is over, and nothing is raised.
            with contextlib.suppress(Exception):
                while True:
                    async with asyncio.timeout(self._idle):
                        data = await src.read(64 * 1024)
                    if not data:
                        return
                    if count:
                        self.received += len(data)
                        if self.received > self._max_bytes:
                            self._refuse(f"more than {self._max_bytes} bytes")
                            return
                    dst.write(data)
                    async with asyncio.timeout(self._idle):
                        await dst.drain()

        # Either direction ending (EOF, idle, bound, failure) ends the relay: the other is
        # cancelled, and the group waits for it.
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(pipe(reader, up_writer, False)),
                group.create_task(pipe(up_reader, writer, True)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()


async def _read_address(reader: asyncio.StreamReader, atyp: int) -> str | None:
    if atyp == 1:
        return str(ipaddress.IPv4Address(await reader.readexactly(4)))
    if atyp == 4:
        return str(ipaddress.IPv6Address(await reader.readexactly(16)))
    if atyp == 3:
        (length,) = await reader.readexactly(1)
        return (await reader.readexactly(length)).decode("ascii", "replace")
    return None


async def _reply(writer: asyncio.StreamWriter, code: int) -> None:
    writer.write(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(2.0):
            await writer.drain()
