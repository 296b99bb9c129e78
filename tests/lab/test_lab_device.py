"""LabDevice and Lab: bound before return, ground truth per service, fast and complete stop."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lab import addresses
from lab.device import Lab, LabDevice
from lab.personality import load_builtin, parse
from lab.servers import streams
from scanner.model import Service
from tests.lab.lab_clients import close, connect, read_until

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab


async def test_every_tcp_service_accepts_as_soon_as_the_device_is_entered(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("home-router"))
    for service in device.services:
        if service.transport == "tcp":
            _, writer = await connect(device.address, service.port, tls=False)
            await close(writer)


async def test_services_are_the_ground_truth(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    by_port = {s.port: s for s in device.services}
    assert by_port[443] == Service("tcp", 443, "https", tls=True)
    assert by_port[8883] == Service("tcp", 8883, "mqtts", tls=True)
    assert by_port[161] == Service("udp", 161, "snmp")
    assert by_port[9100] == Service("tcp", 9100, "jetdirect")
    assert len(device.services) == len(load_builtin("home-router").services)


async def test_a_faulty_service_is_expected_unidentified(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("fault-hang"))
    assert {(s.port, s.protocol) for s in device.services} == {(22, "ssh"), (8081, "unknown")}


async def test_low_port_moves_up_10000_when_binding_is_not_permitted(
    start_device: StartDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_serve_tcp = streams.serve_tcp

    async def unprivileged(
        handler: streams.Handler, host: str, port: int, context: object = None
    ) -> streams.TcpListener:
        if port < 1024:
            raise PermissionError(13, "Permission denied")
        return await real_serve_tcp(handler, host, port, context)  # type: ignore[arg-type]

    for module in ("ssh_banner", "http"):
        monkeypatch.setattr(f"lab.servers.{module}.serve_tcp", unprivileged)
    device = await start_device(load_builtin("hardened-gateway"))
    assert [s.port for s in device.services] == [10022, 10443]
    reader, writer = await connect(device.address, 10022)
    assert (await read_until(reader, b"\n")).startswith(b"SSH-2.0-")
    await close(writer)


async def test_stop_closes_hung_connections_within_two_seconds(lab_address: str) -> None:
    device = LabDevice(load_builtin("fault-hang"), lab_address)
    async with device:
        reader, writer = await connect(lab_address, 8081)
        await read_until(reader, b"Welcome\r\n")
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    assert await asyncio.wait_for(reader.read(100), 2) == b""  # the device really hung up
    await close(writer)


async def test_a_failed_start_releases_what_was_bound(lab_address: str) -> None:
    clash = parse(
        {
            "name": "clash",
            "services": [{"port": 8000, "protocol": "http"}, {"port": 8001, "protocol": "http"}],
        },
        "test",
    )
    async with LabDevice(clash, lab_address):
        pass
    blocker = await asyncio.start_server(lambda r, w: None, lab_address, 8001)
    try:
        with pytest.raises(OSError, match="address already in use"):
            async with LabDevice(clash, lab_address):
                pass
        # Port 8000 was released: a second device can bind it.
        single = parse({"name": "one", "services": [{"port": 8000, "protocol": "http"}]}, "test")
        async with LabDevice(single, lab_address):
            pass
    finally:
        blocker.close()
        await blocker.wait_closed()


async def test_lab_gives_devices_consecutive_addresses() -> None:
    base = addresses.test_network(None).network_address
    personalities = [load_builtin("fault-silent"), load_builtin("legacy-plc")]
    async with Lab(personalities, str(base + 140)) as lab:
        assert [d.address for d in lab.devices] == [str(base + 140), str(base + 141)]
        assert [d.name for d in lab.devices] == ["fault-silent", "legacy-plc"]
        _, writer = await connect(lab.devices[1].address, 502)
        await close(writer)
