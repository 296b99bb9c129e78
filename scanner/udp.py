"""UDP discovery with real protocol payloads: SNMP, SSDP, mDNS and CoAP.

A UDP port gives no handshake: an empty datagram is usually dropped, so "no answer" says
nothing. We only probe ports where we can speak the protocol, and count a port as found
only when the reply parses as that protocol (a payload echo or garbage is not a reply).
Ports without a known payload are skipped, not guessed at.
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

from scanner.model import bound_text

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

#: Longest datagram we keep; anything past it is ignored rather than buffered.
MAX_DATAGRAM = 64 * 1024
#: Datagrams kept per scan before further ones are dropped: a flood cannot exhaust memory.
MAX_DATAGRAMS = 10_000

COMMUNITY = "public"

#: Port number -> protocol we can speak there (the usual and the common alternate ports).
PROTOCOL_BY_PORT: dict[int, str] = {
    161: "snmp",
    1161: "snmp",
    1900: "ssdp",
    5353: "mdns",
    5683: "coap",
}


@dataclass(frozen=True, slots=True)
class UdpReply:
    """One UDP service that answered in its own protocol."""

    port: int
    protocol: str  # "snmp" | "ssdp" | "mdns" | "coap"
    request: str  # what was sent, described
    response: str  # bounded summary of what came back (sysDescr, SERVER header, payload)
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
        labels.append(data[offset : offset + length].decode("utf-8", "replace"))
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


def _probes_for(address: str, port: int, mdns_id: int, coap_mid: int, token: bytes) -> list[_Probe]:
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
    if protocol == "ssdp":

        def parse_ssdp(data: bytes) -> tuple[str, str] | None:
            summary = parse_ssdp_response(data)
            return None if summary is None else ("", summary)

        payload = ssdp_search(address, port)
        return [_Probe(address, port, "ssdp", "", payload, "SSDP M-SEARCH ST ssdp:all", parse_ssdp)]
    if protocol == "mdns":

        def parse_mdns(data: bytes) -> tuple[str, str] | None:
            summary = parse_mdns_response(data, mdns_id)
            return None if summary is None else ("", summary)

        request = f"mDNS PTR {_DNS_SD_SERVICES} (QU)"
        return [_Probe(address, port, "mdns", "", mdns_query(mdns_id), request, parse_mdns)]
    if protocol == "coap":

        def parse_coap(data: bytes) -> tuple[str, str] | None:
            summary = parse_coap_response(data, coap_mid, token)
            return None if summary is None else ("", summary)

        payload = coap_get_core(coap_mid, token)
        return [
            _Probe(address, port, "coap", "", payload, "CoAP CON GET /.well-known/core", parse_coap)
        ]
    return []


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

    Each probe is sent up to `1 + retries` times, `timeout` seconds apart; a reply counts
    only if it comes from the probed address and parses as the probed protocol. Every
    address is in the result, with an empty tuple when nothing answered.
    """
    rng = random.SystemRandom()
    mdns_id = rng.randint(1, 0xFFFF)
    coap_mid = rng.randint(0, 0xFFFF)
    token = rng.getrandbits(32).to_bytes(4, "big")
    unique = list(dict.fromkeys(addresses))
    probes = [
        probe
        for address in unique
        for port in dict.fromkeys(ports)
        for probe in _probes_for(address, port, mdns_id, coap_mid, token)
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
        # Same port first; SSDP devices may answer from another port (UPnP allows it).
        ordered = [p for p in candidates if p.port == sport] + [
            p for p in candidates if p.port != sport and p.protocol == "ssdp"
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
