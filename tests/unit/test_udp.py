"""UDP discovery against tiny protocol responders started here on 127.0.32.x.

The responders build their replies with their own minimal encoders, so a parser bug in
scanner.udp cannot be hidden by the same bug on the answering side.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable
from typing import cast

import pytest

from scanner.udp import (
    UdpReply,
    coap_get_core,
    mdns_query,
    parse_coap_response,
    parse_mdns_response,
    parse_snmp_response,
    parse_ssdp_response,
    udp_scan,
)

Handler = Callable[[bytes], bytes | None]


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector datagram transport is not a DatagramTransport subclass in 3.11.
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.handler(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[str, int, Handler], asyncio.Future[None]]]:
    transports: list[asyncio.DatagramTransport] = []
    loop = asyncio.get_running_loop()

    async def start(address: str, port: int, handler: Handler) -> None:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Responder(handler), local_addr=(address, port)
        )
        transports.append(transport)

    def starter(address: str, port: int, handler: Handler) -> asyncio.Future[None]:
        return asyncio.ensure_future(start(address, port, handler))

    yield starter
    for transport in transports:
        transport.close()


# --- a minimal BER codec for the test agent -------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    assert len(body) < 0x80 or len(body) < 0x100
    length = bytes([len(body)]) if len(body) < 0x80 else bytes([0x81, len(body)])
    return bytes([tag]) + length + body


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, data[pos : pos + length], pos + length


def snmp_agent(versions: set[int], sys_descr: bytes, community: bytes = b"public") -> Handler:
    def handle(request: bytes) -> bytes | None:
        _, message, _ = _read(request, 0)
        _, version_raw, pos = _read(message, 0)
        _, got_community, pos = _read(message, pos)
        _, pdu, _ = _read(message, pos)
        _, request_id_raw, _ = _read(pdu, 0)
        version = int.from_bytes(version_raw, "big")
        if version not in versions or got_community != community:
            return None
        oid = bytes([0x06, 8, 0x2B, 6, 1, 2, 1, 1, 1, 0])
        varbind = _tlv(0x30, oid + _tlv(0x04, sys_descr))
        body = (_tlv(0x02, request_id_raw) + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00")) + _tlv(
            0x30, varbind
        )
        return _tlv(0x30, _tlv(0x02, version_raw) + _tlv(0x04, community) + _tlv(0xA2, body))

    return handle


def ssdp_device(request: bytes) -> bytes | None:
    if not request.startswith(b"M-SEARCH * HTTP/1.1\r\n") or b"ssdp:discover" not in request:
        return None
    return (
        b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
        b"LOCATION: http://127.0.32.1:49152/desc.xml\r\nSERVER: Linux/4.9 UPnP/1.0 TestCam/2.1\r\n"
        b"ST: upnp:rootdevice\r\nUSN: uuid:1234::upnp:rootdevice\r\n\r\n"
    )


def _name(*labels: str) -> bytes:
    return b"".join(bytes([len(x)]) + x.encode() for x in labels) + b"\x00"


def mdns_device(request: bytes) -> bytes | None:
    ident = request[:2]
    question = request[12:]
    # Two PTR answers whose owner name points back at the question (offset 12).
    answers = b""
    for service in (("_http", "_tcp", "local"), ("_ipp", "_tcp", "local")):
        rdata = _name(*service)
        answers += b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 120, len(rdata)) + rdata
    return ident + struct.pack("!HHHHH", 0x8400, 1, 2, 0, 0) + question + answers


def coap_device(request: bytes) -> bytes | None:
    tkl = request[0] & 0x0F
    message_id = request[2:4]
    token = request[4 : 4 + tkl]
    if b"well-known" not in request or b"core" not in request:
        return None
    payload = b'</sensors/temp>;rt="temperature";if="sensor"'
    header = bytes([0x60 | tkl, 0x45]) + message_id + token  # ACK, 2.05 Content
    return header + bytes([0xC1, 40]) + b"\xff" + payload  # Content-Format 40


# --- the scan ---------------------------------------------------------------------------------


async def test_each_protocol_is_recognised(serve: Callable[..., asyncio.Future[None]]) -> None:
    address = "127.0.32.1"
    await serve(address, 161, snmp_agent({0, 1}, b"TestCam firmware 2.1\r\nbuild 7"))
    await serve(address, 1900, ssdp_device)
    await serve(address, 5353, mdns_device)
    await serve(address, 5683, coap_device)
    found = await udp_scan([address], [161, 1900, 5353, 5683], timeout=1.0)
    replies = {(r.port, r.request.split()[0]): r for r in found[address]}
    assert set(replies) == {
        (161, "SNMPv1"),
        (161, "SNMPv2c"),
        (1900, "SSDP"),
        (5353, "mDNS"),
        (5683, "CoAP"),
    }
    assert (
        replies[(161, "SNMPv1")].response == "TestCam firmware 2.1  build 7"
    )  # CR LF -> two spaces
    assert replies[(161, "SNMPv2c")].community == "public"
    ssdp = replies[(1900, "SSDP")].response
    assert "SERVER: Linux/4.9 UPnP/1.0 TestCam/2.1" in ssdp
    assert "LOCATION: http://127.0.32.1:49152/desc.xml" in ssdp
    assert replies[(5353, "mDNS")].response == "services: _http._tcp.local, _ipp._tcp.local"
    assert replies[(5683, "CoAP")].response.startswith("2.05 </sensors/temp>")
    assert {r.protocol for r in found[address]} == {"snmp", "ssdp", "mdns", "coap"}


async def test_snmp_v1_only_agent_reports_only_v1(
    serve: Callable[..., asyncio.Future[None]],
) -> None:
    await serve("127.0.32.2", 161, snmp_agent({0}, b"old agent"))
    found = await udp_scan(["127.0.32.2"], [161], timeout=0.5, retries=0)
    assert [r.request.split()[0] for r in found["127.0.32.2"]] == ["SNMPv1"]


async def test_wrong_community_agent_is_silent(serve: Callable[..., asyncio.Future[None]]) -> None:
    await serve("127.0.32.3", 161, snmp_agent({0, 1}, b"x", community=b"s3cret"))
    found = await udp_scan(["127.0.32.3"], [161], timeout=0.3, retries=1)
    assert found == {"127.0.32.3": ()}


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02garbage",
        b"HTTP/1.1 404 Not Found\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"\x30\x82\xff\xff\x02\x01\x00",  # BER length past the end
        b"\x30\x03\x02\x01\x00",  # SNMP-ish, no PDU
    ],
)
async def test_garbage_replies_are_ignored(
    serve: Callable[..., asyncio.Future[None]], garbage: bytes
) -> None:
    address = "127.0.32.4"
    for port in (161, 1900, 5353, 5683):
        await serve(address, port, lambda _request, reply=garbage: reply)
    found = await udp_scan([address], [161, 1900, 5353, 5683], timeout=0.3, retries=0)
    assert found == {address: ()}


async def test_echoed_request_is_not_a_reply(serve: Callable[..., asyncio.Future[None]]) -> None:
    address = "127.0.32.5"
    for port in (161, 1900, 5353, 5683):
        await serve(address, port, lambda request: request)
    found = await udp_scan([address], [161, 1900, 5353, 5683], timeout=0.3, retries=0)
    assert found == {address: ()}


async def test_ports_without_a_known_payload_are_not_probed(
    serve: Callable[..., asyncio.Future[None]],
) -> None:
    seen: list[bytes] = []

    def record(request: bytes) -> None:
        seen.append(request)

    await serve("127.0.32.6", 20053, record)
    found = await udp_scan(["127.0.32.6"], [20053], timeout=0.2)
    assert found == {"127.0.32.6": ()}
    assert seen == []


async def test_silent_host_retries_then_gives_up_in_bounded_time(
    serve: Callable[..., asyncio.Future[None]],
) -> None:
    requests: list[bytes] = []

    def count(request: bytes) -> None:
        requests.append(request)

    await serve("127.0.32.7", 5683, count)
    started = asyncio.get_running_loop().time()
    found = await udp_scan(["127.0.32.7"], [5683], timeout=0.2, retries=2)
    assert found == {"127.0.32.7": ()}
    assert len(requests) == 3
    assert asyncio.get_running_loop().time() - started < 1.5


# --- parsers, no sockets ----------------------------------------------------------------------


def test_snmp_parser_reads_a_hand_built_response() -> None:
    agent = snmp_agent({1}, b"RouterOS 7")
    # A v2c GetRequest as the scanner sends it, answered by the test agent.
    from scanner.udp import snmp_get_request

    reply = agent(snmp_get_request(1, "public", 0x1234))
    assert reply is not None
    parsed = parse_snmp_response(reply)
    assert parsed is not None
    assert (parsed.version, parsed.request_id, parsed.value) == (1, 0x1234, b"RouterOS 7")


def test_ssdp_parser_requires_discovery_headers() -> None:
    assert parse_ssdp_response(b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n") == (
        "ST: upnp:rootdevice"
    )
    assert parse_ssdp_response(b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n") is None


def test_mdns_parser_survives_pointer_loops() -> None:
    loop = struct.pack("!HHHHHH", 7, 0x8400, 0, 1, 0, 0) + b"\xc0\x0c"
    assert parse_mdns_response(loop, 7) is None
    assert parse_mdns_response(mdns_query(7), 7) is None  # a query is not a response


def test_coap_parser_checks_token_and_message_id() -> None:
    request = coap_get_core(0x1111, b"abcd")
    reply = coap_device(request)
    assert reply is not None
    assert parse_coap_response(reply, 0x1111, b"abcd") is not None
    assert parse_coap_response(reply, 0x2222, b"abcd") is None
    assert parse_coap_response(reply, 0x1111, b"zzzz") is None


def test_reply_is_frozen_data() -> None:
    reply = UdpReply(161, "snmp", "req", "resp", "public")
    with pytest.raises(AttributeError):
        reply.port = 162  # type: ignore[misc]
