"""UDP discovery against tiny protocol responders started here on 127.0.32.x.

The responders build their replies with their own minimal encoders, so a parser bug in
scanner.discovery.udp cannot be hidden by the same bug on the answering side.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import socket
import struct
from collections.abc import AsyncIterator, Callable
from typing import cast

import pytest

from scanner.discovery import udp_protocols
from scanner.discovery.udp import PROTOCOL_BY_PORT, PROTOCOLS, UdpReply, udp_scan, unprobed
from scanner.discovery.udp_protocols.bacnet import BACNET_WHO_IS, parse_bacnet_i_am
from scanner.discovery.udp_protocols.coap import coap_get_core, parse_coap_response
from scanner.discovery.udp_protocols.dns import dns_version_query, parse_dns_response
from scanner.discovery.udp_protocols.enip import enip_list_identity, parse_enip_identity
from scanner.discovery.udp_protocols.ipmi import asf_presence_ping, parse_asf_pong
from scanner.discovery.udp_protocols.mdns import mdns_query, parse_mdns_response
from scanner.discovery.udp_protocols.ntp import ntp_client_request, parse_ntp_response
from scanner.discovery.udp_protocols.snmp import parse_snmp_response
from scanner.discovery.udp_protocols.ssdp import parse_ssdp_response
from scanner.discovery.udp_protocols.tftp import parse_tftp_response, tftp_read_request

Handler = Callable[[bytes], bytes | None]


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler, reply_from: str | None = None) -> None:
        self.handler = handler
        self.reply_from = reply_from  # answer from a fresh port on this address (TFTP)
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector datagram transport is not a DatagramTransport subclass in 3.11.
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.handler(data)
        if reply is None or self.transport is None:
            return
        if self.reply_from is None:
            self.transport.sendto(reply, addr)
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fresh:
            fresh.bind((self.reply_from, 0))
            fresh.sendto(reply, addr)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[str, int, Handler], asyncio.Future[None]]]:
    transports: list[asyncio.DatagramTransport] = []
    loop = asyncio.get_running_loop()

    async def start(address: str, port: int, handler: Handler, reply_from: str | None) -> None:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Responder(handler, reply_from), local_addr=(address, port)
        )
        transports.append(transport)

    def starter(
        address: str, port: int, handler: Handler, reply_from: str | None = None
    ) -> asyncio.Future[None]:
        return asyncio.ensure_future(start(address, port, handler, reply_from))

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


def dns_server(request: bytes) -> bytes | None:
    """Answers version.bind with a TXT record whose owner points back at the question."""
    if request[2] & 0x80:
        return None
    question = request[12:]
    version = b"9.18.24-lab"
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 16, 3, 0, len(version) + 1)
    answer += bytes([len(version)]) + version
    return request[:2] + struct.pack("!HHHHH", 0x8400, 1, 1, 0, 0) + question + answer


def dns_refusing(request: bytes) -> bytes | None:
    return request[:2] + struct.pack("!HHHHH", 0x8005, 1, 0, 0, 0) + request[12:]


def tftp_server(request: bytes) -> bytes | None:
    if request[:2] != b"\x00\x01" or not request.endswith(b"\x00octet\x00"):
        return None
    return b"\x00\x05\x00\x01File not found\x00"


def ntp_server(request: bytes) -> bytes | None:
    if len(request) != 48 or request[0] & 7 != 3:
        return None
    head = bytes([0x24, 3, request[2], 0xEC]) + bytes(8) + bytes([10, 0, 0, 1])
    now = bytes([0xE9, 0, 0, 0, 0, 0, 0, 0])
    return head + now + request[40:48] + now + now


def asf_responder(request: bytes) -> bytes | None:
    if request[:4] != b"\x06\x00\xff\x06" or request[8] != 0x80:
        return None
    data = bytes.fromhex("000011be 00000000 81 00 000000000000")
    return bytes.fromhex("0600ff06 000011be 40") + request[9:10] + b"\x00\x10" + data


def i_am(object_type: int = 8, instance: int = 4321) -> bytes:
    object_id = ((object_type << 22) | instance).to_bytes(4, "big")
    npdu = b"\x01\x00\x10\x00\xc4" + object_id + b"\x22\x05\xc4\x91\x03\x22\x01\x04"
    return b"\x81\x0a" + (len(npdu) + 4).to_bytes(2, "big") + npdu


def bacnet_device(request: bytes) -> bytes | None:
    return i_am() if request.endswith(b"\x10\x08") else None


def enip_adapter(request: bytes) -> bytes | None:
    if request[:2] != b"\x63\x00":
        return None
    name = b"1756-L61/B LOGIX5561"
    sockaddr = struct.pack("!HH4s8x", 2, 44818, bytes([127, 0, 33, 1]))
    item = (
        struct.pack("<H", 1)
        + sockaddr
        + struct.pack("<HHHBBHI", 1, 0x0E, 0x36, 20, 11, 0, 0xC0FFEE)
        + bytes([len(name)])
        + name
        + b"\x03"
    )
    body = struct.pack("<HHH", 1, 0x0C, len(item)) + item
    return struct.pack("<HHII", 0x63, len(body), 0, 0) + request[12:20] + bytes(4) + body


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


ALL_PORTS = sorted(PROTOCOL_BY_PORT)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02garbage",
        b"HTTP/1.1 404 Not Found\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"\x30\x82\xff\xff\x02\x01\x00",  # BER length past the end
        b"\x30\x03\x02\x01\x00",  # SNMP-ish, no PDU
        b"\x00\x05\x00\x01no terminator",  # TFTP ERROR without its NUL
        b"\x81\x0a\x00\x40\x01\x00\x10\x00",  # BVLC length past the end
        b"\x06\x00\xff\x06\x00\x00\x11\xbe\x40",  # a pong cut short
        bytes(48),  # all-zero NTP-sized datagram (mode 0)
    ],
)
async def test_garbage_replies_are_ignored(
    serve: Callable[..., asyncio.Future[None]], garbage: bytes
) -> None:
    address = "127.0.32.4"
    for port in ALL_PORTS:
        await serve(address, port, lambda _request, reply=garbage: reply)
    found = await udp_scan([address], ALL_PORTS, timeout=0.3, retries=0)
    assert found == {address: ()}


async def test_echoed_request_is_not_a_reply(serve: Callable[..., asyncio.Future[None]]) -> None:
    address = "127.0.32.5"
    for port in ALL_PORTS:
        await serve(address, port, lambda request: request)
    found = await udp_scan([address], ALL_PORTS, timeout=0.3, retries=0)
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


NEW_PORTS = [53, 69, 123, 623, 47808, 44818]


async def test_newer_protocols_are_recognised(serve: Callable[..., asyncio.Future[None]]) -> None:
    address = "127.0.33.1"
    await serve(address, 53, dns_server)
    await serve(address, 69, tftp_server, reply_from=address)  # new port, as RFC 1350 says
    await serve(address, 123, ntp_server)
    await serve(address, 623, asf_responder)
    await serve(address, 47808, bacnet_device)
    await serve(address, 44818, enip_adapter)
    found = await udp_scan([address], NEW_PORTS, timeout=1.0)
    replies = {r.protocol: r for r in found[address]}
    assert set(replies) == {"dns", "tftp", "ntp", "ipmi", "bacnet", "enip"}
    assert {r.port for r in found[address]} == set(NEW_PORTS)
    assert replies["dns"].response == "NOERROR, version.bind '9.18.24-lab'"
    assert replies["tftp"].response == "error 1: File not found"
    assert replies["ntp"].response == "NTPv4 stratum 3"
    assert replies["ipmi"].response == "IPMI supported, ASF 1.0, no RMCP security extensions"
    assert replies["bacnet"].response == "device instance 4321, vendor 260"
    assert replies["enip"].response == (
        "1756-L61/B LOGIX5561, vendor 1, device type 14, revision 20.11"
    )


async def test_dns_refused_still_identifies_dns(serve: Callable[..., asyncio.Future[None]]) -> None:
    await serve("127.0.33.7", 53, dns_refusing)
    found = await udp_scan(["127.0.33.7"], [53], timeout=0.5, retries=0)
    assert [(r.protocol, r.response) for r in found["127.0.33.7"]] == [("dns", "REFUSED")]


def _mismatched(port: int) -> Handler:
    """A reply of the right protocol that answers some other request."""

    def handle(request: bytes) -> bytes | None:
        if port == 53:
            reply = dns_server(request)
            assert reply is not None
            return bytes([reply[0] ^ 0xFF]) + reply[1:]  # another query ID
        if port == 69:
            return b"\x00\x04\x00\x00"  # an ACK is not an answer to a read request
        if port == 123:
            reply = ntp_server(request)
            assert reply is not None
            return reply[:24] + bytes(8) + reply[32:]  # origin timestamp not ours
        if port == 623:
            reply = asf_responder(request)
            assert reply is not None
            return reply[:9] + bytes([reply[9] ^ 1]) + reply[10:]  # another message tag
        if port == 47808:
            return i_am(object_type=0)  # an analog-input is not a device
        reply = enip_adapter(request)
        assert reply is not None
        return reply[:12] + bytes(8) + reply[20:]  # another sender context

    return handle


async def test_mismatched_replies_are_ignored(serve: Callable[..., asyncio.Future[None]]) -> None:
    address = "127.0.33.4"
    for port in NEW_PORTS:
        await serve(address, port, _mismatched(port))
    found = await udp_scan([address], NEW_PORTS, timeout=0.3, retries=0)
    assert found == {address: ()}


async def test_tftp_answer_from_another_address_is_ignored(
    serve: Callable[..., asyncio.Future[None]],
) -> None:
    # The port may change (RFC 1350 transfer IDs); the address may not.
    await serve("127.0.33.5", 69, tftp_server, reply_from="127.0.33.6")
    found = await udp_scan(["127.0.33.5"], [69], timeout=0.3, retries=0)
    assert found == {"127.0.33.5": ()}


def test_unprobed_names_ports_without_a_payload() -> None:
    default_udp = (53, 69, 123, 161, 500, 623, 1900, 5353, 5683, 47808, 20000, 44818)
    assert unprobed(default_udp) == (500, 20000)
    assert unprobed([20000, 7, 7, 161]) == (7, 20000)
    assert unprobed([]) == ()
    assert unprobed(PROTOCOL_BY_PORT) == ()


def test_the_protocol_table_lists_every_protocol_module_once() -> None:
    # One table: a protocol module left out of PROTOCOLS would never be spoken, and a port
    # claimed twice would silently go to whichever protocol came last.
    names = {m.name for m in pkgutil.iter_modules(udp_protocols.__path__)} - {"spec"}
    declared = {
        importlib.import_module(f"scanner.discovery.udp_protocols.{name}").PROTOCOL
        for name in names
    }
    assert set(PROTOCOLS) == declared
    assert len(PROTOCOLS) == len(declared)
    ports = [port for protocol in PROTOCOLS for port in protocol.ports]
    assert len(ports) == len(set(ports))
    assert 2024 not in ports
    assert PROTOCOL_BY_PORT == {
        53: "dns",
        69: "tftp",
        123: "ntp",
        161: "snmp",
        623: "ipmi",
        1161: "snmp",
        1900: "ssdp",
        5353: "mdns",
        5683: "coap",
        47808: "bacnet",
        44818: "enip",
    }
    assert {p.name for p in PROTOCOLS if p.any_source_port} == {"ssdp", "tftp"}


# --- parsers, no sockets ----------------------------------------------------------------------


def test_snmp_parser_reads_a_hand_built_response() -> None:
    agent = snmp_agent({1}, b"RouterOS 7")
    # A v2c GetRequest as the scanner sends it, answered by the test agent.
    from scanner.discovery.udp_protocols.snmp import snmp_get_request

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


def test_dns_parser_checks_id_qr_and_question() -> None:
    query = dns_version_query(0x1234)
    reply = dns_server(query)
    assert reply is not None
    assert parse_dns_response(reply, 0x1234) == "NOERROR, version.bind '9.18.24-lab'"
    assert parse_dns_response(reply, 0x1235) is None
    assert parse_dns_response(query, 0x1234) is None  # QR=0: our own query echoed
    other = dns_server(query.replace(b"\x07version", b"\x07hostnam"))
    assert other is not None
    assert parse_dns_response(other, 0x1234) is None  # answers another question
    long_version = reply[:-12] + bytes([11 + 200]) + b"9" * 200 + reply[-11:]
    patched = long_version[: 12 + 18 + 10] + (212).to_bytes(2, "big") + long_version[12 + 18 + 12 :]
    summary = parse_dns_response(patched, 0x1234)
    assert summary is not None
    assert len(summary) < 100  # the version string is bounded


def test_tftp_parser_accepts_error_and_first_data_only() -> None:
    assert tftp_read_request("x") == b"\x00\x01x\x00octet\x00"
    assert parse_tftp_response(b"\x00\x05\x00\x02Access violation\x00") == (
        "error 2: Access violation"
    )
    assert parse_tftp_response(b"\x00\x03\x00\x01hello") == "DATA block 1, 5 bytes"
    assert parse_tftp_response(b"\x00\x03\x00\x02hello") is None
    assert parse_tftp_response(b"\x00\x05\x00\x63odd code\x00") is None
    assert parse_tftp_response(b"\x00\x05\x00\x01a\x00trailing") is None
    assert parse_tftp_response(b"\x00\x03\x00\x01" + b"x" * 600) is None  # over 516


def test_ntp_parser_reports_kiss_codes_and_checks_origin() -> None:
    nonce = bytes(range(8))
    request = ntp_client_request(nonce)
    assert (len(request), request[0]) == (48, 0x23)
    reply = ntp_server(request)
    assert reply is not None
    kiss = reply[:1] + b"\x00" + reply[2:12] + b"RATE" + reply[16:]
    assert parse_ntp_response(kiss, nonce) == "NTPv4 stratum 0 (kiss code RATE)"
    assert parse_ntp_response(reply, bytes(8)) is None


def test_asf_parser_checks_tag_and_reads_bits() -> None:
    reply = asf_responder(asf_presence_ping(7))
    assert reply is not None
    assert parse_asf_pong(reply, 7) == "IPMI supported, ASF 1.0, no RMCP security extensions"
    assert parse_asf_pong(reply, 8) is None
    secure = reply[:20] + b"\x01\xa0" + reply[22:]
    assert parse_asf_pong(secure, 7) == (
        "IPMI not supported, ASF 1.0, RMCP security extensions, DASH"
    )
    ack = reply[:3] + b"\x86" + reply[4:]  # RMCP ACK class
    assert parse_asf_pong(ack, 7) is None


def test_bacnet_parser_handles_routing_and_rejects_who_is() -> None:
    assert parse_bacnet_i_am(BACNET_WHO_IS) is None
    # Routed I-Am: control 0x08 (SNET present), SNET 5, SLEN 1, SADR 0x07.
    plain = i_am(instance=77)
    npdu = b"\x01\x08\x00\x05\x01\x07" + plain[6:]
    routed = b"\x81\x0b" + (len(npdu) + 4).to_bytes(2, "big") + npdu
    assert parse_bacnet_i_am(routed) == "device instance 77, vendor 260"
    assert parse_bacnet_i_am(plain[:-3]) is None  # BVLC length no longer matches
    network_message = plain[:5] + b"\x80" + plain[6:]
    assert parse_bacnet_i_am(network_message) is None


def test_enip_parser_reads_the_identity_item() -> None:
    context = b"ctx12345"
    request = enip_list_identity(context)
    assert len(request) == 24
    reply = enip_adapter(request)
    assert reply is not None
    assert parse_enip_identity(reply, context) is not None
    assert parse_enip_identity(reply[:-5], context) is None  # cut inside the item
    assert parse_enip_identity(reply, b"other123") is None


def test_reply_is_frozen_data() -> None:
    reply = UdpReply(161, "snmp", "req", "resp", "public")
    with pytest.raises(AttributeError):
        reply.port = 162  # type: ignore[misc]
