"""UDP discovery with real protocol payloads.

Spoken: DNS, TFTP, NTP, SNMP, IPMI (RMCP/ASF), SSDP, mDNS, CoAP, BACnet/IP and
EtherNet/IP, each on the ports in PROTOCOL_BY_PORT.

A UDP port gives no handshake: an empty datagram is usually dropped, so "no answer" says
nothing. We only probe ports where we can speak the protocol, and count a port as found
only when the reply parses as that protocol (a payload echo or garbage is not a reply).
Ports without a known payload are skipped, not guessed at; `unprobed` names them so the
caller can say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import re
import socket
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.model import bound_text, device_str, quoted

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

#: Longest datagram we keep; anything past it is ignored rather than buffered.
MAX_DATAGRAM = 64 * 1024
#: Datagrams kept per scan before further ones are dropped: a flood cannot exhaust memory.
MAX_DATAGRAMS = 10_000

COMMUNITY = "public"

#: Port number -> protocol we can speak there (the usual and the common alternate ports).
PROTOCOL_BY_PORT: dict[int, str] = {
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

#: Protocols whose replies may come from another source port of the probed address:
#: SSDP (UPnP 1.1 §1.3.3 lets the device answer from any port) and TFTP (RFC 1350 §4:
#: the server answers from a fresh transfer ID, i.e. a new port).
_ANY_SOURCE_PORT = frozenset({"ssdp", "tftp"})


@dataclass(frozen=True, slots=True)
class UdpReply:
    """One UDP service that answered in its own protocol."""

    port: int
    protocol: str  # a value of PROTOCOL_BY_PORT: "snmp", "dns", "tftp", "bacnet", ...
    request: str  # what was sent, described
    response: str  # bounded summary of what came back (sysDescr, rcode, error message...)
    community: str = ""  # SNMP community that was accepted


# --- SNMP: hand-written BER, just enough for one GetRequest and its Response ---------------

_SYS_DESCR_OID = (1, 3, 6, 1, 2, 1, 1, 1, 0)
_SNMP_VERSIONS = {0: "v1", 1: "v2c"}
#: Fixed request IDs, one per version: the reply's ID tells which version answered.
_SNMP_REQUEST_IDS = {0: 0x5A5A1001, 1: 0x5A5A1002}


def _ber_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _ber(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _ber_length(len(content)) + content


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _ber_oid(oid: tuple[int, ...]) -> bytes:
    out = bytearray((40 * oid[0] + oid[1],))
    for arc in oid[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _ber(0x06, bytes(out))


def snmp_get_request(version: int, community: str, request_id: int) -> bytes:
    """An SNMP GetRequest for sysDescr.0 (version 0 = v1, 1 = v2c)."""
    varbind = _ber(0x30, _ber_oid(_SYS_DESCR_OID) + b"\x05\x00")
    pdu = _ber(0xA0, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _ber(0x30, varbind))
    return _ber(0x30, _ber_int(version) + _ber(0x04, community.encode()) + pdu)


_SNMP_REQUESTS = {
    version: snmp_get_request(version, COMMUNITY, request_id)
    for version, request_id in _SNMP_REQUEST_IDS.items()
}


class _BerError(ValueError):
    pass


def _tlv(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at `offset`, checked against `end`."""
    if offset + 2 > end:
        raise _BerError("truncated")
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > end:
            raise _BerError("bad length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > end:
        raise _BerError("truncated")
    return tag, start, start + length


def _expect(data: bytes, offset: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = _tlv(data, offset, end)
    if found != tag:
        raise _BerError(f"expected tag {tag:#x}, got {found:#x}")
    return start, stop


def _ber_read_int(data: bytes, offset: int, end: int) -> tuple[int, int]:
    start, stop = _expect(data, offset, end, 0x02)
    if not 0 < stop - start <= 8:
        raise _BerError("bad integer")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


@dataclass(frozen=True, slots=True)
class SnmpResponse:
    version: int
    community: str
    request_id: int
    error_status: int
    value_tag: int
    value: bytes


def parse_snmp_response(data: bytes) -> SnmpResponse | None:
    """The parts of an SNMP v1/v2c GetResponse we use, or None if it is not one."""
    try:
        start, end = _expect(data, 0, len(data), 0x30)
        version, pos = _ber_read_int(data, start, end)
        c_start, c_end = _expect(data, pos, end, 0x04)
        p_start, p_end = _expect(data, c_end, end, 0xA2)  # GetResponse-PDU
        request_id, pos = _ber_read_int(data, p_start, p_end)
        error_status, pos = _ber_read_int(data, pos, p_end)
        _error_index, pos = _ber_read_int(data, pos, p_end)
        l_start, l_end = _expect(data, pos, p_end, 0x30)
        value_tag, value = 0x05, b""
        if l_start < l_end:
            v_start, v_end = _expect(data, l_start, l_end, 0x30)
            _o_start, o_end = _expect(data, v_start, v_end, 0x06)
            value_tag, val_start, val_end = _tlv(data, o_end, v_end)
            value = data[val_start:val_end]
    except _BerError:
        return None
    if version not in _SNMP_VERSIONS:
        return None
    community = data[c_start:c_end].decode("latin-1")
    return SnmpResponse(version, community, request_id, error_status, value_tag, value)


def _snmp_summary(reply: SnmpResponse) -> str:
    if reply.error_status:
        return f"SNMP {_SNMP_VERSIONS[reply.version]} error-status {reply.error_status}"
    if reply.value_tag == 0x04:
        return bound_text(reply.value)
    exceptions = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}
    name = exceptions.get(reply.value_tag, f"value type {reply.value_tag:#04x}")
    return f"SNMP {_SNMP_VERSIONS[reply.version]} reply without sysDescr ({name})"


# --- SSDP ----------------------------------------------------------------------------------

_SSDP_STATUS = re.compile(rb"^HTTP/1\.[01] 200[ \r\n]")
_SSDP_KEEP = ("SERVER", "ST", "USN", "LOCATION")


def ssdp_search(address: str, port: int) -> bytes:
    """A unicast M-SEARCH (UPnP 1.1 §1.3.3): HOST names the device, not the multicast group."""
    host = f"[{address}]" if ":" in address else address
    return (
        f'M-SEARCH * HTTP/1.1\r\nHOST: {host}:{port}\r\nMAN: "ssdp:discover"\r\n'
        "MX: 1\r\nST: ssdp:all\r\nUSER-AGENT: shinsa/0.1 UPnP/1.1\r\n\r\n"
    ).encode()


def parse_ssdp_response(data: bytes) -> str | None:
    """Summary of an SSDP search response (SERVER, ST, USN, LOCATION), or None."""
    if not _SSDP_STATUS.match(data):
        return None
    headers: dict[str, str] = {}
    for line in data.split(b"\r\n")[1:64]:  # a real response has a dozen headers
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            headers.setdefault(
                name.strip().upper().decode("latin-1"), value.strip().decode("latin-1")
            )
    if not any(key in headers for key in ("ST", "USN", "LOCATION")):
        return None  # an HTTP 200 without discovery headers is some other server
    return bound_text("; ".join(f"{k}: {headers[k]}" for k in _SSDP_KEEP if k in headers))


# --- mDNS ----------------------------------------------------------------------------------

_DNS_SD_SERVICES = "_services._dns-sd._udp.local"
_PTR = 12
_QU_BIT = 0x8000  # "unicast response, please" (RFC 6762 §5.4)
_MAX_RECORDS = 64
_MAX_POINTER_HOPS = 16


def mdns_query(transaction_id: int) -> bytes:
    """PTR query for the DNS-SD service list, asking for a unicast reply."""
    name = b"".join(bytes((len(label),)) + label.encode() for label in _DNS_SD_SERVICES.split("."))
    return (
        struct.pack("!HHHHHH", transaction_id, 0, 1, 0, 0, 0)
        + name
        + b"\x00"
        + struct.pack("!HH", _PTR, 1 | _QU_BIT)
    )


def _dns_name(data: bytes, offset: int) -> tuple[str, int]:
    """Decode a (possibly compressed) name; return it and the offset after it in place."""
    labels: list[str] = []
    end_in_place = -1
    hops = 0
    total = 0
    while True:
        if offset >= len(data):
            raise ValueError("name runs past the packet")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data) or hops >= _MAX_POINTER_HOPS:
                raise ValueError("bad compression pointer")
            if end_in_place < 0:
                end_in_place = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            hops += 1
            continue
        if length & 0xC0:
            raise ValueError("bad label type")
        offset += 1
        if length == 0:
            break
        total += length + 1
        if total > 255 or offset + length > len(data):
            raise ValueError("name too long")
        labels.append(device_str(data[offset : offset + length]))
        offset += length
    return ".".join(labels), (end_in_place if end_in_place >= 0 else offset)


