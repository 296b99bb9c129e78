"""A classic BPF program attached to a socket: the kernel drops what a raw or packet socket
would otherwise hand up only to be thrown away (the SYN scans, the link-layer sweeps).

Best effort: a kernel that refuses the filter leaves the socket unfiltered, and every
reader's own checks still decide; it is only slower.
"""

from __future__ import annotations

import contextlib
import ctypes
import socket
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

SO_ATTACH_FILTER = 26  # linux/asm-generic/socket.h; not exported by the socket module

#: one instruction: (code, jump if true, jump if false, k), as struct sock_filter
Instruction = tuple[int, int, int, int]


def attach(sock: socket.socket, program: Sequence[Instruction]) -> None:
    """Attach `program` to `sock`; nothing when the kernel refuses it."""
    raw = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(raw)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
