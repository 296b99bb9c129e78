"""mDNS / DNS-SD: answers PTR queries for the service-type list and for each service type.

Replies go unicast to the sender with the query's ID and question echoed, as RFC 6762
section 6.7 asks for queries that do not come from port 5353 (scanners never do).
"""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

PTR, ANY, CLASS_IN = 12, 255, 1
META_QUERY = "_services._dns-sd._udp.local"
TTL = 10  # legacy unicast answers must not carry a TTL above 10 s
MAX_QUESTIONS = 8
SERVICE_TYPES = {
    "http": "_http._tcp.local",
    "https": "_https._tcp.local",
    "ssh": "_ssh._tcp.local",
    "ftp": "_ftp._tcp.local",
    "telnet": "_telnet._tcp.local",
    "rtsp": "_rtsp._tcp.local",
    "mqtt": "_mqtt._tcp.local",
    "coap": "_coap._udp.local",
    "jetdirect": "_pdl-datastream._tcp.local",
    "adb": "_adb._tcp.local",
}


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    types = sorted(
        {
            SERVICE_TYPES[s.protocol]
            for s in device.personality.services
            if s.protocol in SERVICE_TYPES and not s.fault
        }
        | {"_device-info._tcp.local"}
    )
    instance = (
        re.sub(r"[^A-Za-z0-9 -]", "", device.personality.title)[:60] or device.personality.name
    )
    records: dict[str, list[str]] = {META_QUERY: types}
    for service_type in types:
        records[service_type] = [f"{instance}.{service_type}"]

    def answer(data: bytes) -> bytes | None:
        return respond(data, records)

    return answer


def respond(data: bytes, records: dict[str, list[str]]) -> bytes | None:
    if len(data) < 12:
        return None
    query_id, flags, qdcount = struct.unpack(">HHH", data[:6])
    if flags & 0x8000 or not 1 <= qdcount <= MAX_QUESTIONS:
        return None  # a response, or not a query we can read
    pos = 12
    questions: list[bytes] = []
    answers: list[bytes] = []
    for _ in range(qdcount):
        name, end = read_name(data, pos)
        if end + 4 > len(data):
            raise ValueError("truncated question")
        qtype, qclass = struct.unpack(">HH", data[end : end + 4])
        questions.append(encode_name(name) + struct.pack(">HH", qtype, qclass & 0x7FFF))
        pos = end + 4
        if qtype in (PTR, ANY) and name.lower() in records:
            for target in records[name.lower()]:
                rdata = encode_name(target)
                answers.append(
                    encode_name(name) + struct.pack(">HHIH", PTR, CLASS_IN, TTL, len(rdata)) + rdata
                )
    if not answers:
        return None  # mDNS responders stay silent when they know no answer
    header = struct.pack(">HHHHHH", query_id, 0x8400, len(questions), len(answers), 0, 0)
    return header + b"".join(questions) + b"".join(answers)


def read_name(data: bytes, pos: int) -> tuple[str, int]:
    """(dotted name, position after it); compression pointers are followed a bounded number
    of times, so a pointer loop cannot spin the responder."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(64):
        length = data[pos]
        if length == 0:
            return ".".join(labels), end if end is not None else pos + 1
        if length & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        labels.append(data[pos + 1 : pos + 1 + length].decode("utf-8"))
        pos += 1 + length
    raise ValueError("name too long or a pointer loop")


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.split("."):
        raw = label.encode("utf-8")[:63]
        out += bytes([len(raw)]) + raw
    return bytes(out) + b"\x00"