def parse_mdns_response(data: bytes, transaction_id: int) -> str | None:
    """Services listed in an mDNS/DNS-SD response to our query, or None."""
    if len(data) < 12:
        return None
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
    # Legacy-unicast replies echo our ID (RFC 6762 §6.7); some responders send 0 regardless.
    if not flags & 0x8000 or (flags >> 11) & 0xF or ident not in (transaction_id, 0):
        return None
    if qd + an + ns + ar > _MAX_RECORDS or an + ns + ar == 0:
        return None
    services: list[str] = []
    try:
        offset = 12
        for _ in range(qd):
            _, offset = _dns_name(data, offset)
            offset += 4
        for _ in range(an + ns + ar):
            _, offset = _dns_name(data, offset)
            if offset + 10 > len(data):
                return None
            rtype, _cls, _ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            if offset + rdlength > len(data):
                return None
            if rtype == _PTR:
                target, _ = _dns_name(data, offset)
                services.append(target)
            offset += rdlength
    except ValueError:
        return None
    if services:
        return bound_text("services: " + ", ".join(dict.fromkeys(services)))
    return bound_text(f"mDNS response with {an} answers, no PTR records")


# --- CoAP ----------------------------------------------------------------------------------

_COAP_URI_PATH = 11
_COAP_CONTENT_FORMAT = 12


