"""DNS (RFC 1035): the name and record codec, and the `version.bind` query discovery sends.

The codec (`encode_name`, `read_name`, `records`) also serves mDNS (mdns.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import UdpProtocol, one
from scanner.model import bound_text, device_str, quoted

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator

    from scanner.discovery.udp_protocols.spec import Requests

#: Most records (all sections) a reply may carry before we call it no reply of ours.
MAX_RECORDS = 64
_MAX_POINTER_HOPS = 16

_DNS_VERSION_NAME = "version.bind"
_TXT, _CLASS_CH = 16, 3
_DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
#: The version string is device text an operator reads, not data we keep.
_DNS_VERSION_LIMIT = 64


def encode_name(name: str) -> bytes:
    """`name` as uncompressed labels ending in the root label."""
    return b"".join(bytes((len(label),)) + label.encode() for label in name.split(".")) + b"\x00"


def read_name(data: bytes, offset: int) -> tuple[str, int]:
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


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record: its owner name, type and where its RDATA lies in the packet."""

    owner: str
    rtype: int
    start: int
    end: int


def records(data: bytes, offset: int, count: int) -> Iterator[Record]:
    """The `count` resource records from `offset` on; ValueError when one runs past the
    packet (a caller that stops early has not read the rest)."""
    for _ in range(count):
        owner, offset = read_name(data, offset)
        if offset + 10 > len(data):
            raise ValueError("record header runs past the packet")
        rtype, _cls, _ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
        offset += 10
        if offset + rdlength > len(data):
            raise ValueError("record data runs past the packet")
        yield Record(owner, rtype, offset, offset + rdlength)
        offset += rdlength


def dns_version_query(query_id: int) -> bytes:
    """`version.bind TXT CH`: the BIND convention (RFC 4892 §2) most resolvers answer,
    even if only with REFUSED; RD is clear because the CHAOS zone is the server's own."""
    return (
        struct.pack("!HHHHHH", query_id, 0, 1, 0, 0, 0)
        + encode_name(_DNS_VERSION_NAME)
        + struct.pack("!HH", _TXT, _CLASS_CH)
    )


def _txt(data: bytes, start: int, end: int) -> bytes:
    """TXT RDATA: one or more <length><bytes> character-strings (RFC 1035 §3.3.14)."""
    pos, parts = start, []
    while pos < end:
        size = data[pos]
        if pos + 1 + size > end:
            raise ValueError("character-string runs past the record")
        parts.append(data[pos + 1 : pos + 1 + size])
        pos += 1 + size
    return b"".join(parts)


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
    if an + ns + ar > MAX_RECORDS:
        return None
    rcode = flags & 0xF
    versions: list[str] = []
    try:
        offset = 12
        if qd:
            name, offset = read_name(data, offset)
            if offset + 4 > len(data):
                return None
            qtype, qclass = struct.unpack_from("!HH", data, offset)
            if name.lower() != _DNS_VERSION_NAME or qtype != _TXT or qclass != _CLASS_CH:
                return None
            offset += 4
        for record in records(data, offset, an + ns + ar):
            if record.rtype == _TXT and record.owner.lower() == _DNS_VERSION_NAME:
                versions.append(device_str(_txt(data, record.start, record.end)))
    except ValueError:
        return None
    summary = _DNS_RCODES.get(rcode, f"rcode {rcode}")
    if versions:
        summary += f", version.bind {quoted(bound_text(versions[0], _DNS_VERSION_LIMIT))}"
    return bound_text(summary)


def _start(rng: random.Random) -> Requests:
    query_id = rng.randint(1, 0xFFFF)
    return one(
        dns_version_query(query_id),
        f"DNS query {_DNS_VERSION_NAME} TXT CH",
        lambda data: parse_dns_response(data, query_id),
    )


PROTOCOL = UdpProtocol("dns", (53,), _start)
