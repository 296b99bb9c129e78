"""Telnet and FTP login clients against the lab's weak camera and misbehaving servers."""

from __future__ import annotations

import asyncio

import pytest

from lab.device import LabDevice
from lab.personality import load_builtin
from probes._login import ftp, telnet
from probes._login.ftp import ANONYMOUS
from probes._login.telnet import TelnetDecoder
from scanner.credentials import Credential, Outcome
from scanner.model import Service

from .conftest import assert_no_secret, device, hang_up, tcp_server

WRONG = [
    Credential("admin", "hunter22"),
    Credential("root", "s3cr3t-x"),
    Credential("admin", "1234"),
]
RIGHT = Credential("admin", "admin", "weak-camera manual")
AFTER = Credential("admin", "never-tried")


def _service(dev: LabDevice, protocol: str) -> Service:
    return next(s for s in dev.services if s.protocol == protocol)


@pytest.mark.lab
async def test_telnet_finds_the_password_and_stops_there() -> None:
    creds = [*WRONG, Credential("user", "wrongpass"), RIGHT, AFTER]
    async with LabDevice(load_builtin("weak-camera"), "127.0.34.10") as lab:
        run = await telnet.try_logins(
            device(lab.address), _service(lab, "telnet"), creds, timeout=5
        )
    outcomes = [a.outcome for a in run.attempts]
    # The lab hangs up after three failures: the fourth is tried on a new connection.
    assert outcomes == [Outcome.REJECTED] * 4 + [Outcome.ACCEPTED]
    assert [a.credential for a in run.attempts] == creds[:5]
    assert "Login incorrect" in run.attempts[0].detail
    assert "#" in run.attempts[-1].detail
    assert_no_secret(run, creds)


@pytest.mark.lab
async def test_telnet_wrong_passwords_are_rejected() -> None:
    async with LabDevice(load_builtin("weak-camera"), "127.0.34.11") as lab:
        run = await telnet.try_logins(
            device(lab.address), _service(lab, "telnet"), WRONG, timeout=5
        )
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3
    assert run.note == ""


async def test_telnet_dropped_connection_is_throttled_never_rejected(
    fast_backoff: tuple[float, ...],
) -> None:
    async with tcp_server("127.0.35.10", hang_up) as (port, count):
        dev = device("127.0.35.10")
        run = await telnet.try_logins(
            dev, Service("tcp", port, "telnet"), [RIGHT, AFTER], timeout=2
        )
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]
    assert "retries" in run.attempts[0].detail
    assert count[0] == 1 + len(fast_backoff)


async def test_telnet_hang_up_after_the_password_is_retried() -> None:
    """A server that drops the line right after the password never says "wrong"."""
    calls = [0]

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        calls[0] += 1
        writer.write(b"\xff\xfb\x01\xff\xfd\x1fcam login: ")
        await reader.readline()
        writer.write(b"Password: ")
        await reader.readline()
        if calls[0] == 1:
            writer.transport.abort()
            return
        writer.write(b"\r\nBusyBox v1.36 built-in shell\r\n~ # ")
        await reader.read(100)

    async with tcp_server("127.0.35.11", flaky) as (port, count):
        run = await telnet.try_logins(
            device("127.0.35.11"), Service("tcp", port, "telnet"), [RIGHT], timeout=2
        )
    assert [a.outcome for a in run.attempts] == [Outcome.ACCEPTED]
    assert count[0] == 2


async def test_telnet_shell_without_login_is_reported() -> None:
    async def open_shell(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\r\nBusyBox v1.20 built-in shell (ash)\r\n# ")
        await reader.read(100)

    async with tcp_server("127.0.35.12", open_shell) as (port, _):
        run = await telnet.try_logins(
            device("127.0.35.12"), Service("tcp", port, "telnet"), [RIGHT], timeout=2
        )
    assert run.attempts == ()
    assert run.control is not None
    assert run.control.outcome is Outcome.ACCEPTED
    assert "no login needed" in run.note


async def test_telnet_lock_message_is_locked() -> None:
    async def locker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"User Name : ")
        await reader.readline()
        writer.write(b"Password : ")
        await reader.readline()
        writer.write(b"\r\nAccount locked: too many failures, try again later\r\n")
        await asyncio.sleep(0.1)

    async with tcp_server("127.0.35.13", locker) as (port, _):
        run = await telnet.try_logins(
            device("127.0.35.13"), Service("tcp", port, "telnet"), [*WRONG], timeout=2
        )
    assert [a.outcome for a in run.attempts] == [Outcome.LOCKED]


def test_telnet_decoder_refuses_options_but_echo_and_sga() -> None:
    decoder = TelnetDecoder()
    text, replies = decoder.feed(bytes([255, 251, 1, 255, 253, 31, 255, 251, 3, 255, 253, 24]))
    assert text == b""
    assert replies == bytes([255, 253, 1, 255, 252, 31, 255, 253, 3, 255, 252, 24])
    # Split commands and a repeated request: state kept, no second answer.
    assert decoder.feed(bytes([255])) == (b"", b"")
    assert decoder.feed(bytes([251, 1]) + b"login: ") == (b"login: ", b"")


@pytest.mark.lab
async def test_ftp_finds_the_password_and_anonymous() -> None:
    creds = [*WRONG, RIGHT, AFTER]
    async with LabDevice(load_builtin("weak-camera"), "127.0.34.12") as lab:
        dev = device(lab.address)
        run = await ftp.try_logins(dev, _service(lab, "ftp"), creds, timeout=5)
        anon = await ftp.try_logins(dev, _service(lab, "ftp"), [ANONYMOUS], timeout=5)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3 + [Outcome.ACCEPTED]
    assert run.attempts[0].detail.startswith("530")
    assert run.attempts[-1].detail.startswith("230")
    assert [a.outcome for a in anon.attempts] == [Outcome.ACCEPTED]
    assert_no_secret(run, creds)


@pytest.mark.lab
async def test_ftp_wrong_passwords_are_rejected() -> None:
    async with LabDevice(load_builtin("weak-camera"), "127.0.34.13") as lab:
        run = await ftp.try_logins(device(lab.address), _service(lab, "ftp"), WRONG, timeout=5)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3


async def test_ftp_421_and_drops_are_throttled(fast_backoff: tuple[float, ...]) -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"421 Too many connections (8) from this IP\r\n")

    async with tcp_server("127.0.35.14", busy) as (port, count):
        run = await ftp.try_logins(device("127.0.35.14"), Service("tcp", port, "ftp"), [RIGHT])
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]
    assert "421" in run.attempts[0].detail
    assert count[0] == 1 + len(fast_backoff)
    async with tcp_server("127.0.35.14", hang_up) as (port, count):
        run = await ftp.try_logins(device("127.0.35.14"), Service("tcp", port, "ftp"), [RIGHT])
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]


async def test_ftp_lock_text_and_multiline_replies() -> None:
    async def vsftpd_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220-Welcome\r\n220-to this\r\n220 FTP\r\n")
        await reader.readline()
        writer.write(b"331 Please specify the password.\r\n")
        await reader.readline()
        writer.write(b"530 Login incorrect.\r\n")
        await reader.readline()
        writer.write(b"331 Please specify the password.\r\n")
        await reader.readline()
        writer.write(b"530-Sorry\r\n530 Account locked after too many failures\r\n")
        await reader.read(100)

    async with tcp_server("127.0.35.15", vsftpd_like) as (port, _):
        run = await ftp.try_logins(device("127.0.35.15"), Service("tcp", port, "ftp"), WRONG)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED, Outcome.LOCKED]