def coap_get_core(message_id: int, token: bytes) -> bytes:
    """CoAP CON GET /.well-known/core (RFC 6690 resource discovery)."""
    if len(token) > 8:
        raise ValueError("CoAP tokens are at most 8 bytes")
    header = struct.pack("!BBH", 0x40 | len(token), 0x01, message_id) + token
    first = b".well-known"
    second = b"core"
    # Option deltas: 11 (Uri-Path) then 0 (Uri-Path again); lengths fit in the nibble.
    return (
        header
        + bytes(((_COAP_URI_PATH << 4) | len(first),))
        + first
        + bytes((len(second),))
        + second
    )


def parse_coap_response(data: bytes, message_id: int, token: bytes) -> str | None:
    """Summary (`2.05 </sensors>;rt=...`) of a CoAP response to our request, or None."""
    if len(data) < 4:
        return None
    first, code, mid = struct.unpack_from("!BBH", data)
    version, kind, tkl = first >> 6, (first >> 4) & 0x3, first & 0xF
    if version != 1 or tkl > 8 or len(data) < 4 + tkl:
        return None
    if kind == 3:  # Reset: a CoAP endpoint that refuses the request is still CoAP
        return "CoAP reset" if mid == message_id and code == 0 else None
    if kind == 2 and mid != message_id:
        return None  # a piggybacked ACK carries our message ID
    if data[4 : 4 + tkl] != token or code >> 5 not in (2, 4, 5):
        return None  # empty ACKs (code 0) announce a separate response; wait for it
    offset = 4 + tkl
    number = 0
    payload = b""
    for _ in range(64):  # real responses carry a handful of options
        if offset >= len(data):
            break
        byte = data[offset]
        if byte == 0xFF:
            payload = data[offset + 1 :]
            if not payload:
                return None  # a payload marker with nothing after it is malformed
            break
        delta, length = byte >> 4, byte & 0xF
        offset += 1
        ext: list[int] = []
        for nibble in (delta, length):
            if nibble == 13:
                if offset >= len(data):
                    return None
                ext.append(data[offset] + 13)
                offset += 1
            elif nibble == 14:
                if offset + 2 > len(data):
                    return None
                ext.append(int.from_bytes(data[offset : offset + 2], "big") + 269)
                offset += 2
            elif nibble == 15:
                return None
            else:
                ext.append(nibble)
        number += ext[0]
        offset += ext[1]
        if offset > len(data):
            return None
    else:
        return None
    del number  # options are validated, not used
    status = f"{code >> 5}.{code & 0x1F:02d}"
    return bound_text(f"{status} {payload.decode('utf-8', 'replace')}".strip())


# --- DNS (RFC 1035) ------------------------------------------------------------------------

_DNS_VERSION_NAME = "version.bind"
_TXT, _CLASS_CH = 16, 3
_DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
#: The version string is device text an operator reads, not data we keep.
_DNS_VERSION_LIMIT = 64


def _dns_encode_name(name: str) -> bytes:
    return b"".join(bytes((len(label),)) + label.encode() for label in name.split(".")) + b"\x00"


def dns_version_query(query_id: int) -> bytes:
    """`version.bind TXT CH`: the BIND convention (RFC 4892 §2) most resolvers answer,
    even if only with REFUSED; RD is clear because the CHAOS zone is the server's own."""
    return (
        struct.pack("!HHHHHH", query_id, 0, 1, 0, 0, 0)
        + _dns_encode_name(_DNS_VERSION_NAME)
        + struct.pack("!HH", _TXT, _CLASS_CH)
    )


