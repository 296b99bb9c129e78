"""Identity signals: parsers on bytes, and each collector against a small server on
127.0.70.x that answers the way its protocol's specification says."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import asyncssh
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scanner.credential_lists import device_text, load_catalog
from scanner.discovery.udp_protocols.snmp import snmp_get_request as snmp_get
from scanner.facts import HTTP_PAGES, IDENTITY, UDP_ANSWERS, Facts, HttpPage, UdpAnswer
from scanner.fingerprint.identity import (
    MODBUS_READ_ID,
    S7_SZL_1C,
    bacnet_read_property,
    certificate_names,
    collect_identity,
    decode_oid,
    enterprise,
    favicon_text,
    murmur3_32,
    page_scripts,
    parse_bacnet_string,
    parse_modbus_identity,
    parse_object_id,
    parse_octet_string,
    parse_szl_1c,
    parse_upnp_description,
)
from scanner.model import Service
from scanner.net import Limits, Network
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from scanner.net import DeviceNetwork

BLOCK = "127.0.70.0/24"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def device(address: str) -> DeviceNetwork:
    network = Network(Scope.of([BLOCK]), Limits(connect_timeout=2.0, read_timeout=3.0))
    return network.device(address)


@contextlib.asynccontextmanager
async def serve(
    address: str, handler: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                await handler(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(guarded, address, 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()


def http_handler(routes: dict[str, tuple[str, bytes]]) -> Handler:
    """GET path -> (content type, body); 404 otherwise. Records the paths asked for."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        seen.append(path)
        kind, body = routes.get(path.split("?")[0], ("text/plain", b""))
        status = "200 OK" if path.split("?")[0] in routes else "404 Not Found"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    seen: list[str] = []
    handle.seen = seen  # type: ignore[attr-defined]
    return handle


# --- pure parts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    # reference values printed by the mmh3 package (the hash Shodan's favicon search uses)
    [(b"", 0), (b"foo", -156908512), (b"hello", 613153351), (b"abcd", 1139631978)],
)
def test_murmur3_matches_the_reference_implementation(data: bytes, expected: int) -> None:
    assert murmur3_32(data) == expected


def test_favicon_text_is_the_shodan_hash_of_the_base64_text() -> None:
    icon = bytes(range(256)) * 3
    # mmh3.hash(base64.encodebytes(icon)) printed by the mmh3 package
    assert favicon_text(icon).startswith("mmh3:1836528006 md5:")
    assert base64.encodebytes(icon).count(b"\n") > 1  # the 76-column lines are hashed too


def test_page_scripts_keeps_paths_without_queries_and_the_linked_icon() -> None:
    html = (
        '<html><head><link rel="shortcut icon" href="/img/ico.png">'
        '<script src="/doc/script/webVideoCtrl.js?version=20240101"></script>'
        "<script>var inline = 1;</script>"
        '<script src="/doc/script/webVideoCtrl.js?v=2"></script></head></html>'
    )
    scripts, icon = page_scripts(html)
    assert scripts == ["/doc/script/webVideoCtrl.js"]
    assert icon == "/img/ico.png"


UPNP_XML = b"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
    <friendlyName>R7000</friendlyName>
    <manufacturer>NETGEAR, Inc.</manufacturer>
    <modelDescription>NETGEAR R7000 AC1900 Smart WiFi Router</modelDescription>
    <modelName>R7000</modelName>
    <modelNumber>R7000</modelNumber>
    <deviceList><device><manufacturer>Embedded Other Inc.</manufacturer></device></deviceList>
  </device>
