"""What a device says about what it is, beyond the banners fingerprinting reads.

Published as `IDENTITY` signals (kind = a credential-list match key) for choosing vendor
login lists (`credential_lists.device_text`):

- favicon: the Shodan-style MurmurHash3 of /favicon.ico ("mmh3:<n>") and its MD5;
- scripts: the script paths the first page loads (`<script src>`);
- upnp: the UPnP device description an SSDP answer's LOCATION points to (manufacturer,
  modelName, modelNumber, modelDescription, friendlyName);
- tls: the certificate's subject and issuer;
- snmp_oid: sysObjectID.0, asked with the community that already answered;
- modbus: Read Device Identification (function 43/14, basic objects);
- s7: the component identification list (SZL 0x001C) of an S7 PLC;
- bacnet: the device object's vendor-name and model-name (ReadProperty);
- vendor: manufacturer names stated outright (UPnP manufacturer, the certificate
  subject's O=, Modbus VendorName, BACnet vendor-name, the SNMP enterprise), one signal
  each.

Signals no credential list matches on (their kinds are not `MATCH_KEYS`), kept for the
service, which follows a device and fills its inventory by them (scanner/store.py keeps
every signal of a device):

- ssh_hostkey: the SHA-256 fingerprint of the host key an SSH server shows a client with
  default options, as OpenSSH prints it (`ssh-keygen -l`: "SHA256:" and unpadded base64);
- snmp_sysname: sysName.0, asked after sysObjectID with the version that answered;
- model: UPnP modelName (with modelNumber), Modbus ProductCode, BACnet model-name, S7
  module type (else module name);
- firmware: Modbus MajorMinorRevision.

Every request is read-only and one per service (SNMP: one per object); each collector has
a deadline, never raises for device behaviour, and keeps bounded text only. Call
`collect_identity` once per device after fingerprinting (scanner/engine.py `_device`),
before the probes run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import ssl
import struct
import warnings
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import asyncssh
import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID
from scapy.contrib.modbus import ModbusADURequest, ModbusPDU2B0EReadDeviceIdentificationRequest

from scanner.discovery.udp_protocols.snmp import parse_snmp_response, snmp_get_request
from scanner.errors import ScopeError
from scanner.facts import HTTP_PAGES, IDENTITY, UDP_ANSWERS, IdentitySignal
from scanner.html_reader import read_html
from scanner.http_exchange import CLOSE, MAX_BODY, exchange
from scanner.model import Service, bound_text
from scanner.net import lenient_tls_context
from scanner.task_groups import task_group

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Sequence

    from scanner.facts import Facts
    from scanner.net import BoundedStream, DeviceNetwork

#: Script paths kept per page.
MAX_SCRIPTS = 32
#: The whole collection on one device.
DEADLINE = 20.0
#: One request.
STEP = 5.0

# --- pure parts: hashes and parsers, unit-tested on bytes ---------------------------------


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, signed (as Python's `mmh3.hash` and Shodan print it)."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    blocks = len(data) // 4
    for (k,) in struct.iter_unpack("<I", data[: blocks * 4]):
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[blocks * 4 :]
    k = 0
    for i, byte in enumerate(tail):
        k |= byte << (8 * i)
    if tail:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def favicon_text(icon: bytes) -> str:
    """ "mmh3:<n> md5:<hex>": the hash favicon databases (Shodan's http.favicon.hash) use is
    MurmurHash3 of the base64 text with a newline every 76 characters."""
    return f"mmh3:{murmur3_32(base64.encodebytes(icon))} md5:{hashlib.md5(icon).hexdigest()}"  # noqa: S324 -- a fingerprint, not security


def page_scripts(html: str) -> tuple[list[str], str]:
    """(script paths without query, icon href) of a page."""
    page = read_html(html, MAX_BODY)
    sources = [s.src for s in page.scripts if s.src][:MAX_SCRIPTS]
    paths = [bound_text(_path(s), 200) for s in sources]
    return [p for p in dict.fromkeys(paths) if p], page.icon


def _path(src: str) -> str:
    try:
        return urlsplit(src).path or src
    except ValueError:  # `//[` is no URL ("Invalid IPv6 URL"): keep it as written
        return src


_UPNP_FIELDS = (
    "manufacturer",
    "modelName",
    "modelNumber",
    "modelDescription",
    "friendlyName",
)


def parse_upnp_description(xml: bytes) -> dict[str, str]:
    """The root device's identity fields of a UPnP device description (UDA 1.1 §2.3).

    Parsed without DTDs or entities (a description with a DOCTYPE is refused), so a
    hostile device cannot expand entities."""
    if b"<!DOCTYPE" in xml[:4096].upper() or b"<!ENTITY" in xml.upper():
        return {}
    try:
        root = ElementTree.fromstring(xml[:MAX_BODY])  # noqa: S314 -- no DTD, no entities
    except (ElementTree.ParseError, LookupError, ValueError):
        # The XML declaration names the encoding: an unknown one ("b") is a LookupError,
        # a multi-byte or non-text codec a ValueError, from expat before any parsing.
        return {}
    device = next((e for e in root.iter() if _local(e.tag) == "device"), None)
    if device is None:
        return {}
    found: dict[str, str] = {}
    for child in device:  # the root device's own fields, not its embedded devices'
        name = _local(child.tag)
        if name in _UPNP_FIELDS and child.text and child.text.strip():
            found[name] = bound_text(child.text.strip(), 128)
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


#: Public certification authorities: an issuer they name says who signed the certificate,
#: not who made the device (and some share a name with a product of the data set:
#: Entrust, Comodo, Symantec).
PUBLIC_CA = re.compile(
    r"(?i)let's encrypt|\bISRG\b|digicert|sectigo|comodo|globalsign|entrust|godaddy|"
    r"go daddy|starfield|amazon|google trust|microsoft|baltimore|usertrust|thawte|verisign|"
    r"symantec|geotrust|rapidssl|buypass|certum|ssl\.com|zerossl|identrust|quovadis|"
    r"swisssign|t-systems|telesec|actalis|harica|network solutions|trustwave|secom"
)


def _orgs(name: x509.Name) -> list[str]:
    out: list[str] = []
    for attr in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
        value = attr.value if isinstance(attr.value, str) else attr.value.decode("latin-1")
        out.append(bound_text(value, 128))
    return [o for o in out if o]


def certificate_names(der: bytes) -> tuple[str, list[str]]:
    """("subject: ...\nissuer: ...", the subject's organisation names) of a certificate.

    The subject's O= is the device's maker or owner stating itself; the issuer is kept as
    text (a maker's own CA names the maker) unless it is a public CA."""
    with warnings.catch_warnings():
        # A negative serial only warns (a DeprecationWarning, an error under -W error); the
        # names are still read, as scanner/tls/cert.py reads the rest.
        warnings.simplefilter("ignore")
        try:
            cert = x509.load_der_x509_certificate(der)
        except x509.InvalidVersion as exc:  # not a ValueError, which callers handle
            raise ValueError(f"not a readable X.509 certificate: {exc}") from exc
    try:
        names = cert.subject, cert.issuer  # decoded on first use: a malformed one raises
    except TypeError as exc:  # a BIT STRING under the wrong attribute, not a ValueError
        raise ValueError("the certificate's names do not decode") from exc
    subject = bound_text(names[0].rfc4514_string())
    issuer = bound_text(names[1].rfc4514_string())
    text = f"subject: {subject}"
    if not PUBLIC_CA.search(issuer):
        text += f"\nissuer: {issuer}"
    return text, list(dict.fromkeys(_orgs(names[0])))


# SNMP: GetRequest sysObjectID.0 (then sysName.0) and its GetResponse, in discovery's BER
# codec (one object per request: a v1 agent that lacks one object fails the whole request).
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
#: IANA Private Enterprise Numbers of device makers whose lists the data set has.
ENTERPRISES = {
    2: "IBM",
    9: "Cisco",
    11: "HP",
    171: "D-Link",
    318: "APC",
    368: "Axis",
    674: "Dell",
    890: "Zyxel",
    2011: "Huawei",
    2435: "Brother",
    2636: "Juniper",
    3902: "ZTE",
    4329: "Siemens",
    4526: "Netgear",
    6574: "Synology",
    8691: "Moxa",
    11863: "TP-Link",
    12356: "Fortinet",
    14988: "MikroTik",
    39165: "Hikvision",
    41112: "Ubiquiti",
}


def decode_oid(raw: bytes) -> str:
    if not raw:
        raise ValueError("empty OID")
    arcs = [raw[0] // 40, raw[0] % 40] if raw[0] < 80 else [2, raw[0] - 80]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


def parse_object_id(data: bytes, request_id: int) -> str | None:
    """sysObjectID from a GetResponse to `request_id`, or None."""
    reply = parse_snmp_response(data)
    if reply is None or reply.request_id != request_id or reply.error_status:
        return None  # someone else's answer, or an error-status
    if reply.value_tag != 0x06:
        return None
    try:
        return decode_oid(reply.value)
    except ValueError:
        return None


def parse_octet_string(data: bytes, request_id: int, limit: int = 128) -> str | None:
    """The OCTET STRING value (sysName) of a GetResponse to `request_id`, bounded, or None."""
    reply = parse_snmp_response(data)
    if reply is None or reply.request_id != request_id or reply.error_status:
        return None
    if reply.value_tag != 0x04:  # noSuchObject, noSuchInstance, or another type
        return None
    return bound_text(reply.value, limit) or None


def enterprise(oid: str) -> str:
    """The maker an enterprise OID (1.3.6.1.4.1.N...) names, or ""."""
    match = re.match(r"1\.3\.6\.1\.4\.1\.(\d+)(?:\.|$)", oid)
    return ENTERPRISES.get(int(match.group(1)), "") if match else ""


# Modbus/TCP Read Device Identification (Modbus Application Protocol v1.1b3 §6.21): built
# with scapy's Modbus layers (function 0x2B, MEI type 0x0E, read code 1: the basic objects,
# from object 0); the answer is read by our own parser below, which bounds every count
# and length by the bytes that came.
_MODBUS_TID = 0x5349
MODBUS_READ_ID = bytes(
    ModbusADURequest(transId=_MODBUS_TID, protoId=0, unitId=1)
    / ModbusPDU2B0EReadDeviceIdentificationRequest(readCode=1, objectId=0)
)
_MODBUS_OBJECTS = {0: "VendorName", 1: "ProductCode", 2: "MajorMinorRevision"}


def parse_modbus_identity(data: bytes) -> dict[str, str]:
    """The basic device identification objects of an answer to `MODBUS_READ_ID`."""
    if len(data) < 15:
        return {}
    tid, proto, length, _unit, function, mei = struct.unpack(">HHHBBB", data[:9])
    if tid != _MODBUS_TID or proto != 0 or function != 0x2B or mei != 0x0E:
        return {}
    end = min(len(data), 6 + length)
    count, pos = data[13], 14
    found: dict[str, str] = {}
    for _ in range(count):
        if pos + 2 > end:
            break
        obj, size = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + size]
        pos += 2 + size
        if obj in _MODBUS_OBJECTS and value:
            found[_MODBUS_OBJECTS[obj]] = bound_text(value, 128)
    return found


# S7comm: COTP connect, setup communication, then read SZL 0x001C (component
# identification), the request Siemens' tools and the snap7 library use. Our own bytes:
# scapy (2.8) has TPKT/COTP nowhere in its layers and no S7comm layer.
S7_COTP = bytes.fromhex("0300001611e00000000100c0010ac1020100c2020102")
S7_SETUP = bytes.fromhex("0300001902f08032010000000000080000f0000001000101e0")
S7_SZL_1C = bytes.fromhex("0300002102f080320700000000000800080001120411440100ff090004001c0000")
_SZL_NAMES = {
    1: "system",
    2: "module",
    3: "plant",
    4: "copyright",
    5: "serial",
    7: "type",
    8: "memory card",
    11: "location",
}


def parse_szl_1c(data: bytes) -> dict[str, str]:
    """The named entries of an SZL 0x001C answer (userdata, ROSCTR 7)."""
    if len(data) < 7 + 10 or data[7] != 0x32 or data[8] != 0x07:
        return {}
    param_len = int.from_bytes(data[13:15], "big")
    pos = 17 + param_len
    if pos + 12 > len(data) or data[pos] != 0xFF:  # return code "success"
        return {}
    szl_id, _index, entry_len, count = struct.unpack(">HHHH", data[pos + 4 : pos + 12])
    if szl_id & 0x0FFF != 0x001C or entry_len < 3:
        return {}
    pos += 12
    found: dict[str, str] = {}
    for _ in range(min(count, 16)):
        entry = data[pos : pos + entry_len]
        pos += entry_len
        if len(entry) < entry_len:
            break
        name = _SZL_NAMES.get(int.from_bytes(entry[:2], "big"))
        text = entry[2:].split(b"\0", 1)[0].strip()
        if name and text:
            found[name] = bound_text(text, 64)
    return found


# BACnet/IP ReadProperty (ASHRAE 135 clause 15.5) of the device object. Our own bytes:
# scapy (2.8) has no BACnet layer.
_VENDOR_NAME, _MODEL_NAME = 121, 70


def bacnet_read_property(instance: int, prop: int, invoke: int) -> bytes:
    object_id = ((8 << 22) | (instance & 0x3FFFFF)).to_bytes(4, "big")
    apdu = bytes((0x00, 0x05, invoke, 0x0C, 0x0C)) + object_id + bytes((0x19, prop))
    npdu = b"\x01\x04"  # version 1, expecting a reply
    body = npdu + apdu
    return bytes((0x81, 0x0A)) + (4 + len(body)).to_bytes(2, "big") + body


def parse_bacnet_string(data: bytes, invoke: int) -> str | None:
    """The character-string value of a ReadProperty ComplexACK, or None."""
    if len(data) < 6 or data[0] != 0x81 or data[4] != 0x01:
        return None
    control, pos = data[5], 6
    if control & 0x08:  # source network address present (routed answer)
        if pos + 3 > len(data):
            return None
        pos += 3 + data[pos + 2]
    if pos + 3 > len(data) or data[pos] >> 4 != 0x3 or data[pos + 1] != invoke:
        return None
    opening = data.find(b"\x3e", pos + 3)
    if opening < 0 or opening + 2 > len(data):
        return None
    tag = data[opening + 1]
    if tag >> 4 != 7:  # application tag 7: CharacterString
        return None
    size, start = tag & 0x07, opening + 2
    if size == 5:  # extended length
        if start >= len(data):
            return None
        size, start = data[start], start + 1
    value = data[start : start + size]
    if len(value) != size or not value:
        return None
    return bound_text(value[1:], 128) or None  # the first octet is the character set


# --- collection ---------------------------------------------------------------------------


def _signal(service: Service, kind: str, text: str) -> IdentitySignal | None:
    text = bound_text(text)
    return IdentitySignal(service, kind, text) if text else None


async def _get(client: httpx.AsyncClient, url: str) -> tuple[int, bytes, str]:
    # decoded (gzip firmware), bounded by MAX_BODY, as fingerprinting reads every page
    answer = await exchange(client, "GET", url, headers=CLOSE, throttle=False)
    return answer.status, answer.body, answer.headers.get("content-type", "")


async def _web(dev: DeviceNetwork, service: Service, page_url: str) -> list[IdentitySignal]:
    """Script paths of the page fingerprinting ended on, and the favicon's hashes."""
    out: list[IdentitySignal | None] = []
    async with dev.http(service, timeout=STEP) as client:
        icon = "/favicon.ico"
        status, body, _ = await _get(client, page_url)
        if status == 200 and body:
            scripts, linked = page_scripts(body.decode("utf-8", "replace"))
            out.append(_signal(service, "scripts", "\n".join(scripts)))
            icon = linked or icon
        try:
            target = urljoin(page_url, icon)
            same_host = urlsplit(target).hostname == urlsplit(page_url).hostname
        except ValueError:  # an icon href that is no URL (`//[`): no favicon, scripts kept
            same_host = False
        if same_host:
            status, body, kind = await _get(client, target)
            if status == 200 and body and "html" not in kind.lower():
                out.append(_signal(service, "favicon", favicon_text(body)))
    return [s for s in out if s]


_LOCATION = re.compile(r"LOCATION:\s*(\S+)", re.IGNORECASE)


async def _upnp(dev: DeviceNetwork, answer_service: Service, summary: str) -> list[IdentitySignal]:
    match = _LOCATION.search(summary)
    if not match:
        return []
    url = match.group(1).rstrip(";")
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != dev.address.strip("[]") or not parts.port:
        return []  # another host, even inside scope, is never contacted
    web = Service("tcp", parts.port, "http")
    async with dev.http(web, timeout=STEP) as client:
        status, body, _ = await _get(client, parts.path or "/")
    if status != 200:
        return []
    fields = parse_upnp_description(body)
    text = "\n".join(f"{k}: {v}" for k, v in fields.items())
    out = [_signal(answer_service, "upnp", text)]
    if fields.get("manufacturer"):
        out.append(_signal(answer_service, "vendor", fields["manufacturer"]))
    model = upnp_model(fields)
    if model:
        out.append(_signal(answer_service, "model", model))
    return [s for s in out if s]


def upnp_model(fields: dict[str, str]) -> str:
    """modelName, with modelNumber when it adds something ("Nighthawk R7000")."""
    name, number = fields.get("modelName", ""), fields.get("modelNumber", "")
    if name and number and number.lower() not in name.lower():
        return f"{name} {number}"
    return name or number


async def _tls(dev: DeviceNetwork, service: Service) -> list[IdentitySignal]:
    async with dev.tcp(service.port, tls=lenient_tls_context()) as stream:
        ssl_object = stream.ssl_object
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    if not der:
        return []
    text, orgs = certificate_names(der)
    out = [_signal(service, "tls", text), *(_signal(service, "vendor", o) for o in orgs)]
    return [s for s in out if s]


async def _snmp(dev: DeviceNetwork, service: Service, community: str) -> list[IdentitySignal]:
    request_id, name_id = 0x5A5A2002, 0x5A5A2003
    for version in (1, 0):  # v2c, then v1
        reply = await dev.udp_exchange(
            service.port,
            snmp_get_request(version, community, request_id, SYS_OBJECT_ID),
            timeout=STEP,
        )
        oid = parse_object_id(reply, request_id) if reply else None
        if oid:
            out = [_signal(service, "snmp_oid", oid)]
            if enterprise(oid):
                out.append(_signal(service, "vendor", enterprise(oid)))
            reply = await dev.udp_exchange(
                service.port,
                snmp_get_request(version, community, name_id, SYS_NAME),
                timeout=STEP,
            )
            name = parse_octet_string(reply, name_id) if reply else None
            if name:
                out.append(_signal(service, "snmp_sysname", name))
            return [s for s in out if s]
    return []


async def _exchange(stream: BoundedStream, payload: bytes) -> bytes:
    await stream.write(payload)
    return await stream.read_some(MAX_BODY, timeout=STEP)


async def _modbus(dev: DeviceNetwork, service: Service) -> list[IdentitySignal]:
    async with dev.tcp(service.port) as stream:
        fields = parse_modbus_identity(await _exchange(stream, MODBUS_READ_ID))
    text = " ".join(fields.values())
    out = [_signal(service, "modbus", text)]
    for field, kind in (("VendorName", "vendor"), ("ProductCode", "model")):
        if fields.get(field):
            out.append(_signal(service, kind, fields[field]))
    if fields.get("MajorMinorRevision"):
        out.append(_signal(service, "firmware", fields["MajorMinorRevision"]))
    return [s for s in out if s]


async def _s7(dev: DeviceNetwork, service: Service) -> list[IdentitySignal]:
    async with dev.tcp(service.port) as stream:
        if (await _exchange(stream, S7_COTP))[5:6] != b"\xd0":
            return []
        if (await _exchange(stream, S7_SETUP))[7:9] != b"\x32\x03":
            return []
        fields = parse_szl_1c(await _exchange(stream, S7_SZL_1C))
    text = "\n".join(f"{k}: {v}" for k, v in fields.items())
    model = fields.get("type") or fields.get("module") or ""
    out = [_signal(service, "s7", text), _signal(service, "model", model) if model else None]
    return [s for s in out if s]


_INSTANCE = re.compile(r"device instance (\d+)")


async def _bacnet(dev: DeviceNetwork, service: Service, summary: str) -> list[IdentitySignal]:
    match = _INSTANCE.search(summary)
    if not match:
        return []
    instance = int(match.group(1))
    values: dict[int, str] = {}
    for invoke, prop in enumerate((_VENDOR_NAME, _MODEL_NAME), start=1):
        payload = bacnet_read_property(instance, prop, invoke)
        reply = await dev.udp_exchange(service.port, payload, timeout=STEP)
        value = parse_bacnet_string(reply, invoke) if reply else None
        if value:
            values[prop] = value
    out = [_signal(service, "bacnet", " ".join(values.values()))]
    if _VENDOR_NAME in values:
        out.append(_signal(service, "vendor", values[_VENDOR_NAME]))
    if _MODEL_NAME in values:
        out.append(_signal(service, "model", values[_MODEL_NAME]))
    return [s for s in out if s]


#: The host key is read as any client with default options would be shown it; no login.
def _ssh_options() -> asyncssh.SSHClientConnectionOptions:
    return asyncssh.SSHClientConnectionOptions(
        known_hosts=None,  # recorded, never trusted
        config=None,  # not the user's ~/.ssh/config
        agent_path=None,
        gss_host=None,
        host_based_auth=False,
        connect_timeout=STEP,
        login_timeout=STEP,
        keepalive_interval=0,
    )


async def _ssh(dev: DeviceNetwork, service: Service) -> list[IdentitySignal]:
    key = await dev.ssh_host_key(service.port, timeout=STEP, options=_ssh_options())
    if key is None:
        return []
    return [s for s in [_signal(service, "ssh_hostkey", key.get_fingerprint("sha256"))] if s]


async def _quietly(step: Awaitable[list[IdentitySignal]]) -> list[IdentitySignal]:
    """A collector's signals; nothing when the device misbehaves (identity is a hint)."""
    try:
        async with asyncio.timeout(STEP * 3):
            return await step
    except ScopeError:
        raise
    except (OSError, TimeoutError, EOFError, ssl.SSLError, httpx.HTTPError, ValueError):
        return []
    except Exception:
        # Any other failure drops this collector and keeps the others running, as the
        # collection has always done: a hint is lost, not the device's scan.
        return []


def _jobs(
    dev: DeviceNetwork, services: Iterable[Service], facts: Facts
) -> list[Awaitable[list[IdentitySignal]]]:
    jobs: list[Awaitable[list[IdentitySignal]]] = []
    last_page: dict[int, str] = {}
    for page in facts.get(HTTP_PAGES) or ():
        last_page[page.service.port] = page.url  # the page the redirects ended on
    for svc in services:
        if svc.transport != "tcp":
            continue
        if svc.protocol in ("http", "https") and svc.port in last_page:
            jobs.append(_web(dev, svc, last_page[svc.port]))
        if svc.tls:
            jobs.append(_tls(dev, svc))
        if svc.protocol == "modbus":
            jobs.append(_modbus(dev, svc))
        if svc.protocol == "s7":
            jobs.append(_s7(dev, svc))
        if svc.protocol == "ssh":
            jobs.append(_ssh(dev, svc))
    snmp_done: set[int] = set()
    for answer in facts.get(UDP_ANSWERS) or ():
        svc = answer.service
        if svc.protocol == "ssdp":
            jobs.append(_upnp(dev, svc, answer.response_summary))
        elif svc.protocol == "snmp" and answer.snmp_community and svc.port not in snmp_done:
            snmp_done.add(svc.port)
            jobs.append(_snmp(dev, svc, answer.snmp_community))
        elif svc.protocol == "bacnet":
            jobs.append(_bacnet(dev, svc, answer.response_summary))
    return jobs


async def collect_identity(
    dev: DeviceNetwork, services: Sequence[Service], facts: Facts, *, deadline: float = DEADLINE
) -> tuple[IdentitySignal, ...]:
    """Ask every service what the device is, side by side, and publish `IDENTITY`.

    Needs the facts fingerprinting published (HTTP_PAGES, UDP_ANSWERS). Never raises for
    device behaviour; what did not answer within `deadline` is simply not known."""
    jobs = _jobs(dev, services, facts)
    if not jobs:
        return ()
    tasks: list[asyncio.Task[list[IdentitySignal]]] = []
    # At the deadline the group cancels what is still asking; what finished is kept. A
    # ScopeError (a configuration mistake) ends the others and is raised.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline), task_group() as group:
            tasks = [group.create_task(_quietly(job)) for job in jobs]
    signals: list[IdentitySignal] = []
    for task in tasks:
        if not task.cancelled():
            signals += task.result()
    if signals:
        facts.add(IDENTITY, *signals)
    return tuple(signals)