def parse_dns_response(data: bytes, query_id: int) -> str | None:
    """Summary (`NOERROR, version "9.18.24"`) of a DNS response to our query, or None.

    Any well-formed response counts, whatever its rcode: a server that answers REFUSED
    is still a DNS server. It must carry our ID and QR=1 (RFC 1035 §4.1.1), and if it
    echoes a question, it must be ours.
    """
    if len(data) < 12:
        return None
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
    if ident != query_id or not flags & 0x8000 or (flags >> 11) & 0xF or qd > 1:
        return None
    if an + ns + ar > _MAX_RECORDS:
        return None
    rcode = flags & 0xF
    versions: list[str] = []
    try:
        offset = 12
        if qd:
            name, offset = _dns_name(data, offset)
            if offset + 4 > len(data):
                return None
            qtype, qclass = struct.unpack_from("!HH", data, offset)
            if name.lower() != _DNS_VERSION_NAME or qtype != _TXT or qclass != _CLASS_CH:
                return None
            offset += 4
        for _ in range(an + ns + ar):
            owner, offset = _dns_name(data, offset)
            if offset + 10 > len(data):
                return None
            rtype, _cls, _ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            end = offset + rdlength
            if end > len(data):
                return None
            if rtype == _TXT and owner.lower() == _DNS_VERSION_NAME:
                # TXT RDATA is one or more <length><bytes> character-strings (RFC 1035 §3.3.14).
                pos, parts = offset, []
                while pos < end:
                    size = data[pos]
                    if pos + 1 + size > end:
                        return None
                    parts.append(data[pos + 1 : pos + 1 + size])
                    pos += 1 + size
                versions.append(device_str(b"".join(parts)))
            offset = end
    except ValueError:
        return None
    summary = _DNS_RCODES.get(rcode, f"rcode {rcode}")
    if versions:
        summary += f", version.bind {quoted(bound_text(versions[0], _DNS_VERSION_LIMIT))}"
    return bound_text(summary)


# --- TFTP (RFC 1350) -----------------------------------------------------------------------

_TFTP_RRQ, _TFTP_DATA, _TFTP_ERROR = 1, 3, 5
#: 2-byte opcode, 2-byte block number and at most 512 bytes of data (RFC 1350 §1).
_TFTP_MAX_PACKET = 516
#: Error codes 0-7 are RFC 1350's, 8 is option negotiation's (RFC 2347).
_TFTP_MAX_ERROR_CODE = 8


def tftp_read_request(filename: str) -> bytes:
    """An RRQ for `filename` in octet mode (RFC 1350 §5: opcode, name, 0, mode, 0)."""
    return struct.pack("!H", _TFTP_RRQ) + filename.encode() + b"\x00octet\x00"


def parse_tftp_response(data: bytes) -> str | None:
    """Summary of a TFTP ERROR or first DATA packet, or None if it is neither."""
    if not 4 <= len(data) <= _TFTP_MAX_PACKET:
        return None
    opcode, number = struct.unpack_from("!HH", data)
    if opcode == _TFTP_DATA:
        # A read starts at block 1 (RFC 1350 §6); any other block answers someone else.
        return f"DATA block 1, {len(data) - 4} bytes" if number == 1 else None
    if opcode != _TFTP_ERROR or number > _TFTP_MAX_ERROR_CODE:
        return None
    message, nul, rest = data[4:].partition(b"\x00")
    if not nul or rest.strip(b"\x00"):
        return None  # ErrMsg is one NUL-terminated string and the packet ends there
    text = bound_text(message)
    return f"error {number}: {text}" if text else f"error {number}"


# --- NTP (RFC 5905) ------------------------------------------------------------------------

_NTP_PACKET = 48
_NTP_CLIENT, _NTP_SERVER = 3, 4


def ntp_client_request(transmit: bytes) -> bytes:
    """An NTPv4 mode-3 request whose transmit timestamp is the 8 random bytes `transmit`.

    The server copies it into the reply's origin timestamp (RFC 5905 §8), which makes it
    our nonce; a random value also avoids disclosing the local clock (RFC 9109 §4).
    """
    if len(transmit) != 8:
        raise ValueError("an NTP timestamp is 8 bytes")
    return bytes(((4 << 3) | _NTP_CLIENT,)) + bytes(39) + transmit


