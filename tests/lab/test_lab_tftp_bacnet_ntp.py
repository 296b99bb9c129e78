"""The TFTP, BACnet/IP and NTP responders, spoken to with hand-built datagrams."""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

import pytest

from lab.personality import load_builtin, parse
from tests.lab.lab_clients import udp_exchange

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab

RRQ = b"\x00\x01no-such-file.bin\x00octet\x00"


class _AnySource(asyncio.DatagramProtocol):
    """Catches the first datagram from any port: TFTP answers from a new one."""

    def __init__(self) -> None:
        self.reply: asyncio.Future[tuple[bytes, tuple[str, int]]] = (
            asyncio.get_running_loop().create_future()
        )

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.reply.done():
            self.reply.set_result((data, addr))


async def unconnected_exchange(
    address: str, port: int, payload: bytes, timeout: float = 1.0
) -> tuple[bytes, tuple[str, int]] | None:
    loop = asyncio.get_running_loop()
    transport, catcher = await loop.create_datagram_endpoint(
        _AnySource, local_addr=("127.0.0.1", 0)
    )
    try:
        transport.sendto(payload, (address, port))
        try:
            return await asyncio.wait_for(catcher.reply, timeout)
        except TimeoutError:
            return None
    finally:
        transport.close()


def tftp_port(services: Sequence[Service]) -> int:
    return next(s.port for s in services if s.protocol == "tftp")


async def test_tftp_read_request_gets_file_not_found_from_a_new_port(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("home-router"))
    port = tftp_port(device.services)
    got = await unconnected_exchange(device.address, port, RRQ)
    assert got is not None
    reply, (host, source_port) = got
    assert reply == b"\x00\x05\x00\x01File not found\x00"
    assert host == device.address
    assert source_port != port  # a fresh transfer ID, per RFC 1350 §4


async def test_tftp_write_request_is_refused(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    wrq = b"\x00\x02upload.bin\x00NETASCII\x00"
    got = await unconnected_exchange(device.address, tftp_port(device.services), wrq)
    assert got is not None
    assert got[0] == b"\x00\x05\x00\x02Access violation\x00"


@pytest.mark.parametrize(
    "datagram",
    [
        b"\x00\x04\x00\x01",  # ACK for a transfer that does not exist
        b"\x00\x01name-without-mode\x00",
        b"\x00\x01file\x00gopher\x00",  # unknown mode
        b"\x00\x01\x00octet\x00",  # empty file name
        b"\x01",
    ],
)
async def test_tftp_is_silent_to_anything_but_a_request(
    start_device: StartDevice, datagram: bytes
) -> None:
    device = await start_device(load_builtin("home-router"))
    port = tftp_port(device.services)
    assert await unconnected_exchange(device.address, port, datagram, 0.3) is None
    assert await unconnected_exchange(device.address, port, RRQ) is not None  # still serving


WHO_IS = b"\x81\x0a\x00\x08\x01\x00\x10\x08"


def who_is_range(low: int, high: int) -> bytes:
    npdu = b"\x01\x00\x10\x08\x0a" + low.to_bytes(2, "big") + b"\x1a" + high.to_bytes(2, "big")
    return b"\x81\x0a" + (len(npdu) + 4).to_bytes(2, "big") + npdu


async def test_bacnet_who_is_gets_i_am_with_the_configured_instance(
    start_device: StartDevice,
) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    reply = await udp_exchange(device.address, 47808, WHO_IS)
    assert reply is not None
    assert reply[:2] == b"\x81\x0a"  # BVLC Original-Unicast-NPDU
    assert int.from_bytes(reply[2:4], "big") == len(reply)
    assert reply[4:8] == b"\x01\x00\x10\x00"  # NPDU v1, unconfirmed I-Am
    assert reply[8] == 0xC4
    object_id = int.from_bytes(reply[9:13], "big")
    assert (object_id >> 22, object_id & 0x3FFFFF) == (8, 1234)


@pytest.mark.parametrize(("low", "high", "answers"), [(1000, 2000, True), (1, 1233, False)])
async def test_bacnet_who_is_range_is_honoured(
    start_device: StartDevice, low: int, high: int, answers: bool
) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    reply = await udp_exchange(device.address, 47808, who_is_range(low, high), timeout=0.3)
    assert (reply is not None) is answers


async def test_bacnet_ignores_other_services_and_junk(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("legacy-plc"))
    i_am = b"\x81\x0a\x00\x0d\x01\x00\x10\x00\xc4\x02\x00\x00\x01"
    for datagram in (i_am, b"\x81\x0a\x00\x09\x01\x00\x10\x08", WHO_IS[:-1], b"\x81"):
        assert await udp_exchange(device.address, 47808, datagram, timeout=0.2) is None
    assert await udp_exchange(device.address, 47808, WHO_IS) is not None


def test_bacnet_instance_must_be_a_22_bit_integer() -> None:
    base = {"name": "t", "services": [{"port": 47808, "protocol": "bacnet"}]}
    assert parse(base, "t.yaml").services[0].instance == 1
    for bad in (4194303, -1, "12", True):
        data = {"name": "t", "services": [{"port": 47808, "protocol": "bacnet", "instance": bad}]}
        with pytest.raises(ValueError, match=r"^t\.yaml: services\[0\]\.instance:"):
            parse(data, "t.yaml")


async def test_ntp_answers_a_client_request(start_device: StartDevice) -> None:
    clock = parse({"name": "clock", "services": [{"port": 123, "protocol": "ntp"}]}, "clock.yaml")
    device = await start_device(clock)
    transmit = bytes.fromhex("0123456789abcdef")
    request = b"\x23" + bytes(39) + transmit  # v4, mode 3
    reply = await udp_exchange(device.address, device.services[0].port, request)
    assert reply is not None
    assert len(reply) == 48
    assert (reply[0] & 7, (reply[0] >> 3) & 7, reply[1]) == (4, 4, 2)  # server, v4, stratum 2
    assert reply[24:32] == transmit  # origin timestamp echoes ours
    seconds = struct.unpack_from("!I", reply, 40)[0]
    assert seconds > 3_900_000_000  # after 2023 in NTP era 0
    assert await udp_exchange(device.address, device.services[0].port, reply, 0.2) is None
