"""MQTT login: one CONNECT per connection, the CONNACK is the oracle.

MQTT 3.1.1 first: return code 0 ACCEPTED, 4 (bad user name or password) and 5 (not
authorised) REJECTED, 3 (server unavailable) the broker throttling. A broker that answers
return code 1 (unacceptable protocol version) is asked again, and from then on, in MQTT 5.0:
reason 0x00 ACCEPTED, 0x86/0x87 REJECTED, 0x89 (server busy) and 0x97 (quota exceeded)
throttling. The empty credential (username "" and password "") sends a CONNECT without any
credentials: the anonymous check. DISCONNECT is sent after an accepted CONNECT.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import TYPE_CHECKING

from probes._login.common import (
    PACE,
    Dropped,
    Pace,
    Scheduler,
    Unsupported,
    attempt,
    device_text,
    run_workers,
    session_worker,
)
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.model import device_str
from scanner.net import ReadLimitExceeded

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork

METHOD = "mqtt connect"
KEEP_ALIVE = 30
MAX_CONNACK = 4096  # a CONNACK with properties (reason string, ...) stays small

_V3_ACCEPTED, _V3_PROTOCOL, _V3_UNAVAILABLE = 0, 1, 3
_V3_REJECTED = {2: "identifier rejected", 4: "bad user name or password", 5: "not authorised"}
_V3_NAMES = {0: "accepted", 1: "unacceptable protocol version", 3: "server unavailable"}
_V5_REJECTED = {0x86: "bad user name or password", 0x87: "not authorized"}
_V5_THROTTLED = {0x89: "server busy", 0x97: "quota exceeded", 0x9F: "connection rate exceeded"}
_V5_REASON_STRING = 0x1F


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def connect_packet(credential: Credential, level: int) -> bytes:
    """CONNECT, clean session; credentials only when the credential has any."""
    flags = 0x02
    payload = _string(f"shinsa-{secrets.token_hex(6)}".encode())
    if credential.username or credential.password:
        # 3.1.1 forbids a password without a user name: an empty one is sent then.
        flags |= 0x80
        payload += _string(credential.username.encode())
        if credential.password:
            flags |= 0x40
            payload += _string(credential.password.encode())
    variable = _string(b"MQTT") + bytes((level, flags)) + KEEP_ALIVE.to_bytes(2, "big")
    if level == 5:
        variable += b"\x00"  # no properties
    body = variable + payload
    return b"\x10" + _varint(len(body)) + body


_FIXED = {0x11: 4, 0x21: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x22: 2, 0x28: 1, 0x29: 1, 0x2A: 1, 0x13: 2}
_STRINGS = {0x12, 0x1F, 0x1A, 0x1C, 0x15, 0x16}


def _reason_string(props: bytes) -> str:
    """The Reason String property of MQTT 5 CONNACK properties, "" when absent or garbled."""
    if not props:
        return ""
    length, pos = 0, 0
    for shift in range(0, 28, 7):
        if pos >= len(props):
            return ""
        byte = props[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    end = min(len(props), pos + length)
    while pos < end:
        ident = props[pos]
        pos += 1
        if ident in _FIXED:
            pos += _FIXED[ident]
        elif ident in _STRINGS or ident == 0x26:
            for _ in range(2 if ident == 0x26 else 1):
                n = int.from_bytes(props[pos : pos + 2], "big")
                if ident == 0x1F:
                    return device_str(props[pos + 2 : pos + 2 + n])
                pos += 2 + n
        else:
            return ""  # unknown property: its size is unknown
    return ""


class _Connack:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def parse_connack(data: bytes, level: int) -> _Connack | None:
    """The return/reason code (and MQTT 5 reason string) of a CONNACK, None if not one."""
    if len(data) < 4 or data[0] != 0x20:
        return None
    length, pos = 0, 1
    for shift in range(0, 28, 7):
        if pos >= len(data):
            return None
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    if pos > 2 and data[pos - 1] == 0:
        return None  # a length in more bytes than it needs (MQTT-1.5.5-1): not a broker's
    body = data[pos : pos + length]
    if len(body) < 2 or len(body) < length or body[0] & 0xFE:
        return None  # cut short, or reserved flag bits set: not a broker's CONNACK
    if level == 4 and length != 2:
        return None  # MQTT 3.1.1 fixes the remaining length at 2 (section 3.2.1)
    if level == 5 and length > 2 and not _properties_fill(body[2:]):
        return None
    code = body[1]
    reason = _reason_string(body[2:]) if level == 5 else ""
    return _Connack(code, reason)


def _properties_fill(props: bytes) -> bool:
    """Whether MQTT 5 properties start with a length that is exactly what follows it."""
    length = 0
    for pos, byte in enumerate(props[:4]):  # a variable byte integer has at most 4 bytes
        length |= (byte & 0x7F) << (7 * pos)
        if not byte & 0x80:
            return pos + 1 + length == len(props)
    return False


class _Level:
    """The protocol level the broker speaks, shared by every connection of a run."""

    def __init__(self) -> None:
        self.value = 4


class _Session:
    reusable = False  # brokers close after a refused CONNECT; one attempt per connection

    def __init__(self, stream: BoundedStream, level: _Level, timeout: float) -> None:
        self._stream = stream
        self._level = level
        self._timeout = timeout

    async def _read_connack(self) -> bytes:
        buf = b""
        async with asyncio.timeout(self._timeout):
            while True:
                chunk = await self._stream.read_some(MAX_CONNACK - len(buf))
                if not chunk:
                    raise Dropped("the broker closed the connection without a CONNACK")
                buf += chunk
                if len(buf) >= 2 and buf[0] == 0x20:
                    need = 2 + buf[1] if not buf[1] & 0x80 else 4
                    if len(buf) >= need or len(buf) >= MAX_CONNACK:
                        return buf
                elif len(buf) >= 2 or len(buf) >= MAX_CONNACK:
                    return buf

    async def attempt(self, credential: Credential) -> Attempt:
        level = self._level.value
        started = time.monotonic()
        await self._stream.write(connect_packet(credential, level))
        try:
            data = await self._read_connack()
        except TimeoutError:
            return attempt(
                credential, Outcome.ERROR, f"no CONNACK within {self._timeout:g} s", started
            )
        except ReadLimitExceeded:
            data = b""
        answer = parse_connack(data, level)
        if answer is None:
            return attempt(
                credential,
                Outcome.ERROR,
                f"{'a malformed CONNACK' if data[:1] == b' ' else 'not a CONNACK'}: "
                f"{device_text(data[:32].hex(), credential)}",
                started,
            )
        return await self._judge(credential, answer, level, started)

    async def _judge(
        self, credential: Credential, answer: _Connack, level: int, started: float
    ) -> Attempt:
        code = answer.code
        extra = f": {device_text(answer.reason, credential)}" if answer.reason else ""
        if level == 4:
            if code == _V3_PROTOCOL:
                self._level.value = 5
                raise Dropped("MQTT 3.1.1 refused (unacceptable protocol version)", again=True)
            name = _V3_NAMES.get(code) or _V3_REJECTED.get(code) or "unknown return code"
            detail = f"CONNACK return code {code} ({name}) (MQTT 3.1.1)"
            if code == _V3_ACCEPTED:
                await self._disconnect()
                return attempt(credential, Outcome.ACCEPTED, detail, started)
            if code == _V3_UNAVAILABLE:
                raise Dropped(detail, busy=True)
            if code in (4, 5):
                return attempt(credential, Outcome.REJECTED, detail, started)
            return attempt(credential, Outcome.ERROR, detail, started)
        name = _V5_REJECTED.get(code) or _V5_THROTTLED.get(code) or ""
        detail = f"CONNACK reason code {code:#04x}{f' ({name})' if name else ''}{extra} (MQTT 5.0)"
        if code == 0:
            await self._disconnect()
            return attempt(credential, Outcome.ACCEPTED, detail, started)
        if code in _V5_THROTTLED:
            raise Dropped(detail, busy=True)
        if code in _V5_REJECTED:
            return attempt(credential, Outcome.REJECTED, detail, started)
        if code == 0x84:  # unsupported protocol version, even in 5.0
            raise Unsupported("the broker accepts neither MQTT 3.1.1 nor 5.0")
        return attempt(credential, Outcome.ERROR, detail, started)

    async def _disconnect(self) -> None:
        packet = b"\xe0\x00" if self._level.value == 4 else b"\xe0\x01\x00"
        with contextlib.suppress(OSError, TimeoutError):
            await self._stream.write(packet)


async def try_logins(
    dev: DeviceNetwork,
    service: Service,
    credentials: Sequence[Credential],
    pace: Pace = PACE,
    *,
    with_control: bool = True,
) -> LoginRun:
    """Try `credentials` on an MQTT broker, in order; see the module docstring.

    `with_control=False` skips the random control login: for a caller that knows the broker
    refuses anonymous logins and counts every failed attempt (the lockout probe).

    TLS (`mqtts`, or `service.tls`) uses the lenient context: certificates are recorded by
    the TLS checks, not trusted here.
    """
    timeout, connections = pace.timeout, pace.connections
    from scanner.net import lenient_tls_context

    scheduler = Scheduler(credentials)
    level = _Level()
    tls = lenient_tls_context() if service.tls or service.protocol == "mqtts" else None

    @contextlib.asynccontextmanager
    async def open_session() -> AsyncIterator[_Session]:
        async with dev.tcp(service.port, tls=tls) as stream:
            yield _Session(stream, level, timeout)

    if with_control and any(c.username or c.password for c in credentials):
        # A broker with anonymous access accepts whatever username and password come with
        # the CONNECT: only a refused random login makes an accepted one mean anything.
        bogus = Credential(f"shinsa-{secrets.token_hex(4)}", secrets.token_urlsafe(12), "control")
        control_scheduler = Scheduler([bogus])
        await run_workers(
            control_scheduler, lambda: session_worker(control_scheduler, open_session), 1
        )
        control = next(iter(control_scheduler.run(METHOD).attempts), None)
        if control is not None and control.outcome is not Outcome.REJECTED:
            unconfirmed = (
                f"the random control login got {control.detail}, which is not a recognised "
                "authentication failure (CONNACK 4 or 5): the login surface is unconfirmed"
                if control.outcome is Outcome.ERROR
                else ""
            )
            return LoginRun(
                METHOD,
                control=control,
                note="the control login was not refused",
                unconfirmed=unconfirmed,
            )
        scheduler.control = control
    await run_workers(scheduler, lambda: session_worker(scheduler, open_session), connections)
    return scheduler.run(METHOD)