def parse_ntp_response(data: bytes, transmit: bytes) -> str | None:
    """Summary (`NTPv4 stratum 2`) of a server reply to our request, or None."""
    if len(data) < _NTP_PACKET:
        return None  # extension fields and a MAC may follow the 48-byte header, never less
    first, stratum = data[0], data[1]
    version, mode = (first >> 3) & 0x7, first & 0x7
    if mode != _NTP_SERVER or not 1 <= version <= 4 or data[24:32] != transmit:
        return None
    summary = f"NTPv{version} stratum {stratum}"
    refid = data[12:16]
    if stratum in (0, 1):
        # Stratum 0 carries a kiss code, stratum 1 a reference source, both 4 ASCII
        # characters (RFC 5905 §7.3 and §7.4).
        code = bound_text(refid.rstrip(b"\x00"), 4)
        summary += f" ({'kiss code' if stratum == 0 else 'reference'} {code})" if code else ""
    elif stratum >= 16:
        summary += " (unsynchronised)"
    return summary


# --- IPMI: RMCP / ASF presence ping (DMTF DSP0136 ASF 2.0 §3.2.4) ----------------------------

_ASF_IANA = 4542
_RMCP_ASF_HEADER = bytes((0x06, 0x00, 0xFF, 0x06))  # RMCP 1.0, no ACK wanted, class ASF
_ASF_PING, _ASF_PONG = 0x80, 0x40
_ASF_PONG_DATA = 16


def asf_presence_ping(tag: int) -> bytes:
    """RMCP ASF Presence Ping with message tag `tag` (0-254; 255 is reserved)."""
    if not 0 <= tag <= 0xFE:
        raise ValueError("ASF message tags are 0-254")
    return _RMCP_ASF_HEADER + struct.pack("!IBBBB", _ASF_IANA, _ASF_PING, tag, 0, 0)


def parse_asf_pong(data: bytes, tag: int) -> str | None:
    """Summary of a Presence Pong echoing `tag` (supported entities and interactions)."""
    if len(data) < 12 + _ASF_PONG_DATA:
        return None
    version, _reserved, _sequence, klass = data[:4]
    iana, kind, got_tag, _res, length = struct.unpack_from("!IBBBB", data, 4)
    # Class 0x06 without the ACK bit (0x80): an RMCP ACK of our ping is not a pong.
    if version != 0x06 or klass != 0x06 or iana != _ASF_IANA:
        return None
    if kind != _ASF_PONG or got_tag != tag or length < _ASF_PONG_DATA:
        return None
    oem_iana, _oem = struct.unpack_from("!II", data, 12)
    entities, interactions = data[20], data[21]
    asf = entities & 0x0F
    parts = [
        "IPMI supported" if entities & 0x80 else "IPMI not supported",
        "ASF 1.0" if asf == 1 else f"ASF version code {asf}",
        "RMCP security extensions" if interactions & 0x80 else "no RMCP security extensions",
    ]
    if interactions & 0x20:
        parts.append("DASH")
    if oem_iana != _ASF_IANA:
        parts.append(f"OEM enterprise {oem_iana}")
    return ", ".join(parts)


# --- BACnet/IP (ANSI/ASHRAE 135 Annex J, clause 16.10 Who-Is / I-Am) ----------------------

_BVLC_TYPE = 0x81
_BVLC_FORWARDED, _BVLC_UNICAST, _BVLC_BROADCAST = 0x04, 0x0A, 0x0B
_BACNET_UNCONFIRMED = 0x10
_BACNET_I_AM, _BACNET_WHO_IS = 0x00, 0x08
_BACNET_DEVICE = 8
#: BVLC Original-Unicast-NPDU, NPDU version 1 with no routing, unconfirmed Who-Is with no
#: range: every device on the B/IP node answers with I-Am.
BACNET_WHO_IS = bytes((_BVLC_TYPE, _BVLC_UNICAST, 0, 8, 0x01, 0x00, 0x10, _BACNET_WHO_IS))