</root>"""


def test_upnp_description_gives_the_root_device_fields_only() -> None:
    fields = parse_upnp_description(UPNP_XML)
    assert fields["manufacturer"] == "NETGEAR, Inc."
    assert fields["modelName"] == "R7000"
    assert "Embedded" not in str(fields)


def test_upnp_description_with_entities_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><root><device>&a;</device></root>'
    )
    assert parse_upnp_description(bomb) == {}
    assert parse_upnp_description(b"<not xml") == {}


def ber(tag: int, content: bytes) -> bytes:
    assert len(content) < 0x80
    return bytes((tag, len(content))) + content


def test_snmp_request_and_object_id_round_trip() -> None:
    request = snmp_get(1, "public", 0x5A5A2002, (1, 3, 6, 1, 2, 1, 1, 2, 0))
    assert request.startswith(b"\x30")
    assert b"public" in request
    # a GetResponse carrying 1.3.6.1.4.1.9.1.516 (a Cisco switch), laid out per RFC 3416
    name = ber(0x06, bytes.fromhex("2b06010201010200"))  # sysObjectID.0
    value = ber(0x06, bytes.fromhex("2b060104010901" + "8404"))  # 1.3.6.1.4.1.9.1.516
    varbinds = ber(0x30, ber(0x30, name + value))
    ints = ber(0x02, bytes.fromhex("5a5a2002")) + ber(0x02, b"\0") + ber(0x02, b"\0")
    message = ber(0x30, ber(0x02, b"\1") + ber(0x04, b"public") + ber(0xA2, ints + varbinds))
    assert parse_object_id(message, 0x5A5A2002) == "1.3.6.1.4.1.9.1.516"
    assert parse_object_id(message, 0x1234) is None  # someone else's answer
    assert enterprise("1.3.6.1.4.1.9.1.516") == "Cisco"
    assert enterprise("1.3.6.1.4.1.8072.3.2.10") == ""  # net-snmp: any Linux box
    assert decode_oid(bytes.fromhex("2b0601040182ae10")) == "1.3.6.1.4.1.38672"


def modbus_answer(request: bytes, objects: dict[int, bytes]) -> bytes:
    tid = request[:2]
    body = bytes((0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(objects)))
    for obj, value in objects.items():
        body += bytes((obj, len(value))) + value
    return tid + b"\x00\x00" + struct.pack(">H", len(body) + 1) + b"\x01" + body


def test_modbus_device_identification_objects() -> None:
    answer = modbus_answer(
        MODBUS_READ_ID, {0: b"Schneider Electric", 1: b"BMX P34 2020", 2: b"v3.1"}
    )
    assert parse_modbus_identity(answer) == {
        "VendorName": "Schneider Electric",
        "ProductCode": "BMX P34 2020",
        "MajorMinorRevision": "v3.1",
    }
    assert parse_modbus_identity(answer[:10]) == {}
    exception = MODBUS_READ_ID[:7] + b"\xab\x01"  # illegal function
    assert parse_modbus_identity(exception) == {}


def szl_answer(entries: dict[int, bytes]) -> bytes:
    """A userdata answer to `S7_SZL_1C` laid out as S7comm puts it: 34-byte entries."""
    data = b"".join(i.to_bytes(2, "big") + v.ljust(32, b"\0") for i, v in entries.items())
    szl = struct.pack(">HHHH", 0x001C, 0, 34, len(entries)) + data
    payload = b"\xff\x09" + struct.pack(">H", len(szl)) + szl
    params = bytes.fromhex("000112080012844401000000")
    header = b"\x32\x07\x00\x00\x00\x00" + struct.pack(">HH", len(params), len(payload))
    s7 = header + params + payload
    return b"\x03\x00" + struct.pack(">H", 7 + len(s7)) + b"\x02\xf0\x80" + s7


def test_szl_component_identification() -> None:
    answer = szl_answer(
        {1: b"SIMATIC 300(1)", 2: b"CPU 315-2 PN/DP", 4: b"Original Siemens Equipment"}
    )
    fields = parse_szl_1c(answer)
    assert fields == {
        "system": "SIMATIC 300(1)",
        "module": "CPU 315-2 PN/DP",
        "copyright": "Original Siemens Equipment",
    }
    assert parse_szl_1c(answer[:30]) == {}
    assert S7_SZL_1C[-4:-2] == b"\x00\x1c"


def bacnet_ack(invoke: int, prop: int, value: bytes) -> bytes:
    apdu = bytes((0x30, invoke, 0x0C, 0x0C)) + ((8 << 22) | 1234).to_bytes(4, "big")
    apdu += bytes((0x19, prop, 0x3E, 0x75, len(value) + 1, 0x00)) + value + b"\x3f"
    body = b"\x01\x00" + apdu
    return b"\x81\x0a" + (4 + len(body)).to_bytes(2, "big") + body


def test_bacnet_read_property_request_and_answer() -> None:
    request = bacnet_read_property(1234, 121, 7)
    assert request[:2] == b"\x81\x0a"
    assert int.from_bytes(request[2:4], "big") == len(request)
    assert request[-2:] == b"\x19\x79"  # property 121, vendor-name
    assert parse_bacnet_string(bacnet_ack(7, 121, b"Honeywell"), 7) == "Honeywell"
    assert parse_bacnet_string(bacnet_ack(7, 121, b"Honeywell"), 8) is None


# --- collectors against servers ---------------------------------------------------------------


async def test_web_collector_hashes_the_favicon_and_lists_scripts() -> None:
    address = "127.0.70.1"
    icon = bytes(range(256)) * 3
    page = (
        b'<html><head><link rel="icon" href="/img/logo.ico">'
        b'<script src="/js/app.bundle.js?x=1"></script></head></html>'
    )
    handler = http_handler(
        {"/login.html": ("text/html", page), "/img/logo.ico": ("image/x-icon", icon)}
    )
    async with serve(address, handler) as port:
        web = Service("tcp", port, "http")
        facts = Facts()
        facts.put(HTTP_PAGES, (HttpPage(web, f"http://{address}:{port}/login.html", 200),))
        signals = await collect_identity(device(address), [web], facts)
    kinds = {s.kind: s.text for s in signals}
    assert kinds["scripts"] == "/js/app.bundle.js"
    assert kinds["favicon"] == favicon_text(icon)
    assert handler.seen == ["/login.html", "/img/logo.ico"]  # type: ignore[attr-defined]
    assert facts.get(IDENTITY) == signals


async def test_web_collector_ignores_an_html_error_page_as_favicon() -> None:
    address = "127.0.70.2"
    handler = http_handler(
        {"/": ("text/html", b"<html></html>"), "/favicon.ico": ("text/html", b"<html>nope</html>")}
    )
    async with serve(address, handler) as port:
        web = Service("tcp", port, "http")
        facts = Facts()
        facts.put(HTTP_PAGES, (HttpPage(web, f"http://{address}:{port}/", 200),))
        signals = await collect_identity(device(address), [web], facts)
    assert [s.kind for s in signals] == []


async def test_upnp_collector_reads_the_description_the_ssdp_answer_points_to() -> None:
    address = "127.0.70.3"
    async with serve(address, http_handler({"/rootDesc.xml": ("text/xml", UPNP_XML)})) as port:
        ssdp = Service("udp", 1900, "ssdp")
        facts = Facts()
        summary = (
            f"SERVER: Linux/2.6 UPnP/1.0 R7000/1.0; LOCATION: http://{address}:{port}/rootDesc.xml"
        )
        facts.put(UDP_ANSWERS, (UdpAnswer(ssdp, "SSDP M-SEARCH", summary),))
        signals = await collect_identity(device(address), [ssdp], facts)
    kinds = {s.kind: s.text for s in signals}
    assert "manufacturer: NETGEAR, Inc." in kinds["upnp"]
    assert kinds["vendor"] == "NETGEAR, Inc."
    assert kinds["model"] == "R7000"  # modelNumber repeats modelName: said once
    text = device_text(facts)
    assert "R7000" in text["upnp"]
    chosen = load_catalog().select("http", text, generic_top=25)
    assert any("NETGEAR" in label or "netgear" in label for label in chosen.identified)


async def test_upnp_location_on_another_host_is_never_fetched() -> None:
    ssdp = Service("udp", 1900, "ssdp")
    facts = Facts()
    facts.put(UDP_ANSWERS, (UdpAnswer(ssdp, "x", "LOCATION: http://127.0.70.99:80/desc.xml"),))
    assert await collect_identity(device("127.0.70.4"), [ssdp], facts) == ()


def self_signed(tmp_path: Path, org: str) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, "IPC-D140H"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    return ctx


async def test_tls_collector_reads_subject_issuer_and_organisation(tmp_path: Path) -> None:
    address = "127.0.70.5"

    async def quiet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)

    async with serve(
        address, quiet, tls=self_signed(tmp_path, "Hikvision Digital Technology")
    ) as port:
        https = Service("tcp", port, "https", tls=True)
        facts = Facts()
        signals = await collect_identity(device(address), [https], facts)
    kinds = {s.kind: s.text for s in signals}
    assert "O=Hikvision Digital Technology" in kinds["tls"]
    assert kinds["vendor"] == "Hikvision Digital Technology"
    chosen = load_catalog().select("http", device_text(facts), generic_top=25)
    assert chosen.identified
    assert all("ikvision" in label for label in chosen.identified)


async def test_modbus_collector_asks_for_the_device_identification() -> None:
    address = "127.0.70.6"
    asked: list[bytes] = []

    async def plc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readexactly(len(MODBUS_READ_ID))
        asked.append(request)
        writer.write(modbus_answer(request, {0: b"Schneider Electric", 1: b"BMX P34 2020"}))
        await writer.drain()

    async with serve(address, plc) as port:
        modbus = Service("tcp", port, "modbus")
        facts = Facts()
        signals = await collect_identity(device(address), [modbus], facts)
    assert asked == [MODBUS_READ_ID]  # function 43/14: a read, nothing written
    assert {s.kind: s.text for s in signals} == {
        "modbus": "Schneider Electric BMX P34 2020",
        "vendor": "Schneider Electric",
        "model": "BMX P34 2020",  # ProductCode; no MajorMinorRevision, so no firmware
    }
    chosen = load_catalog().select("http", device_text(facts), generic_top=25)
    assert any("chneider" in label for label in chosen.identified)


async def test_s7_collector_connects_sets_up_and_reads_the_szl() -> None:
    address = "127.0.70.7"

    async def plc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(64)  # COTP connection request
        writer.write(bytes.fromhex("0300001611d00001000100c0010ac1020100c2020102"))
        await reader.read(64)  # setup communication
        writer.write(bytes.fromhex("0300001b02f080320300000000000800000000f0000001000101e0"))
        await reader.read(64)  # SZL read
        writer.write(szl_answer({2: b"CPU 1214C", 4: b"Original Siemens Equipment"}))
        await writer.drain()

    async with serve(address, plc) as port:
        s7 = Service("tcp", port, "s7")
        facts = Facts()
        signals = await collect_identity(device(address), [s7], facts)
    assert signals
    assert "copyright: Original Siemens Equipment" in signals[0].text
    assert {s.kind: s.text for s in signals}["model"] == "CPU 1214C"  # the module name
    chosen = load_catalog().select("http", device_text(facts), generic_top=25)
    assert any("iemens" in label for label in chosen.identified)


async def test_bacnet_collector_reads_vendor_and_model_names() -> None:
    address = "127.0.70.8"
    loop = asyncio.get_running_loop()

    class Device(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast("asyncio.DatagramTransport", transport)

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            invoke, prop = data[8], data[-1]
            value = {121: b"Honeywell", 70: b"Spyder BACnet"}[prop]
            self.transport.sendto(bacnet_ack(invoke, prop, value), addr)

    transport, _ = await loop.create_datagram_endpoint(Device, local_addr=(address, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        bacnet = Service("udp", port, "bacnet")
        facts = Facts()
        facts.put(UDP_ANSWERS, (UdpAnswer(bacnet, "Who-Is", "device instance 1234, vendor 17"),))
        signals = await collect_identity(device(address), [bacnet], facts)
    finally:
        transport.close()
    assert {s.kind: s.text for s in signals} == {
        "bacnet": "Honeywell Spyder BACnet",
        "vendor": "Honeywell",
        "model": "Spyder BACnet",
    }


async def test_a_silent_service_costs_at_most_the_deadline() -> None:
    address = "127.0.70.9"

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(8)

    async with serve(address, silent) as port:
        modbus = Service("tcp", port, "modbus")
        started = asyncio.get_running_loop().time()
        signals = await collect_identity(device(address), [modbus], Facts(), deadline=1.0)
        took = asyncio.get_running_loop().time() - started
    assert signals == ()
    assert took < 3.0


def issued(
    subject: list[tuple[x509.ObjectIdentifier, str]],
    issuer: list[tuple[x509.ObjectIdentifier, str]],
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(o, v) for o, v in subject]))
        .issuer_name(x509.Name([x509.NameAttribute(o, v) for o, v in issuer]))
        .public_key(key.public_key())
        .serial_number(9)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_a_public_ca_issuer_names_no_vendor() -> None:
    der = issued(
        [(NameOID.COMMON_NAME, "cam.example.org")],
        [(NameOID.ORGANIZATION_NAME, "Entrust, Inc."), (NameOID.COMMON_NAME, "Entrust CA - L1K")],
    )
    text, orgs = certificate_names(der)
    assert text == "subject: CN=cam.example.org"
    assert orgs == []
    assert load_catalog().select("http", {"tls": text}, generic_top=25).identified == ()


def test_a_makers_own_ca_is_kept_as_issuer_text() -> None:
    der = issued(
        [(NameOID.COMMON_NAME, "192.168.1.64")],
        [(NameOID.ORGANIZATION_NAME, "Hikvision"), (NameOID.COMMON_NAME, "Hikvision Device CA")],
    )
    text, orgs = certificate_names(der)
    assert "issuer: CN=Hikvision Device CA,O=Hikvision" in text
    assert orgs == []  # the issuer signs; only the subject speaks for the device
    chosen = load_catalog().select("http", {"tls": text}, generic_top=25)
    assert any("Hikvision" in label for label in chosen.identified)


def _request_parts(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(version, community, request ID, OID) of a one-object GetRequest, as its BER says
    (every length short: the collector's requests are)."""
    parts: list[bytes] = []
    pos, end = 2, len(data)  # inside the message SEQUENCE
    while pos < end and len(parts) < 7:
        tag, size = data[pos], data[pos + 1]
        if tag in (0xA0, 0x30):  # the PDU and the varbind list: step inside
            pos += 2
            continue
        parts.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    version, community, request_id, _status, _index, oid = parts[:6]
    return version, community, request_id, oid


