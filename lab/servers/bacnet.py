"""BACnet/IP (ANSI/ASHRAE 135): Who-Is gets I-Am naming the configured device instance.

Only the unconfirmed Who-Is/I-Am exchange of clause 16.10 is spoken. The I-Am goes back
unicast to the asker, as many devices do for a unicast Who-Is: a scanner does not sit on
port 47808, so a broadcast I-Am would never reach it. A Who-Is whose range (low and high
instance limits, context tags 0 and 1) excludes this device's instance gets silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

BVLC_TYPE = 0x81
ORIGINAL_UNICAST, ORIGINAL_BROADCAST = 0x0A, 0x0B
UNCONFIRMED_REQUEST = 0x10
I_AM, WHO_IS = 0x00, 0x08
DEVICE = 8
MAX_APDU = 1476  # the largest APDU over B/IP (Annex J)
NO_SEGMENTATION = 3
#: An arbitrary vendor ID; lab devices claim no real vendor's number.
VENDOR_ID = 999


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    i_am = i_am_reply(spec.instance)
    return lambda data: i_am if is_who_is_for(data, spec.instance) else None


def i_am_reply(instance: int) -> bytes:
    apdu = (
        bytes((UNCONFIRMED_REQUEST, I_AM, 0xC4))  # I-Am, object identifier (app tag 12, 4)
        + ((DEVICE << 22) | instance).to_bytes(4, "big")
        + bytes((0x22,))  # maxAPDULengthAccepted, unsigned (app tag 2), 2 bytes
        + MAX_APDU.to_bytes(2, "big")
        + bytes((0x91, NO_SEGMENTATION))  # segmentationSupported, enumerated (tag 9), 1 byte
        + bytes((0x22,))  # vendorID, unsigned, 2 bytes
        + VENDOR_ID.to_bytes(2, "big")
    )
    npdu = bytes((0x01, 0x00)) + apdu  # version 1, no routing, no reply expected
    return bytes((BVLC_TYPE, ORIGINAL_UNICAST)) + (len(npdu) + 4).to_bytes(2, "big") + npdu


def is_who_is_for(data: bytes, instance: int) -> bool:
    if (
        len(data) < 8
        or data[0] != BVLC_TYPE
        or data[1] not in (ORIGINAL_UNICAST, ORIGINAL_BROADCAST)
    ):
        return False
    if int.from_bytes(data[2:4], "big") != len(data) or data[4] != 0x01:
        return False
    control, pos = data[5], 6
    if control & 0x80:
        return False  # network-layer message
    for present in (bool(control & 0x20), bool(control & 0x08)):  # DNET..., SNET...
        if present:
            if pos + 3 > len(data):
                return False
            pos += 3 + data[pos + 2]
    pos += 1 if control & 0x20 else 0  # hop count
    if data[pos : pos + 2] != bytes((UNCONFIRMED_REQUEST, WHO_IS)):
        return False
    limits = data[pos + 2 :]
    if not limits:
        return True
    low, rest = _context_unsigned(limits, 0)
    high, rest = _context_unsigned(rest, 1)
    if low is None or high is None or rest:
        return False  # a malformed range: ignore the request
    return low <= instance <= high


def _context_unsigned(data: bytes, tag: int) -> tuple[int | None, bytes]:
    """A context-tagged unsigned (clause 20.2.1.2: tag << 4 | 0x08 | length 1-4)."""
    if not data or data[0] & 0xF8 != (tag << 4) | 0x08 or not 1 <= data[0] & 7 <= 4:
        return None, data
    size = data[0] & 7
    if len(data) < 1 + size:
        return None, data
    return int.from_bytes(data[1 : 1 + size], "big"), data[1 + size :]
