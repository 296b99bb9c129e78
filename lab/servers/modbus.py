"""Modbus/TCP: Read Holding Registers (3) and Report Server ID (17); others get exception 1."""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from lab.servers.limits import READ_TIMEOUT
from lab.servers.streams import Listener, send, serve_tcp

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

READ_HOLDING_REGISTERS = 3
REPORT_SERVER_ID = 17
ILLEGAL_FUNCTION, ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE = 1, 2, 3
MAX_REQUESTS = 1000


def answer(pdu: bytes, server_id: bytes) -> bytes:
    """The response PDU for a request PDU."""
    function = pdu[0]
    if function == READ_HOLDING_REGISTERS:
        if len(pdu) != 5:
            return bytes([function | 0x80, ILLEGAL_DATA_VALUE])
        start, count = struct.unpack(">HH", pdu[1:5])
        if not 1 <= count <= 125:
            return bytes([function | 0x80, ILLEGAL_DATA_VALUE])
        if start + count > 0x10000:
            return bytes([function | 0x80, ILLEGAL_DATA_ADDRESS])
        # Register n holds n: deterministic values a test can assert on.
        values = b"".join(struct.pack(">H", (start + i) & 0xFFFF) for i in range(count))
        return bytes([function, len(values)]) + values
    if function == REPORT_SERVER_ID:
        data = server_id + b"\xff"  # run indicator: ON
        return bytes([function, len(data)]) + data
    return bytes([function | 0x80, ILLEGAL_FUNCTION])


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    server_id = device.personality.title.encode("utf-8")[:200]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(MAX_REQUESTS):
            try:
                header = await asyncio.wait_for(reader.readexactly(7), READ_TIMEOUT)
            except asyncio.IncompleteReadError:
                return
            transaction, protocol, length, unit = struct.unpack(">HHHB", header)
            if protocol != 0 or not 2 <= length <= 254:
                return  # not Modbus: a real device drops the connection
            pdu = await asyncio.wait_for(reader.readexactly(length - 1), READ_TIMEOUT)
            reply = answer(pdu, server_id)
            send(writer, struct.pack(">HHHB", transaction, 0, len(reply) + 1, unit) + reply)
            await writer.drain()

    return await serve_tcp(handle, host, port)
