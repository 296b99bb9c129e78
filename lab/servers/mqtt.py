"""MQTT 3.1, 3.1.1 and 5.0 broker front door: CONNECT gets a CONNACK, nothing is routed.

Accepted when anonymous access is on or the username/password match an account (checked
through the device's `AuthState`). Refusals, as CONNACK return code (3.x) / reason (5.0):
no credentials or a locked account: 5 / 0x87 Not authorized; wrong credentials: the same
with `refusal: not-authorized` (the default, as mosquitto) or 4 / 0x86 Bad user name or
password with `refusal: bad-credentials`; a throttled client: 3 / 0x89 Server busy.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from lab.auth import AuthResult
from lab.servers.context import peer_address
from lab.servers.limits import READ_TIMEOUT
from lab.servers.streams import Listener, send, serve_tcp

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

CONNECT, CONNACK, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 8, 9, 12, 13, 14
PUBLISH = 3
MAX_PACKET = 64 * 1024  # devices are small: anything larger is an attack or a mistake
MAX_PACKETS = 1000
# CONNACK codes: (MQTT 3.x return code, MQTT 5 reason code)
ACCEPTED = (0, 0x00)
SERVER_BUSY = (3, 0x89)  # 3.x has no "busy": 3 is Server unavailable
BAD_CREDENTIALS = (4, 0x86)
NOT_AUTHORIZED = (5, 0x87)


class MalformedPacket(ValueError):
    pass


async def read_packet(
    reader: asyncio.StreamReader, idle: float = READ_TIMEOUT
) -> tuple[int, int, bytes]:
    """(packet type, flags, body) of the next control packet, which must start within `idle`."""
    first = (await asyncio.wait_for(reader.readexactly(1), idle))[0]
    length, multiplier = 0, 1
    for _ in range(4):  # the remaining length is a varint of at most four bytes
        byte = (await asyncio.wait_for(reader.readexactly(1), READ_TIMEOUT))[0]
        length += (byte & 0x7F) * multiplier
        multiplier *= 128
        if not byte & 0x80:
            break
    else:
        raise MalformedPacket("remaining length longer than four bytes")
    if length > MAX_PACKET:
        raise MalformedPacket(f"packet of {length} bytes")
    body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT)
    return first >> 4, first & 0x0F, body


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MalformedPacket("packet ends early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def blob(self) -> bytes:
        return self.take(self.u16())

    def varint(self) -> int:
        value, multiplier = 0, 1
        for _ in range(4):
            byte = self.u8()
            value += (byte & 0x7F) * multiplier
            multiplier *= 128
            if not byte & 0x80:
                return value
        raise MalformedPacket("varint longer than four bytes")


def parse_connect(body: bytes) -> tuple[int, str | None, str | None]:
    """(protocol level, username, password) from a CONNECT body."""
    cur = _Cursor(body)
    name = cur.blob()
    if name not in (b"MQTT", b"MQIsdp"):
        raise MalformedPacket(f"protocol name {name!r}")
    level = cur.u8()
    flags = cur.u8()
    cur.u16()  # keep alive
    if level == 5:
        cur.take(cur.varint())  # properties
    cur.blob()  # client identifier
    if flags & 0x04:  # will flag
        if level == 5:
            cur.take(cur.varint())
        cur.blob()
        cur.blob()
    username = cur.blob().decode("utf-8", "replace") if flags & 0x80 else None
    password = cur.blob().decode("utf-8", "replace") if flags & 0x40 else None
    return level, username, password


def keep_alive(body: bytes) -> int:
    """The Keep Alive seconds of a CONNECT body (after protocol name, level and flags)."""
    cur = _Cursor(body)
    cur.blob()
    cur.take(2)
    return cur.u16()


#: A CONNACK whose remaining length never ends within MQTT's four bytes.
MALFORMED_CONNACK = bytes([CONNACK << 4, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0])


def connack(level: int, code: tuple[int, int]) -> bytes:
    if level == 5:
        return bytes([CONNACK << 4, 3, 0, code[1], 0])
    return bytes([CONNACK << 4, 2, 0, code[0]])


def decide(
    spec: ServiceSpec, device: DeviceContext, username: str | None, password: str, source: str
) -> tuple[int, int]:
    """The CONNACK code for a CONNECT's credentials."""
    if spec.anonymous:
        device.auth.note_anonymous("mqtt", username or "", source)
        return ACCEPTED
    if device.auth.retry_after(source) is not None:
        return SERVER_BUSY
    if username is None:
        return NOT_AUTHORIZED
    result = device.auth.attempt("mqtt", username, password, source)
    if result is AuthResult.ACCEPTED:
        return ACCEPTED
    if result is AuthResult.THROTTLED:
        return SERVER_BUSY
    if result is AuthResult.REJECTED and spec.refusal == "bad-credentials":
        return BAD_CREDENTIALS
    return NOT_AUTHORIZED


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    context = (
        device.tls.server_context(
            device.address, device.personality.title, spec.tls, device.personality.name
        )
        if spec.protocol == "mqtts"
        else None
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            kind, _, body = await read_packet(reader)
            if kind != CONNECT:
                return  # MQTT demands CONNECT first; anything else ends the connection
            level, username, password = parse_connect(body)
        except MalformedPacket:
            return
        code = decide(spec, device, username, password or "", peer_address(writer))
        if spec.connack == "malformed":
            # Hostile firmware (fault-malformed-connack): a return code of 0 behind a remaining
            # length of five continuation bytes (MQTT allows four), then the close.
            send(writer, MALFORMED_CONNACK)
            await writer.drain()
            return
        send(writer, connack(level, code))
        await writer.drain()
        if code == ACCEPTED:
            # keepalive_enforced: silent for 1.5 × the client's keep-alive ends the
            # connection (MQTT 3.1.1 §3.1.2.10); 0 turns the mechanism off.
            idle = READ_TIMEOUT
            if spec.keepalive_enforced and keep_alive(body):
                idle = 1.5 * keep_alive(body)
            with contextlib.suppress(MalformedPacket):
                await _session(reader, writer, level, idle)

    return await serve_tcp(handle, host, port, context)


async def _session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, level: int, idle: float
) -> None:
    for _ in range(MAX_PACKETS):
        kind, _, body = await read_packet(reader, idle)
        if kind == PINGREQ:
            send(writer, bytes([PINGRESP << 4, 0]))
        elif kind == SUBSCRIBE:
            cur = _Cursor(body)
            packet_id = cur.take(2)
            if level == 5:
                cur.take(cur.varint())
            granted = bytearray()
            while cur.pos < len(cur.data):
                cur.blob()
                cur.u8()
                granted.append(0)  # QoS 0 for every filter
            props = b"\x00" if level == 5 else b""
            payload = packet_id + props + bytes(granted)
            send(writer, bytes([SUBACK << 4, len(payload)]) + payload)
        elif kind == DISCONNECT:
            return
        elif kind != PUBLISH:
            return  # anything the lab does not model ends the session
        await writer.drain()
