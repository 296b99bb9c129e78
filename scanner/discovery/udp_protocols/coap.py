"""CoAP: GET /.well-known/core (resource discovery) and its response."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import UdpProtocol, one
from scanner.model import bound_text

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


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


def _start(rng: random.Random) -> Requests:
    message_id = rng.randint(0, 0xFFFF)
    token = rng.getrandbits(32).to_bytes(4, "big")
    return one(
        coap_get_core(message_id, token),
        "CoAP CON GET /.well-known/core",
        lambda data: parse_coap_response(data, message_id, token),
    )


PROTOCOL = UdpProtocol("coap", (5683,), _start)