def _bacnet_unsigned(data: bytes, offset: int, tag: int) -> tuple[int, int] | None:
    """An application-tagged unsigned/enumerated value (clause 20.2.1) at `offset`."""
    if offset >= len(data) or data[offset] >> 3 != tag << 1 or not 1 <= data[offset] & 7 <= 4:
        return None
    size = data[offset] & 7
    if offset + 1 + size > len(data):
        return None
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def parse_bacnet_i_am(data: bytes) -> str | None:
    """Summary (`device instance 1234, vendor 999`) of a BACnet/IP I-Am, or None."""
    if len(data) < 4 or data[0] != _BVLC_TYPE:
        return None
    function, length = data[1], int.from_bytes(data[2:4], "big")
    if length != len(data) or function not in (_BVLC_FORWARDED, _BVLC_UNICAST, _BVLC_BROADCAST):
        return None
    # Forwarded-NPDU carries the originator's 6-byte B/IP address first (J.2.10).
    offset = 10 if function == _BVLC_FORWARDED else 4
    if offset + 2 > len(data) or data[offset] != 0x01:
        return None
    control = data[offset + 1]
    offset += 2
    if control & 0x80:
        return None  # a network-layer message, not an APDU
    has_destination = bool(control & 0x20)
    for present in (has_destination, bool(control & 0x08)):  # DNET/DLEN/DADR, SNET/SLEN/SADR
        if present:
            if offset + 3 > len(data):
                return None
            offset += 3 + data[offset + 2]
    offset += 1 if has_destination else 0  # hop count
    if offset + 7 > len(data) or data[offset] != _BACNET_UNCONFIRMED:
        return None
    if data[offset + 1] != _BACNET_I_AM or data[offset + 2] != 0xC4:
        return None  # I-Am starts with a 4-byte BACnetObjectIdentifier (tag 12)
    object_id = int.from_bytes(data[offset + 3 : offset + 7], "big")
    if object_id >> 22 != _BACNET_DEVICE:
        return None
    summary = f"device instance {object_id & 0x3FFFFF}"
    # maxAPDULengthAccepted, segmentationSupported, vendorID follow; read vendorID if sane.
    max_apdu = _bacnet_unsigned(data, offset + 7, 2)
    segmentation = _bacnet_unsigned(data, max_apdu[1], 9) if max_apdu else None
    vendor = _bacnet_unsigned(data, segmentation[1], 2) if segmentation else None
    if vendor is not None:
        summary += f", vendor {vendor[0]}"
    return summary


# --- EtherNet/IP List Identity (ODVA CIP Vol. 2 §2-4.2) ------------------------------------

_ENIP_LIST_IDENTITY = 0x0063
_ENIP_HEADER = 24
_CIP_IDENTITY_ITEM = 0x000C
#: Item fixed part: version 2, socket address 16, vendor 2, type 2, product 2, revision 2,
#: status 2, serial 4, then the product name's length byte.
_ENIP_IDENTITY_FIXED = 33


def enip_list_identity(context: bytes) -> bytes:
    """List Identity request: encapsulation header only, `context` echoed in the reply."""
    if len(context) != 8:
        raise ValueError("the sender context is 8 bytes")
    return struct.pack("<HHII", _ENIP_LIST_IDENTITY, 0, 0, 0) + context + bytes(4)


def parse_enip_identity(data: bytes, context: bytes) -> str | None:
    """Summary (product name, vendor, device type, revision) of a List Identity reply."""
    if len(data) < _ENIP_HEADER + 2:
        return None
    command, length, _session, status = struct.unpack_from("<HHII", data)
    if command != _ENIP_LIST_IDENTITY or status != 0 or data[12:20] != context:
        return None
    if length != len(data) - _ENIP_HEADER:
        return None
    (count,) = struct.unpack_from("<H", data, _ENIP_HEADER)
    offset = _ENIP_HEADER + 2
    for _ in range(min(count, 8)):  # one identity item in practice
        if offset + 4 > len(data):
            return None
        item_type, item_length = struct.unpack_from("<HH", data, offset)
        offset += 4
        end = offset + item_length
        if end > len(data):
            return None
        if item_type == _CIP_IDENTITY_ITEM and item_length >= _ENIP_IDENTITY_FIXED:
            vendor, device_type, _product = struct.unpack_from("<HHH", data, offset + 18)
            major, minor = data[offset + 24], data[offset + 25]
            name_length = data[offset + 32]
            if offset + _ENIP_IDENTITY_FIXED + name_length > end:
                return None
            name = data[offset + 33 : offset + 33 + name_length]
            return bound_text(
                f"{bound_text(name, 64) or '(no product name)'}, vendor {vendor}, "
                f"device type {device_type}, revision {major}.{minor}"
            )
        offset = end
    return None


# --- the scan ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Probe:
    address: str
    port: int
    protocol: str
    label: str  # distinguishes two probes on one port (SNMP v1 and v2c)
    payload: bytes
    request: str
    parse: Callable[[bytes], tuple[str, str] | None]  # -> (label, summary)


@dataclass(frozen=True, slots=True)
class _Nonces:
    """Per-scan random values a reply must echo, so a stale or forged one does not count."""

    mdns_id: int
    coap_mid: int
    coap_token: bytes
    dns_id: int
    tftp_name: str
    ntp_transmit: bytes
    asf_tag: int
    enip_context: bytes

    @classmethod
    def fresh(cls) -> _Nonces:
        rng = random.SystemRandom()
        return cls(
            mdns_id=rng.randint(1, 0xFFFF),
            coap_mid=rng.randint(0, 0xFFFF),
            coap_token=rng.getrandbits(32).to_bytes(4, "big"),
            dns_id=rng.randint(1, 0xFFFF),
            # A name no device has, so a real server answers "File not found", not a file.
            tftp_name=f"shinsa-{rng.getrandbits(64):016x}.bin",
            ntp_transmit=rng.getrandbits(64).to_bytes(8, "big"),
            asf_tag=rng.randint(0, 0xFE),
            enip_context=rng.getrandbits(64).to_bytes(8, "big"),
        )


