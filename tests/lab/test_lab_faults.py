"""Each fault does exactly what its name says, and none of them looks like a protocol."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lab.personality import load_builtin
from lab.servers.faults import GARBAGE, HUGE_BANNER_SIZE
from tests.lab.lab_clients import close, connect, read_to_eof, read_until

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab


async def test_hang_after_banner_really_hangs(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("fault-hang"))
    reader, writer = await connect(device.address, 8081)
    assert await read_until(reader, b"\n") == b"Welcome\r\n"
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 1.0)
    await close(writer)


async def test_reset_mid_response_sends_rst(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("fault-reset"))
    reader, writer = await connect(device.address, 8082)
    assert await asyncio.wait_for(reader.readexactly(3), 2) == b"Wel"
    writer.write(b"hello\r\n")
    with pytest.raises(ConnectionResetError):
        await read_to_eof(reader, timeout=2)
    await close(writer)


async def test_reset_mid_response_resets_after_a_second_of_silence(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("fault-reset"))
    reader, writer = await connect(device.address, 8082)
    started = time.monotonic()
    assert await asyncio.wait_for(reader.readexactly(3), 2) == b"Wel"
    with pytest.raises(ConnectionResetError):
        await read_to_eof(reader, timeout=3)
    assert 0.8 < time.monotonic() - started < 2.5
    await close(writer)


async def test_garbage_banner_is_binary_junk_then_close(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("fault-garbage"))
    reader, writer = await connect(device.address, 8083)
    data = await read_to_eof(reader)
    await close(writer)
    assert data == GARBAGE
    assert len(data) == 256
    assert b"\x00" in data
    assert b"\xff" in data
    assert not data.startswith((b"SSH-", b"HTTP", b"\xff\xfb", b"\xff\xfd", b"\x16\x03"))
    assert not data[:3].isdigit()


async def test_huge_banner_sends_one_mebibyte_without_newline_and_holds(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("fault-huge-banner"))
    reader, writer = await connect(device.address, 8084)
    received = bytearray()
    async with asyncio.timeout(5):
        while len(received) < HUGE_BANNER_SIZE:
            received += await reader.read(65536)
    assert len(received) == HUGE_BANNER_SIZE == 1024 * 1024
    assert set(received) == {ord("A")}
    with pytest.raises(TimeoutError):  # the connection is held, not closed
        await asyncio.wait_for(reader.read(1), 0.5)
    await close(writer)


async def test_silent_accepts_and_says_nothing(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("fault-silent"))
    reader, writer = await connect(device.address, 8085)
    writer.write(b"HELLO\r\n")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 1.0)
    await close(writer)


async def test_fault_devices_survive_clients_that_vanish(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("fault-huge-banner"))
    for _ in range(3):
        _, writer = await connect(device.address, 8084)
        writer.transport.abort()
    reader, writer = await connect(device.address, 22)
    assert (await read_until(reader, b"\n")).startswith(b"SSH-2.0-")
    await close(writer)
