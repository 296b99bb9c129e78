"""CoAP (RFC 7252): GET /.well-known/core returns the resource list in link format.

A confirmable request gets a piggybacked ACK with the same message ID and token; a CoAP
ping (empty CON) gets a RST, which is how clients test for a CoAP endpoint.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

CON, NON, ACK, RST = 0, 1, 2, 3
GET = 0x01
CONTENT, NOT_FOUND, METHOD_NOT_ALLOWED = 0x45, 0x84, 0x85
URI_PATH, CONTENT_FORMAT = 11, 12
LINK_FORMAT = 40
LINKS = (
    b'</.well-known/core>;ct=40,</sensors/temp>;rt="temperature";if="sensor",'
    b'</firmware/version>;rt="firmware"'
)


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    # Message IDs of NON responses need only be fresh, not secret.
    return lambda data: respond(data, random.Random())


def respond(data: bytes, rng: random.Random) -> bytes | None:
    if len(data) < 4 or data[0] >> 6 != 1:
        return None
    kind, token_length, code = (data[0] >> 4) & 3, data[0] & 0x0F, data[1]
    message_id = data[2:4]
    if token_length > 8 or kind in (ACK, RST):
        return None
    token = data[4 : 4 + token_length]
    if code == 0:
        return bytes([0x40 | RST << 4]) + bytes([0]) + message_id if kind == CON else None
    path = uri_path(data[4 + token_length :])
    if path != [".well-known", "core"]:
        status, payload = NOT_FOUND, b""
    elif code != GET:
        status, payload = METHOD_NOT_ALLOWED, b""
    else:
        status, payload = CONTENT, LINKS
    reply_kind, reply_id = (ACK, message_id) if kind == CON else (NON, rng.randbytes(2))
    head = bytes([0x40 | reply_kind << 4 | len(token), status]) + reply_id + token
    if payload:
        # Option delta 12 (Content-Format), length 1, value 40; then the payload marker.
        head += bytes([CONTENT_FORMAT << 4 | 1, LINK_FORMAT, 0xFF])
    return head + payload


def uri_path(options: bytes) -> list[str]:
    """The Uri-Path segments among the options that follow the token."""
    segments: list[str] = []
    number, pos = 0, 0
    while pos < len(options) and options[pos] != 0xFF:
        delta, length = options[pos] >> 4, options[pos] & 0x0F
        pos += 1
        delta, pos = _extended(delta, options, pos)
        length, pos = _extended(length, options, pos)
        number += delta
        if pos + length > len(options):
            raise ValueError("option runs past the datagram")
        if number == URI_PATH:
            segments.append(options[pos : pos + length].decode("utf-8"))
        pos += length
    return segments


def _extended(value: int, data: bytes, pos: int) -> tuple[int, int]:
    if value == 13:
        return data[pos] + 13, pos + 1
    if value == 14:
        return int.from_bytes(data[pos : pos + 2], "big") + 269, pos + 2
    if value == 15:
        raise ValueError("reserved option nibble")
    return value, pos
