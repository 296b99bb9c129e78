"""TFTP (RFC 1350): a read request for a file no device has, and the error it earns."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import UdpProtocol, one
from scanner.model import bound_text

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


_TFTP_RRQ, _TFTP_DATA, _TFTP_ERROR = 1, 3, 5
#: 2-byte opcode, 2-byte block number and at most 512 bytes of data (RFC 1350 §1).
_TFTP_MAX_PACKET = 516
#: Error codes 0-7 are RFC 1350's, 8 is option negotiation's (RFC 2347).
_TFTP_MAX_ERROR_CODE = 8


def tftp_read_request(filename: str) -> bytes:
    """An RRQ for `filename` in octet mode (RFC 1350 §5: opcode, name, 0, mode, 0)."""
    return struct.pack("!H", _TFTP_RRQ) + filename.encode() + b"\x00octet\x00"


def parse_tftp_response(data: bytes) -> str | None:
    """Summary of a TFTP ERROR or first DATA packet, or None if it is neither."""
    if not 4 <= len(data) <= _TFTP_MAX_PACKET:
        return None
    opcode, number = struct.unpack_from("!HH", data)
    if opcode == _TFTP_DATA:
        # A read starts at block 1 (RFC 1350 §6); any other block answers someone else.
        return f"DATA block 1, {len(data) - 4} bytes" if number == 1 else None
    if opcode != _TFTP_ERROR or number > _TFTP_MAX_ERROR_CODE:
        return None
    message, nul, rest = data[4:].partition(b"\x00")
    if not nul or rest.strip(b"\x00"):
        return None  # ErrMsg is one NUL-terminated string and the packet ends there
    text = bound_text(message)
    return f"error {number}: {text}" if text else f"error {number}"


def _start(rng: random.Random) -> Requests:
    # A name no device has, so a real server answers "File not found", not a file.
    name = f"shinsa-{rng.getrandbits(64):016x}.bin"
    return one(
        tftp_read_request(name),
        "TFTP RRQ for a random non-existent file (octet)",
        parse_tftp_response,
    )


#: RFC 1350 §4: the server answers from a fresh transfer ID, i.e. a new port.
PROTOCOL = UdpProtocol("tftp", (69,), _start, any_source_port=True)
