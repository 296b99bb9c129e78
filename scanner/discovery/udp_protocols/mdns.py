"""mDNS / DNS-SD: a unicast PTR query for the service list, and the services it names."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.dns import MAX_RECORDS, encode_name, read_name, records
from scanner.discovery.udp_protocols.spec import UdpProtocol, one
from scanner.model import bound_text

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests

_DNS_SD_SERVICES = "_services._dns-sd._udp.local"
_PTR = 12
_QU_BIT = 0x8000  # "unicast response, please" (RFC 6762 §5.4)


def mdns_query(transaction_id: int) -> bytes:
    """PTR query for the DNS-SD service list, asking for a unicast reply."""
    return (
        struct.pack("!HHHHHH", transaction_id, 0, 1, 0, 0, 0)
        + encode_name(_DNS_SD_SERVICES)
        + struct.pack("!HH", _PTR, 1 | _QU_BIT)
    )


def parse_mdns_response(data: bytes, transaction_id: int) -> str | None:
    """Services listed in an mDNS/DNS-SD response to our query, or None."""
    if len(data) < 12:
        return None
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
    # Legacy-unicast replies echo our ID (RFC 6762 §6.7); some responders send 0 regardless.
    if not flags & 0x8000 or (flags >> 11) & 0xF or ident not in (transaction_id, 0):
        return None
    if qd + an + ns + ar > MAX_RECORDS or an + ns + ar == 0:
        return None
    services: list[str] = []
    try:
        offset = 12
        for _ in range(qd):
            _, offset = read_name(data, offset)
            offset += 4
        for record in records(data, offset, an + ns + ar):
            if record.rtype == _PTR:
                target, _ = read_name(data, record.start)
                services.append(target)
    except ValueError:
        return None
    if services:
        return bound_text("services: " + ", ".join(dict.fromkeys(services)))
    return bound_text(f"mDNS response with {an} answers, no PTR records")


def _start(rng: random.Random) -> Requests:
    transaction_id = rng.randint(1, 0xFFFF)
    return one(
        mdns_query(transaction_id),
        f"mDNS PTR {_DNS_SD_SERVICES} (QU)",
        lambda data: parse_mdns_response(data, transaction_id),
    )


PROTOCOL = UdpProtocol("mdns", (5353,), _start)
