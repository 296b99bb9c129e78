"""UDP responders: SNMP, SSDP, mDNS and CoAP, each over a real datagram socket."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import pytest

from lab.personality import load_builtin
from tests.lab.lab_clients import udp_exchange

if TYPE_CHECKING:
    from tests.lab.conftest import StartDevice

pytestmark = pytest.mark.lab

SYS_DESCR_OID = bytes.fromhex("2b06010201010100")  # 1.3.6.1.2.1.1.1.0


def snmp_get(version: int, community: bytes, oid: bytes = SYS_DESCR_OID) -> bytes:
    """A GetRequest, BER written out by hand so the test does not share the lab's codec."""
    varbind = b"\x06" + bytes([len(oid)]) + oid + b"\x05\x00"
    varbinds = b"\x30" + bytes([len(varbind) + 2]) + b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x2a" + b"\x02\x01\x00" + b"\x02\x01\x00" + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01" + bytes([version]) + b"\x04" + bytes([len(community)]) + community + pdu
    return b"\x30" + bytes([len(body)]) + body


@pytest.mark.parametrize("version", [0, 1], ids=["v1", "v2c"])
async def test_snmp_answers_sys_descr_for_a_known_community(
    start_device: StartDevice, version: int
) -> None:
    device = await start_device(load_builtin("weak-camera"))
    reply = await udp_exchange(device.address, 161, snmp_get(version, b"public"))
    assert reply is not None
    assert reply[0] == 0x30
    assert b"\x04\x06public\xa2" in reply  # community echoed, then a GetResponse PDU
    assert b"\x02\x01\x2a\x02\x01\x00\x02\x01\x00" in reply  # request id 42, no error
    assert reply.endswith(b"\x06\x08" + SYS_DESCR_OID + b"\x04\x0cACME Cam 200")


async def test_snmp_ignores_a_wrong_community(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    assert await udp_exchange(device.address, 161, snmp_get(1, b"private"), timeout=0.5) is None


async def test_snmp_second_community_and_unknown_oid(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    unknown = bytes.fromhex("2b0601020101630000")[:8]  # 1.3.6.1.2.1.1.99.0 (not in the MIB)
    reply = await udp_exchange(device.address, 161, snmp_get(1, b"private", unknown))
    assert reply is not None
    assert reply.endswith(b"\x80\x00")  # v2c noSuchObject


async def test_snmp_ignores_garbage(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    assert await udp_exchange(device.address, 161, b"\x30\x84junk", timeout=0.3) is None
    # ...and still answers afterwards.
    assert await udp_exchange(device.address, 161, snmp_get(0, b"public")) is not None


async def test_ssdp_answers_m_search(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("weak-camera"))
    search = (
        b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
        b'MAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n'
    )
    reply = await udp_exchange(device.address, 1900, search)
    assert reply is not None
    text = reply.decode()
    assert text.startswith("HTTP/1.1 200 OK\r\n")
    assert "SERVER: Linux/3.10 UPnP/1.0 ACME/1.0\r\n" in text
    assert f"LOCATION: http://{device.address}:80/" in text
    assert "ST: upnp:rootdevice\r\n" in text
    assert "USN: uuid:" in text


def dns_ptr_query(name: str, query_id: int = 0x4242) -> bytes:
    encoded = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack(">HHHHHH", query_id, 0, 1, 0, 0, 0) + encoded + struct.pack(">HH", 12, 1)


async def test_mdns_lists_service_types(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    reply = await udp_exchange(device.address, 5353, dns_ptr_query("_services._dns-sd._udp.local"))
    assert reply is not None
    query_id, flags, questions, answers = struct.unpack(">HHHH", reply[:8])
    assert (query_id, flags & 0x8000, questions) == (0x4242, 0x8000, 1)
    assert answers >= 3
    assert b"\x05_http\x04_tcp\x05local\x00" in reply
    assert b"\x04_ssh\x04_tcp\x05local\x00" in reply


async def test_mdns_is_silent_about_unknown_names(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    assert (
        await udp_exchange(device.address, 5353, dns_ptr_query("_ipp._tcp.local"), timeout=0.3)
        is None
    )


async def test_coap_well_known_core(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    token = b"\xca\xfe"
    # CON GET, message id 0x1234; Uri-Path ".well-known" (option 11), then "core" (delta 0).
    request = bytes([0x42, 0x01, 0x12, 0x34]) + token + b"\xbb.well-known\x04core"
    reply = await udp_exchange(device.address, 5683, request)
    assert reply is not None
    assert reply[0] == 0x62  # version 1, ACK, token length 2
    assert reply[1] == 0x45  # 2.05 Content
    assert reply[2:4] == b"\x12\x34"
    assert reply[4:6] == token
    assert b"\xc1\x28\xff" in reply  # Content-Format: application/link-format
    assert b"</sensors/temp>" in reply


async def test_coap_ping_gets_reset(start_device: StartDevice) -> None:
    device = await start_device(load_builtin("home-router"))
    assert await udp_exchange(device.address, 5683, b"\x40\x00\xbe\xef") == b"\x70\x00\xbe\xef"
