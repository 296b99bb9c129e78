"""Android Debug Bridge over TCP: a CNXN message gets a CNXN "device::" reply.

That reply is what makes an exposed ADB port a finding: the device offers a shell to
anyone who connects.
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from lab.servers.limits import READ_TIMEOUT
from lab.servers.streams import Listener, send, serve_tcp

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

A_CNXN = 0x4E584E43
A_VERSION = 0x01000000
MAX_DATA = 256 * 1024
_HEADER = struct.Struct("<6I")


def message(command: int, arg0: int, arg1: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFFFFFF  # the pre-1.0.39 checksum; newer clients ignore it
    return _HEADER.pack(command, arg0, arg1, len(data), checksum, command ^ 0xFFFFFFFF) + data


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    name = device.personality.name
    banner = (
        f"device::ro.product.name={name};ro.product.model={device.personality.vendor or name};"
        f"ro.product.device={name};features=shell_v2\x00"
    ).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await asyncio.wait_for(reader.readexactly(_HEADER.size), READ_TIMEOUT)
        command, _, _, length, _, magic = _HEADER.unpack(header)
        if magic != command ^ 0xFFFFFFFF or length > MAX_DATA:
            return
        await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT)
        if command != A_CNXN:
            return
        send(writer, message(A_CNXN, A_VERSION, MAX_DATA, banner))
        await writer.drain()
        # Authentication and streams are not modelled; wait for the client to hang up.
        await asyncio.wait_for(reader.read(1), READ_TIMEOUT)

    return await serve_tcp(handle, host, port)
