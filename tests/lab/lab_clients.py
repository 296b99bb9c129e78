"""Minimal, bounded clients the lab tests talk to devices with."""

from __future__ import annotations

import asyncio
import contextlib
import ssl

MAX_READ = 2 * 1024 * 1024


def insecure_tls() -> ssl.SSLContext:
    # Lab certificates are self-signed on purpose; these tests check the protocol, not trust.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def connect(
    address: str, port: int, *, tls: bool = False
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(
        asyncio.open_connection(address, port, ssl=insecure_tls() if tls else None), 5
    )


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 2)


async def read_until(reader: asyncio.StreamReader, marker: bytes, timeout: float = 3.0) -> bytes:
    """Bytes up to and including `marker`; TimeoutError if it never comes."""
    data = bytearray()
    async with asyncio.timeout(timeout):
        while marker not in data:
            chunk = await reader.read(4096)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}; got {bytes(data)!r}")
            data += chunk
            assert len(data) < MAX_READ
    return bytes(data)


async def read_to_eof(reader: asyncio.StreamReader, timeout: float = 3.0) -> bytes:
    data = bytearray()
    async with asyncio.timeout(timeout):
        while chunk := await reader.read(65536):
            data += chunk
            assert len(data) < MAX_READ
    return bytes(data)


async def exchange(
    address: str, port: int, request: bytes, *, tls: bool = False, timeout: float = 3.0
) -> bytes:
    """Send `request`, return everything until the server closes."""
    reader, writer = await connect(address, port, tls=tls)
    try:
        writer.write(request)
        await writer.drain()
        return await read_to_eof(reader, timeout)
    finally:
        await close(writer)


class _Catcher(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if not self.reply.done():
            self.reply.set_result(data)


async def udp_exchange(
    address: str, port: int, payload: bytes, timeout: float = 1.0
) -> bytes | None:
    """The first reply datagram, or None when none comes within `timeout`."""
    loop = asyncio.get_running_loop()
    transport, catcher = await loop.create_datagram_endpoint(_Catcher, remote_addr=(address, port))
    try:
        transport.sendto(payload)
        try:
            return await asyncio.wait_for(catcher.reply, timeout)
        except TimeoutError:
            return None
    finally:
        transport.close()