def _single(
    address: str,
    port: int,
    protocol: str,
    payload: bytes,
    request: str,
    parse: Callable[[bytes], str | None],
) -> list[_Probe]:
    """The one probe of a protocol that sends a single request and reads no label back."""

    def parse_labelled(data: bytes) -> tuple[str, str] | None:
        summary = parse(data)
        return None if summary is None else ("", summary)

    return [_Probe(address, port, protocol, "", payload, request, parse_labelled)]


def _probes_for(address: str, port: int, nonces: _Nonces) -> list[_Probe]:
    protocol = PROTOCOL_BY_PORT.get(port)
    if protocol == "snmp":

        def parse_snmp(data: bytes) -> tuple[str, str] | None:
            reply = parse_snmp_response(data)
            if reply is None or _SNMP_REQUEST_IDS.get(reply.version) != reply.request_id:
                return None
            return _SNMP_VERSIONS[reply.version], _snmp_summary(reply)

        return [
            _Probe(
                address,
                port,
                "snmp",
                name,
                _SNMP_REQUESTS[version],
                f"SNMP{name} GetRequest sysDescr.0 community {COMMUNITY!r}",
                parse_snmp,
            )
            for version, name in _SNMP_VERSIONS.items()
        ]
    n = nonces
    if protocol == "ssdp":
        payload = ssdp_search(address, port)
        return _single(
            address, port, "ssdp", payload, "SSDP M-SEARCH ST ssdp:all", parse_ssdp_response
        )
    if protocol == "mdns":
        request = f"mDNS PTR {_DNS_SD_SERVICES} (QU)"
        payload = mdns_query(n.mdns_id)
        return _single(
            address, port, "mdns", payload, request, lambda d: parse_mdns_response(d, n.mdns_id)
        )
    if protocol == "coap":
        payload = coap_get_core(n.coap_mid, n.coap_token)
        return _single(
            address,
            port,
            "coap",
            payload,
            "CoAP CON GET /.well-known/core",
            lambda d: parse_coap_response(d, n.coap_mid, n.coap_token),
        )
    if protocol == "dns":
        return _single(
            address,
            port,
            "dns",
            dns_version_query(n.dns_id),
            f"DNS query {_DNS_VERSION_NAME} TXT CH",
            lambda d: parse_dns_response(d, n.dns_id),
        )
    if protocol == "tftp":
        return _single(
            address,
            port,
            "tftp",
            tftp_read_request(n.tftp_name),
            "TFTP RRQ for a random non-existent file (octet)",
            parse_tftp_response,
        )
    if protocol == "ntp":
        return _single(
            address,
            port,
            "ntp",
            ntp_client_request(n.ntp_transmit),
            "NTPv4 client request (mode 3)",
            lambda d: parse_ntp_response(d, n.ntp_transmit),
        )
    if protocol == "ipmi":
        return _single(
            address,
            port,
            "ipmi",
            asf_presence_ping(n.asf_tag),
            "RMCP ASF Presence Ping",
            lambda d: parse_asf_pong(d, n.asf_tag),
        )
    if protocol == "bacnet":
        return _single(
            address, port, "bacnet", BACNET_WHO_IS, "BACnet/IP Who-Is", parse_bacnet_i_am
        )
    if protocol == "enip":
        return _single(
            address,
            port,
            "enip",
            enip_list_identity(n.enip_context),
            "EtherNet/IP List Identity",
            lambda d: parse_enip_identity(d, n.enip_context),
        )
    return []


def unprobed(ports: Iterable[int]) -> tuple[int, ...]:
    """The ports among `ports` udp_scan sends nothing to (no known payload), sorted.

    For such ports silence would say nothing, so they are skipped; the caller can tell the
    user they were not examined rather than report them closed.
    """
    return tuple(sorted({p for p in ports if p not in PROTOCOL_BY_PORT}))


