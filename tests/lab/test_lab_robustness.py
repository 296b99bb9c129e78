"""Devices shrug off clients that flood, send junk or vanish, and keep serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import TYPE_CHECKING

import pytest

from lab.personality import load_builtin
from tests.lab.lab_clients import close, connect, read_until, udp_exchange

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab

# binary, then one line far past any line limit. The first byte is 0x00: random bytes
# starting 0x40-0x7f sometimes make a valid CoAP header (version 1), which the lab's CoAP
# port rightly answers (4.04); a zero byte is no request of any UDP protocol the lab speaks
# (CoAP version 0, not SNMP's 0x30 SEQUENCE, not BACnet's 0x81, not SSDP's text)
JUNK = b"\x00" + os.urandom(2999) + b"x" * 20_000


@pytest.mark.parametrize(
    "name",
    ["home-router", "legacy-plc", "weak-camera", "ssh-camera", "json-api-hub", "lockout-router"],
)
async def test_junk_and_vanishing_clients_break_nothing(
    start_device: StartDevice, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lab")
    device = await start_device(load_builtin(name))
    for service in device.services:
        if service.transport == "udp":
            assert await udp_exchange(device.address, service.port, JUNK[:1400], 0.2) is None
            continue
        _, writer = await connect(device.address, service.port, tls=service.tls)
        writer.transport.abort()  # gone before the device says anything
        _, writer = await connect(device.address, service.port, tls=service.tls)
        writer.write(JUNK)
        with contextlib.suppress(ConnectionError, TimeoutError):  # hanging up mid-flood is fine
            await asyncio.wait_for(writer.drain(), 2)
        await close(writer)
    await asyncio.sleep(0.1)  # let the servers notice the closes
    assert [r.getMessage() for r in caplog.records] == []
    first_tcp = next(s for s in device.services if s.transport == "tcp")
    reader, writer = await connect(device.address, first_tcp.port, tls=first_tcp.tls)
    try:
        if first_tcp.protocol in ("ssh", "telnet"):
            await read_until(reader, b"\n")
    finally:
        await close(writer)