SYS_OBJECT_ID_BER = bytes.fromhex("2b06010201010200")
SYS_NAME_BER = bytes.fromhex("2b06010201010500")


@pytest.mark.parametrize("sys_name", [b"core-sw-3F", None])
async def test_snmp_collector_reads_sys_object_id_then_sys_name(sys_name: bytes | None) -> None:
    address = "127.0.70.10"
    loop = asyncio.get_running_loop()
    asked: list[bytes] = []

    class Agent(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast("asyncio.DatagramTransport", transport)

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            version, community, request_id, oid = _request_parts(data)
            asked.append(oid)
            if oid == SYS_OBJECT_ID_BER:
                value = ber(0x06, bytes.fromhex("2b06010401f42a01"))  # 1.3.6.1.4.1.14890.1
            elif oid == SYS_NAME_BER and sys_name is not None:
                value = ber(0x04, sys_name)
            else:
                value = b"\x80\x00"  # noSuchObject (RFC 3416)
            varbinds = ber(0x30, ber(0x30, ber(0x06, oid) + value))
            ints = ber(0x02, request_id) + ber(0x02, b"\0") + ber(0x02, b"\0")
            pdu = ber(0xA2, ints + varbinds)
            self.transport.sendto(ber(0x30, ber(0x02, version) + ber(0x04, community) + pdu), addr)

    transport, _ = await loop.create_datagram_endpoint(Agent, local_addr=(address, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        snmp = Service("udp", port, "snmp")
        facts = Facts()
        facts.put(UDP_ANSWERS, (UdpAnswer(snmp, "GetRequest", "Linux core", "private"),))
        signals = await collect_identity(device(address), [snmp], facts)
    finally:
        transport.close()
    assert asked == [SYS_OBJECT_ID_BER, SYS_NAME_BER]  # one object per request
    kinds = {s.kind: s.text for s in signals}
    assert kinds["snmp_oid"] == "1.3.6.1.4.1.14890.1"
    if sys_name is None:
        assert "snmp_sysname" not in kinds  # noSuchObject is no name
    else:
        assert kinds["snmp_sysname"] == "core-sw-3F"
    assert "snmp_sysname" not in device_text(facts)  # not a credential-list match key


def test_sys_name_is_bounded_printable_text() -> None:
    name = ber(0x06, SYS_NAME_BER)
    ints = ber(0x02, bytes.fromhex("5a5a2003")) + ber(0x02, b"\0") + ber(0x02, b"\0")

    def answer(value: bytes) -> bytes:
        varbinds = ber(0x30, ber(0x30, name + value))
        return ber(0x30, ber(0x02, b"\1") + ber(0x04, b"public") + ber(0xA2, ints + varbinds))

    assert parse_octet_string(answer(ber(0x04, b"sw\x1b[2Jone")), 0x5A5A2003) == "sw\\x1b[2Jone"
    assert parse_octet_string(answer(ber(0x04, b"x" * 60)), 0x5A5A2003, limit=10) == ("x" * 9 + "…")
    assert parse_octet_string(answer(ber(0x04, b"sw")), 0x1234) is None  # another request's
    assert parse_octet_string(answer(ber(0x02, b"\1")), 0x5A5A2003) is None  # not a string
    assert parse_octet_string(answer(ber(0x04, b"")), 0x5A5A2003) is None


async def test_ssh_collector_gives_the_host_keys_sha256_fingerprint() -> None:
    address = "127.0.70.11"
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        address, 0, server_host_keys=[key], reuse_address=True, login_timeout=5
    )
    try:
        port = server.sockets[0].getsockname()[1]
        ssh = Service("tcp", port, "ssh", banner="SSH-2.0-AsyncSSH")
        signals = await collect_identity(device(address), [ssh], Facts())
    finally:
        server.close()
        await server.wait_closed()
    assert [(s.kind, s.text) for s in signals] == [("ssh_hostkey", key.get_fingerprint("sha256"))]
    assert signals[0].text.startswith("SHA256:")
    assert len(signals[0].text) == len("SHA256:") + 43  # 32 bytes, base64 without padding


async def test_ssh_collector_gives_nothing_for_a_server_that_is_not_ssh() -> None:
    address = "127.0.70.11"

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\xff" * 64 + b"\r\n")
        await writer.drain()
        await reader.read(100)

    async with serve(address, garbage) as port:
        ssh = Service("tcp", port, "ssh")
        started = asyncio.get_running_loop().time()
        signals = await collect_identity(device(address), [ssh], Facts(), deadline=5.0)
        took = asyncio.get_running_loop().time() - started
    assert signals == ()
    assert took < 5.5
