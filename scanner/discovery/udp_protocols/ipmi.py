"""IPMI: the RMCP / ASF presence ping and its pong."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import UdpProtocol, one

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


# RMCP / ASF presence ping: DMTF DSP0136 ASF 2.0 §3.2.4.

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


def _start(rng: random.Random) -> Requests:
    tag = rng.randint(0, 0xFE)
    return one(
        asf_presence_ping(tag), "RMCP ASF Presence Ping", lambda data: parse_asf_pong(data, tag)
    )


PROTOCOL = UdpProtocol("ipmi", (623,), _start)