class _Collector(asyncio.DatagramProtocol):
    """Keeps (source, data) pairs, bounded in size and number, and wakes the scanner."""

    def __init__(self) -> None:
        self.datagrams: list[tuple[str, int, bytes]] = []
        self.arrived = asyncio.Event()
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(self.datagrams) >= MAX_DATAGRAMS:
            self.dropped += 1
            return
        try:
            host = _normal(str(addr[0]))
        except ValueError:
            return
        port = addr[1]
        if isinstance(port, int):
            self.datagrams.append((host, port, data[:MAX_DATAGRAM]))
            self.arrived.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP errors on an unconnected socket say nothing we act on: silence is the result.
        pass


def _normal(address: str) -> str:
    return str(ipaddress.ip_address(address.split("%", 1)[0]))


async def udp_scan(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.5,
    retries: int = 1,
) -> dict[str, tuple[UdpReply, ...]]:
    """Replies per address from the UDP services we can speak to among `ports`.

    Probed: 53 DNS, 69 TFTP, 123 NTP, 161/1161 SNMP v1 and v2c, 623 IPMI, 1900 SSDP,
    5353 mDNS, 5683 CoAP, 47808 BACnet/IP, 44818 EtherNet/IP (PROTOCOL_BY_PORT). Ports
    without a known payload are not probed at all (see `unprobed`): they never appear in
    the result, whatever listens there.

    Each probe is sent up to `1 + retries` times, `timeout` seconds apart; a reply counts
    only if it comes from the probed address and parses as the probed protocol. Every
    address is in the result, with an empty tuple when nothing answered.
    """
    nonces = _Nonces.fresh()
    unique = list(dict.fromkeys(addresses))
    probes = [
        probe
        for address in unique
        for port in dict.fromkeys(ports)
        for probe in _probes_for(address, port, nonces)
    ]
    results: dict[str, dict[tuple[int, str, str], UdpReply]] = {a: {} for a in unique}
    if not probes:
        return dict.fromkeys(unique, ())

    loop = asyncio.get_running_loop()
    by_family: dict[socket.AddressFamily, list[_Probe]] = {}
    for probe in probes:
        family = socket.AF_INET6 if ":" in probe.address else socket.AF_INET
        by_family.setdefault(family, []).append(probe)
    collector = _Collector()
    transports: dict[socket.AddressFamily, asyncio.DatagramTransport] = {}
    # Probes by normalised source address, to match replies from that address.
    by_source: dict[str, list[_Probe]] = {}
    for probe in probes:
        by_source.setdefault(_normal(probe.address), []).append(probe)
    answered: set[tuple[str, int, str]] = set()  # (address, port, label)
    expected = {(p.address, p.port, p.label) for p in probes}
    try:
        for family in by_family:
            local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)  # noqa: S104
            transport, _ = await loop.create_datagram_endpoint(
                lambda: collector, local_addr=local, family=family
            )
            transports[family] = transport
        for _attempt in range(1 + max(0, retries)):
            for family, family_probes in by_family.items():
                for probe in family_probes:
                    if (probe.address, probe.port, probe.label) not in answered:
                        transports[family].sendto(probe.payload, (probe.address, probe.port))
            deadline = loop.time() + timeout
            while answered != expected:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                collector.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(collector.arrived.wait(), remaining)
                _match(collector, by_source, results, answered)
            if answered == expected:
                break
        _match(collector, by_source, results, answered)
    finally:
        for transport in transports.values():
            transport.close()
    return {
        address: tuple(sorted(found.values(), key=lambda r: (r.port, r.request)))
        for address, found in results.items()
    }


def _match(
    collector: _Collector,
    by_source: dict[str, list[_Probe]],
    results: dict[str, dict[tuple[int, str, str], UdpReply]],
    answered: set[tuple[str, int, str]],
) -> None:
    """Attribute each received datagram to the probe it answers, if any."""
    datagrams, collector.datagrams = collector.datagrams, []
    for host, sport, data in datagrams:
        candidates = by_source.get(host, [])
        # Same port first; SSDP and TFTP may answer from another port (_ANY_SOURCE_PORT).
        ordered = [p for p in candidates if p.port == sport] + [
            p for p in candidates if p.port != sport and p.protocol in _ANY_SOURCE_PORT
        ]
        for probe in ordered:
            parsed = probe.parse(data)
            if parsed is None:
                continue
            label, summary = parsed
            match = next(
                (p for p in candidates if p.port == probe.port and p.label == label), probe
            )
            key = (match.port, match.protocol, match.label)
            if key not in results[match.address]:
                results[match.address][key] = UdpReply(
                    port=match.port,
                    protocol=match.protocol,
                    request=match.request,
                    response=summary,
                    community=COMMUNITY if match.protocol == "snmp" else "",
                )
            answered.add((match.address, match.port, match.label))
            break
