"""BACnet/IP: a Who-Is and the I-Am it earns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import UdpProtocol, one

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


# BACnet/IP: ANSI/ASHRAE 135 Annex J, clause 16.10 Who-Is / I-Am. Our own bytes and
# parser: scapy (2.8) has no BACnet layer.

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


def _start(_rng: random.Random) -> Requests:
    return one(BACNET_WHO_IS, "BACnet/IP Who-Is", parse_bacnet_i_am)


PROTOCOL = UdpProtocol("bacnet", (47808,), _start)
