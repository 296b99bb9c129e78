"""Siemens S7 front door: ISO-on-TCP (TPKT + COTP) connection request -> connection confirm.

Only the transport handshake is modelled; S7comm requests after it are read and ignored.
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from lab.servers.limits import READ_TIMEOUT
from lab.servers.streams import Listener, drain_until_closed, send, serve_tcp

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

COTP_CR, COTP_CC = 0xE0, 0xD0
SOURCE_REFERENCE = 0x0001


def connection_confirm(cotp: bytes) -> bytes | None:
    """TPKT+COTP CC for a COTP CR TPDU, or None when it is not one."""
    if len(cotp) < 7 or cotp[0] + 1 > len(cotp) or cotp[1] != COTP_CR:
        return None
    (client_ref,) = struct.unpack(">H", cotp[4:6])
    parameters = cotp[7 : cotp[0] + 1]  # TPDU size and TSAPs, echoed as a PLC does
    body = bytes([COTP_CC]) + struct.pack(">HH", client_ref, SOURCE_REFERENCE) + b"\x00"
    body += parameters
    tpdu = bytes([len(body)]) + body
    return struct.pack(">BBH", 3, 0, len(tpdu) + 4) + tpdu


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await asyncio.wait_for(reader.readexactly(4), READ_TIMEOUT)
        version, _, length = struct.unpack(">BBH", header)
        if version != 3 or not 7 <= length <= 1024:
            return
        cotp = await asyncio.wait_for(reader.readexactly(length - 4), READ_TIMEOUT)
        reply = connection_confirm(cotp)
        if reply is None:
            return
        send(writer, reply)
        await writer.drain()
        await drain_until_closed(reader, limit=READ_TIMEOUT)

    return await serve_tcp(handle, host, port)
