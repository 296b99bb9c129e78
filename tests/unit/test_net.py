"""BoundedStream: reads are bounded, and nothing after a separator is lost."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from scanner.net import Limits, Network, ReadLimitExceeded
from scanner.scope import Scope

ADDR = "127.0.38.1"


@contextlib.asynccontextmanager
async def server(payload: bytes, *, hang_up: bool = False):
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        writer.write(payload)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            if not hang_up:
                await asyncio.wait_for(reader.read(), 5)  # until the client hangs up
        writer.close()

    srv = await asyncio.start_server(handle, ADDR, 0)
    async with srv:
        yield srv.sockets[0].getsockname()[1]
        for w in writers:  # never leave a transport for the garbage collector
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()


async def test_bytes_after_the_separator_stay_for_the_next_read():
    async with server(b"220-first\r\n220 second\r\nrest") as port:
        dev = Network(Scope.of([ADDR])).device(ADDR)
        async with dev.tcp(port) as stream:
            assert await stream.read_until(b"\r\n") == b"220-first\r\n"
            assert await stream.read_until(b"\r\n") == b"220 second\r\n"
            assert await stream.read_some() == b"rest"


async def test_a_flood_without_the_separator_stops_at_the_bound():
    async with server(b"A" * 200_000) as port:
        dev = Network(Scope.of([ADDR]), Limits(max_read=4096)).device(ADDR)
        async with dev.tcp(port) as stream:
            with pytest.raises(ReadLimitExceeded):
                await stream.read_until(b"\n")


async def test_eof_before_the_separator_returns_what_came():
    async with server(b"partial", hang_up=True) as port:
        dev = Network(Scope.of([ADDR])).device(ADDR)
        async with dev.tcp(port) as stream:
            assert await stream.read_until(b"\n", timeout=2) == b"partial"
