"""TFTP (RFC 1350): every read request gets ERROR 1 "File not found", every write ERROR 2.

The reply goes out from a fresh ephemeral port, not from 69: RFC 1350 §4 has the server
pick a new transfer ID (port) for each request, and a scanner must cope with that. An
ERROR ends the transfer and is neither acknowledged nor retransmitted (§7), so the
fresh port is closed straight after sending; lab/servers/udp.py does the sending.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

RRQ, WRQ, ERROR = 1, 2, 5
FILE_NOT_FOUND, ACCESS_VIOLATION = 1, 2
MODES = frozenset({"netascii", "octet", "mail"})  # RFC 1350 §5, case-insensitive
MAX_NAME = 255


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    return respond


def respond(data: bytes) -> bytes | None:
    opcode = struct.unpack_from("!H", data)[0]
    if opcode not in (RRQ, WRQ):
        return None  # DATA/ACK/ERROR for a transfer that does not exist: nothing to say
    filename, mode = _request_fields(data[2:])
    if filename is None or mode is None:
        return None
    if opcode == RRQ:
        return error(FILE_NOT_FOUND, "File not found")
    return error(ACCESS_VIOLATION, "Access violation")


def error(code: int, message: str) -> bytes:
    return struct.pack("!HH", ERROR, code) + message.encode() + b"\x00"


def _request_fields(body: bytes) -> tuple[str | None, str | None]:
    """(filename, mode) of an RRQ/WRQ body, or Nones unless it is exactly two C strings."""
    parts = body.split(b"\x00")
    # Two NUL-terminated strings leave ["name", "mode", ""]; RFC 2347 options would add
    # more pairs, which this device ignores.
    if len(parts) < 3 or len(parts) % 2 == 0 or parts[-1] != b"":
        return None, None
    name, mode = parts[0], parts[1]
    if not name or len(name) > MAX_NAME:
        return None, None
    try:
        text_mode = mode.decode("ascii").lower()
        text_name = name.decode("ascii")
    except UnicodeDecodeError:
        return None, None
    if text_mode not in MODES:
        return None, None
    return text_name, text_mode
