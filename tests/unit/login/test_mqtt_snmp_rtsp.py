"""MQTT, SNMP and RTSP login clients against lab devices and small in-test servers."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING

import pytest

from lab.device import LabDevice
from lab.personality import load_builtin
from lab.servers.mqtt import parse_connect, read_packet
from probes._login import mqtt, rtsp, snmp
from probes._login.common import Pace
from scanner.credentials import Credential, Outcome
from scanner.model import Service

from .conftest import assert_no_secret, device, hang_up, tcp_server

if TYPE_CHECKING:
    import asyncio

ANON = Credential("", "", "anonymous check")
WRONG = [Credential("admin", "hunter22"), Credential("root", "s3cr3t-x")]
RIGHT = Credential("admin", "Pa55-word")


def _broker(*, v5_only: bool, code: int | None = None):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, _, body = await read_packet(reader)
        level, username, password = parse_connect(body)
        ok = (username, password) == (RIGHT.username, RIGHT.password)
        if level == 4:
            rc = 1 if v5_only else (code if code is not None else (0 if ok else 5))
            writer.write(bytes([0x20, 2, 0, rc]))
        else:
            rc = code if code is not None else (0 if ok else 0x87)
            reason = b"bad credentials" if rc else b""
            props = b"\x1f" + len(reason).to_bytes(2, "big") + reason if reason else b""
            body = bytes([0, rc, len(props)]) + props
            writer.write(bytes([0x20, len(body)]) + body)
        await reader.read(10)

    return handle


@pytest.mark.lab
async def test_mqtt_anonymous_broker_accepts_the_empty_credential() -> None:
    async with LabDevice(load_builtin("home-router"), "127.0.34.20") as lab:
        svc = next(s for s in lab.services if s.protocol == "mqtt")
        alone = await mqtt.try_logins(device(lab.address), svc, [ANON], pace=Pace(timeout=3))
        run = await mqtt.try_logins(device(lab.address), svc, [ANON, *WRONG], pace=Pace(timeout=3))
    # Alone, the empty credential is simply accepted ...
    assert [a.outcome for a in alone.attempts] == [Outcome.ACCEPTED]
    assert "return code 0" in alone.attempts[0].detail
    # ... and with passwords to try, the random control login is accepted first, so no
    # password can be judged: the broker authenticates no one.
    assert run.attempts == ()
    assert run.control is not None
    assert run.control.outcome is Outcome.ACCEPTED


async def test_mqtt_finds_the_password_and_stops_there() -> None:
    async with tcp_server("127.0.35.20", _broker(v5_only=False)) as (port, count):
        creds = [ANON, *WRONG, RIGHT, Credential("admin", "never")]
        run = await mqtt.try_logins(device("127.0.35.20"), Service("tcp", port, "mqtt"), creds)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3 + [Outcome.ACCEPTED]
    assert run.control is not None
    assert run.control.outcome is Outcome.REJECTED
    assert count[0] == 5  # the control login, then four
    assert_no_secret(run, creds)


async def test_mqtt5_fallback() -> None:
    async with tcp_server("127.0.35.21", _broker(v5_only=True)) as (port, count):
        creds = [*WRONG, RIGHT]
        run = await mqtt.try_logins(device("127.0.35.21"), Service("tcp", port, "mqtt"), creds)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 2 + [Outcome.ACCEPTED]
    assert "0x87" in run.attempts[0].detail
    assert "bad credentials" in run.attempts[0].detail
    assert "MQTT 5.0" in run.attempts[-1].detail
    assert count[0] == 5  # one 3.1.1 refusal (the control), then the control and two in 5.0


async def test_mqtt_server_unavailable_and_drops_are_throttled(
    fast_backoff: tuple[float, ...],
) -> None:
    async with tcp_server("127.0.35.22", _broker(v5_only=False, code=3)) as (port, count):
        run = await mqtt.try_logins(device("127.0.35.22"), Service("tcp", port, "mqtt"), [RIGHT])
    # the control login already meets the throttle: nothing else is sent
    assert run.attempts == ()
    assert run.control is not None
    assert run.control.outcome is Outcome.THROTTLED
    assert "server unavailable" in run.control.detail
    assert count[0] == 1 + len(fast_backoff)
    async with tcp_server("127.0.35.22", hang_up) as (port, count):
        run = await mqtt.try_logins(device("127.0.35.22"), Service("tcp", port, "mqtt"), [RIGHT])
    assert run.control is not None
    assert run.control.outcome is Outcome.THROTTLED
    assert count[0] == 1 + len(fast_backoff)


@pytest.mark.lab
async def test_snmp_community_found_and_wrong_ones_rejected() -> None:
    creds = [Credential("", "n0t-it"), Credential("ignored", "public"), Credential("", "private")]
    async with LabDevice(load_builtin("home-router"), "127.0.34.21") as lab:
        svc = next(s for s in lab.services if s.protocol == "snmp")
        run = await snmp.try_logins(device(lab.address), svc, creds, pace=Pace(timeout=1.0))
    assert run.method == "snmp v1/v2c"
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.ACCEPTED]
    assert "agents ignore wrong communities" in run.attempts[0].detail
    assert "Globex HR-1" in run.attempts[1].detail
    assert_no_secret(run, creds)


async def test_snmp_silence_is_rejected_not_an_error() -> None:
    # Nothing listens on this UDP port of 127.0.35.23.
    dev = device("127.0.35.23")
    run = await snmp.try_logins(
        dev, Service("udp", 1161, "snmp"), [Credential("", "pub")], pace=Pace(timeout=0.4)
    )
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED]
    assert "no answer within 0.4 s" in run.attempts[0].detail


def _rtsp_camera(scheme: str, *, open_stream: bool = False, status: int | None = None):
    realm, nonce = "IP Camera", "b5b1e2c3d4"

    def authorized(value: str, method: str, uri: str) -> bool:
        if value.startswith("Basic "):
            return base64.b64decode(value[6:]).decode() == f"{RIGHT.username}:{RIGHT.password}"
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', value[7:]))

        def h(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 -- RTSP digest is MD5

        ha1 = h(f"{params['username']}:{realm}:{RIGHT.password}")
        ha2 = h(f"{method}:{params['uri']}")
        want = h(f"{ha1}:{nonce}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        return bool(
            params["username"] == RIGHT.username
            and params["response"] == want
            and params["uri"] == uri
        )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(20):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, uri, _ = lines[0].split(" ")
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            cseq = headers.get("CSeq", "0")
            extra = ""
            if method == "OPTIONS":
                code = "200 OK"
            elif status is not None and "Authorization" in headers:
                code = f"{status} Busy"
            elif open_stream or (
                "Authorization" in headers and authorized(headers["Authorization"], method, uri)
            ):
                body = "v=0\r\n"
                code = "200 OK"
                extra = (
                    f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
                )
            else:
                code = "401 Unauthorized"
                challenge = (
                    f'Basic realm="{realm}"'
                    if scheme == "basic"
                    else f'Digest realm="{realm}", nonce="{nonce}", qop="auth"'
                )
                extra = f"WWW-Authenticate: {challenge}\r\n"
            reply = f"RTSP/1.0 {code}\r\nCSeq: {cseq}\r\n{extra}"
            writer.write(
                (
                    reply
                    if reply.endswith("\r\n\r\n") or "Content-Length" in reply
                    else reply + "\r\n"
                ).encode()
            )
            await writer.drain()

    return handle


@pytest.mark.parametrize("scheme", ["digest", "basic"])
async def test_rtsp_finds_the_password_and_stops_there(scheme: str) -> None:
    creds = [*WRONG, RIGHT, Credential("admin", "never")]
    async with tcp_server("127.0.35.30", _rtsp_camera(scheme)) as (port, count):
        run = await rtsp.try_logins(device("127.0.35.30"), Service("tcp", port, "rtsp"), creds)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 2 + [Outcome.ACCEPTED]
    assert run.attempts[0].detail.startswith("RTSP 401")
    assert count[0] == 1  # every attempt on one connection
    assert_no_secret(run, creds)


async def test_rtsp_open_stream_needs_no_login() -> None:
    async with tcp_server("127.0.35.31", _rtsp_camera("basic", open_stream=True)) as (port, _):
        run = await rtsp.try_logins(device("127.0.35.31"), Service("tcp", port, "rtsp"), WRONG)
    assert run.attempts == ()
    assert run.control is not None
    assert run.control.outcome is Outcome.ACCEPTED
    assert run.control.credential == Credential("", "")
    assert "no login needed" in run.note


@pytest.mark.lab
async def test_rtsp_lab_camera_rejects() -> None:
    async with LabDevice(load_builtin("weak-camera"), "127.0.34.22") as lab:
        svc = next(s for s in lab.services if s.protocol == "rtsp")
        run = await rtsp.try_logins(device(lab.address), svc, WRONG, pace=Pace(timeout=3))
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 2


async def test_rtsp_503_and_drops_are_throttled(fast_backoff: tuple[float, ...]) -> None:
    async with tcp_server("127.0.35.32", _rtsp_camera("digest", status=503)) as (port, count):
        run = await rtsp.try_logins(device("127.0.35.32"), Service("tcp", port, "rtsp"), [RIGHT])
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]
    assert "503" in run.attempts[0].detail
    assert count[0] == 1 + len(fast_backoff)
    async with tcp_server("127.0.35.32", hang_up) as (port, count):
        run = await rtsp.try_logins(device("127.0.35.32"), Service("tcp", port, "rtsp"), [RIGHT])
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]


# --- a rejection must be proven (issue 10): answers that say nothing about the password ---


@pytest.mark.parametrize("code", [2, 6, 0x80])
async def test_mqtt_answers_other_than_bad_login_are_no_rejection(code: int) -> None:
    """CONNACK 2 (identifier rejected) and codes no version defines refuse the client, not
    its password: the control login meets it, and the surface stays unconfirmed (4 and 5
    are the only 3.1.1 rejections)."""
    async with tcp_server("127.0.35.33", _broker(v5_only=False, code=code)) as (port, _):
        run = await mqtt.try_logins(
            device("127.0.35.33"), Service("tcp", port, "mqtt"), WRONG[:1], pace=Pace(timeout=3)
        )
    assert run.attempts == ()  # the random control login met it first: nothing counts
    assert run.control is not None
    assert run.control.outcome is Outcome.ERROR
    assert "not a recognised authentication failure" in run.unconfirmed


@pytest.mark.parametrize("status", [400, 404, 454, 501])
async def test_rtsp_answers_other_than_401_403_are_no_rejection(status: int) -> None:
    """The stream path is gone or the request is refused: nothing here, not a wrong login."""
    address = "127.0.35.34"
    async with tcp_server(address, _rtsp_camera("basic", status=status)) as (port, _):
        run = await rtsp.try_logins(device(address), Service("tcp", port, "rtsp"), WRONG[:1])
    assert [a.outcome for a in run.attempts] == [Outcome.ERROR]
    assert str(status) in run.attempts[0].detail


@pytest.mark.parametrize(
    "connack",
    [
        bytes([0x20, 3, 0, 0, 0]),  # remaining length 3: 3.1.1 fixes it at 2
        bytes([0x20, 2, 0x80, 0]),  # reserved acknowledge flags set
        bytes([0x20, 2, 0]),  # cut short, then the connection ends
    ],
)
async def test_a_malformed_connack_is_never_an_acceptance(connack: bytes) -> None:
    """A broker answering every CONNECT with a malformed CONNACK whose code byte reads 0:
    no login counts as accepted, and the surface stays unconfirmed."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_packet(reader)
        writer.write(connack)
        await writer.drain()

    async with tcp_server("127.0.35.37", handle) as (port, _):
        run = await mqtt.try_logins(
            device("127.0.35.37"),
            Service("tcp", port, "mqtt"),
            [RIGHT, *WRONG],
            pace=Pace(timeout=3),
        )
    assert run.attempts == (), run  # the control met it first: nothing counts
    assert run.control is not None
    assert run.control.outcome is not Outcome.ACCEPTED, run.control
    if len(connack) > 3:
        assert "a malformed CONNACK: " in run.control.detail, run.control
        assert "not a recognised authentication failure" in run.unconfirmed, run
    else:  # the broker hung up mid-answer: a drop, retried, never a verdict on a password
        assert run.note == "the control login was not refused", run
