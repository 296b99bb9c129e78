"""EtherNet/IP: a List Identity request and the identity item of its reply."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from scapy.contrib.enipTCP import ENIPTCP

from scanner.discovery.udp_protocols.spec import UdpProtocol, one
from scanner.model import bound_text

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


# EtherNet/IP List Identity: ODVA CIP Vol. 2 §2-4.2.

_ENIP_LIST_IDENTITY = 0x0063
_ENIP_HEADER = 24
_CIP_IDENTITY_ITEM = 0x000C
#: Item fixed part: version 2, socket address 16, vendor 2, type 2, product 2, revision 2,
#: status 2, serial 4, then the product name's length byte.
_ENIP_IDENTITY_FIXED = 33


def enip_list_identity(context: bytes) -> bytes:
    """List Identity request: encapsulation header only, `context` echoed in the reply.
    Built with scapy's EtherNet/IP encapsulation layer (its sender context is a
    little-endian 64-bit field, so the 8 bytes go out as given); the reply is read by our
    own bounded parser below."""
    if len(context) != 8:
        raise ValueError("the sender context is 8 bytes")
    return bytes(
        ENIPTCP(
            commandId=_ENIP_LIST_IDENTITY,
            length=0,
            session=0,
            status=0,
            senderContext=int.from_bytes(context, "little"),
            options=0,
        )
    )


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


def _start(rng: random.Random) -> Requests:
    context = rng.getrandbits(64).to_bytes(8, "big")
    return one(
        enip_list_identity(context),
        "EtherNet/IP List Identity",
        lambda data: parse_enip_identity(data, context),
    )


PROTOCOL = UdpProtocol("enip", (44818,), _start)
