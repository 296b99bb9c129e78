"""Telnet and FTP login clients against the lab's weak camera and misbehaving servers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from lab.device import LabDevice
from lab.personality import load_builtin
from probes._login import ftp, telnet
from probes._login.common import Pace
from probes._login.ftp import ANONYMOUS
from probes._login.telnet import DO, DONT, ECHO, IAC, SGA, WILL, WONT, TelnetDecoder
from scanner.credentials import Credential, Outcome
from scanner.model import Service

from .conftest import assert_no_secret, device, hang_up, tcp_server

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
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
            device(lab.address), _service(lab, "telnet"), creds, pace=Pace(timeout=5)
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
            device(lab.address), _service(lab, "telnet"), WRONG, pace=Pace(timeout=5)
        )
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3
    assert run.note == ""


async def test_telnet_dropped_connection_is_throttled_never_rejected(
    fast_backoff: tuple[float, ...],
) -> None:
    async with tcp_server("127.0.35.10", hang_up) as (port, count):
        dev = device("127.0.35.10")
        run = await telnet.try_logins(
            dev, Service("tcp", port, "telnet"), [RIGHT, AFTER], pace=Pace(timeout=2)
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
            device("127.0.35.11"), Service("tcp", port, "telnet"), [RIGHT], pace=Pace(timeout=2)
        )
    assert [a.outcome for a in run.attempts] == [Outcome.ACCEPTED]
    assert count[0] == 2


async def test_telnet_shell_without_login_is_reported() -> None:
    async def open_shell(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\r\nBusyBox v1.20 built-in shell (ash)\r\n# ")
        await reader.read(100)

    async with tcp_server("127.0.35.12", open_shell) as (port, _):
        run = await telnet.try_logins(
            device("127.0.35.12"), Service("tcp", port, "telnet"), [RIGHT], pace=Pace(timeout=2)
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
            device("127.0.35.13"), Service("tcp", port, "telnet"), [*WRONG], pace=Pace(timeout=2)
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
        run = await ftp.try_logins(dev, _service(lab, "ftp"), creds, pace=Pace(timeout=5))
        anon = await ftp.try_logins(dev, _service(lab, "ftp"), [ANONYMOUS], pace=Pace(timeout=5))
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3 + [Outcome.ACCEPTED]
    assert run.attempts[0].detail.startswith("530")
    assert run.attempts[-1].detail.startswith("230")
    assert [a.outcome for a in anon.attempts] == [Outcome.ACCEPTED]
    assert_no_secret(run, creds)


@pytest.mark.lab
async def test_ftp_wrong_passwords_are_rejected() -> None:
    async with LabDevice(load_builtin("weak-camera"), "127.0.34.13") as lab:
        run = await ftp.try_logins(
            device(lab.address), _service(lab, "ftp"), WRONG, pace=Pace(timeout=5)
        )
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


# --- Judgement tables: every answer shape is one row (issue 10, items 3 and 4) -------------

BAD = Credential("admin", "hunter22")


def ftp_script(greeting: bytes, user: bytes, password: bytes | None = None) -> Handler:
    """An FTP server that greets, answers USER with `user` and PASS with `password`
    (None: it hangs up instead)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        while line := await reader.readline():
            if line.startswith(b"USER"):
                writer.write(user)
            elif line.startswith(b"PASS"):
                if password is None:
                    writer.transport.abort()
                    return
                writer.write(password)
            else:
                writer.write(b"221 Bye\r\n")
                return

    return handler


@pytest.mark.parametrize(
    ("octet", "greeting", "user", "password", "outcome"),
    [
        # Greetings that are not one clean `220 ` reply: still FTP, judged by USER/PASS.
        (
            60,
            b"220-NetPLC\r\n200 Ready for login\r\n220 \r\n",
            b"331 Pw\r\n",
            b"530 No\r\n",
            Outcome.REJECTED,
        ),
        (
            61,
            b"220-NetPLC\r\n220-FTP\r\n200 Ready\r\n",
            b"331 Pw\r\n",
            b"230 In\r\n",
            Outcome.ACCEPTED,
        ),
        (62, b"200 Welcome\r\n", b"331 Pw\r\n", b"530 Login incorrect\r\n", Outcome.REJECTED),
        (
            63,
            b"120 Ready in 1 minute\r\n220 Ready\r\n",
            b"331 Pw\r\n",
            b"230 In\r\n",
            Outcome.ACCEPTED,
        ),
        # The answers that prove a wrong login.
        (64, b"220 FTP\r\n", b"530 Permission denied\r\n", None, Outcome.REJECTED),
        (
            65,
            b"220 FTP\r\n",
            b"331 Pw\r\n",
            b"430 Invalid username or password\r\n",
            Outcome.REJECTED,
        ),
        (66, b"220 FTP\r\n", b"230 No password needed\r\n", None, Outcome.ACCEPTED),
        # "Nothing here": never a rejection.
        (67, b"220 FTP\r\n", b"500 USER: command not understood\r\n", None, Outcome.ERROR),
        (68, b"220 FTP\r\n", b"331 Pw\r\n", b"502 Command not implemented\r\n", Outcome.ERROR),
        (69, b"220 FTP\r\n", b"331 Pw\r\n", b"503 Bad sequence of commands\r\n", Outcome.ERROR),
        (70, b"220 FTP\r\n", b"331 Pw\r\n", b"Hello there\r\n", Outcome.ERROR),
        (71, b"220 FTP\r\n", b"332 Need account for login\r\n", None, Outcome.ERROR),
        # Refused because the login must come over TLS: the password was never judged.
        (
            74,
            b"220 (vsFTPd 3.0.3)\r\n",
            b"530 Non-anonymous sessions must use encryption.\r\n",
            None,
            Outcome.ERROR,
        ),
        (75, b"220 FTP\r\n", b"534 Policy requires SSL\r\n", None, Outcome.ERROR),
        # 530 to USER for an account that may not log in at all: its login cannot work.
        (76, b"220 FTP\r\n", b"530 This FTP server is anonymous only.\r\n", None, Outcome.REJECTED),
    ],
)
async def test_ftp_judgement_table(
    octet: int, greeting: bytes, user: bytes, password: bytes | None, outcome: Outcome
) -> None:
    address = f"127.0.35.{octet}"
    async with tcp_server(address, ftp_script(greeting, user, password)) as (port, _):
        run = await ftp.try_logins(
            device(address), Service("tcp", port, "ftp"), [BAD], pace=Pace(timeout=2)
        )
    assert [a.outcome for a in run.attempts] == [outcome], run.attempts
    assert_no_secret(run, [BAD])


@pytest.mark.parametrize(
    ("octet", "password"),
    [(72, None), (73, b"421 Service not available, closing control connection\r\n")],
)
async def test_ftp_hang_up_or_421_after_pass_is_throttled_never_rejected(
    octet: int, password: bytes | None, fast_backoff: tuple[float, ...]
) -> None:
    address = f"127.0.35.{octet}"
    handler = ftp_script(b"220 FTP\r\n", b"331 Pw\r\n", password)
    async with tcp_server(address, handler) as (port, count):
        run = await ftp.try_logins(
            device(address), Service("tcp", port, "ftp"), [BAD], pace=Pace(timeout=2)
        )
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]
    assert count[0] == 1 + len(fast_backoff)


def telnet_script(
    greeting: bytes,
    after_user: bytes,
    after_password: bytes | None,
    *,
    ack_before_judging: bool = False,
) -> Handler:
    """A telnet server: greets, answers the username and the password (None: hangs up).
    `ack_before_judging`: like Twisted, it sends WONT ECHO after the password and judges
    only once the client acknowledged it with DONT ECHO."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        while True:
            if not await reader.readuntil(b"\n"):
                return
            writer.write(after_user)
            await reader.readuntil(b"\n")
            if after_password is None:
                writer.transport.abort()
                return
            if ack_before_judging:
                writer.write(bytes((IAC, WONT, ECHO)))
                seen = b""
                while bytes((IAC, DONT, ECHO)) not in seen:
                    chunk = await reader.read(64)
                    if not chunk:
                        return
                    seen += chunk
            writer.write(after_password)
            if after_password.endswith((b"# ", b"$ ", b">>> \x1b[4h")):
                await reader.read(100)
                return

    return handler


WILL_ECHO = bytes((IAC, WILL, ECHO))
BSD_NEGOTIATION = bytes(
    (IAC, WILL, 37, IAC, WILL, 38, IAC, DO, 24, IAC, DO, 32, IAC, DO, 35, IAC, DO, 39, IAC, DO, 1)
)


@pytest.mark.parametrize(
    ("octet", "greeting", "after_user", "after_password", "ack", "outcome"),
    [
        # Twisted (manhole, Cowrie): waits for the acknowledgement of WONT ECHO, each time.
        (
            80,
            b"Username: ",
            WILL_ECHO + b"Password: ",
            b"\nAuthentication failed\nUsername: ",
            True,
            Outcome.REJECTED,
        ),
        (81, b"Username: ", WILL_ECHO + b"Password: ", b"\x1bc>>> \x1b[4h", True, Outcome.ACCEPTED),
        # BSD-derived telnetd and /bin/login: a host line, then `host login:`.
        (
            82,
            BSD_NEGOTIATION + b"\r\nLinux 6.1 (vm) (pts/0)\r\n\r\nvm login: ",
            WILL_ECHO + b"Password: ",
            b"\r\nLogin incorrect\r\nvm login: ",
            False,
            Outcome.REJECTED,
        ),
        (
            83,
            b"User Name: ",
            b"Password: ",
            b"\r\nWelcome admin\r\nswitch# ",
            False,
            Outcome.ACCEPTED,
        ),
        (84, b"user: ", b"Password: ", b"\r\nuser: ", False, Outcome.REJECTED),
        (85, b"login as: ", b"Password: ", b"\r\n~ $ ", False, Outcome.ACCEPTED),
        # Failure text, then a hang-up: proven.
        (86, b"login: ", b"Password: ", b"\r\nLogin failed\r\n", False, Outcome.REJECTED),
        # Not proven: a new login prompt right after the username, text that is no answer.
        (87, b"login: ", b"\r\nlogin: ", b"", False, Outcome.ERROR),
        (88, b"login: ", b"Password: ", b"\r\n*** system ready ***\r\n", False, Outcome.ERROR),
    ],
)
async def test_telnet_judgement_table(
    octet: int,
    greeting: bytes,
    after_user: bytes,
    after_password: bytes,
    ack: bool,
    outcome: Outcome,
) -> None:
    address = f"127.0.35.{octet}"
    handler = telnet_script(greeting, after_user, after_password, ack_before_judging=ack)
    async with tcp_server(address, handler) as (port, _):
        run = await telnet.try_logins(
            device(address), Service("tcp", port, "telnet"), [BAD], pace=Pace(timeout=1.5)
        )
    assert [a.outcome for a in run.attempts] == [outcome], run.attempts
    assert_no_secret(run, [BAD])


async def test_telnet_twisted_style_second_round_is_acknowledged_too() -> None:
    """WILL ECHO comes again for the next login: answered again, so it is judged again."""
    handler = telnet_script(
        b"Username: ",
        WILL_ECHO + b"Password: ",
        b"\nAuthentication failed\nUsername: ",
        ack_before_judging=True,
    )
    async with tcp_server("127.0.35.89", handler) as (port, count):
        run = await telnet.try_logins(
            device("127.0.35.89"), Service("tcp", port, "telnet"), WRONG, pace=Pace(timeout=1.5)
        )
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 3
    assert count[0] == 1


async def test_telnet_hang_up_after_the_password_is_throttled_never_rejected(
    fast_backoff: tuple[float, ...],
) -> None:
    handler = telnet_script(b"login: ", b"Password: ", None)
    async with tcp_server("127.0.35.90", handler) as (port, count):
        run = await telnet.try_logins(
            device("127.0.35.90"), Service("tcp", port, "telnet"), [BAD], pace=Pace(timeout=1.5)
        )
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]
    assert count[0] == 1 + len(fast_backoff)


async def test_telnet_late_prompt_and_banner_page() -> None:
    """The prompt comes after 1 s of silence, behind a page that waits for Enter."""

    async def paged(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.0)
        writer.write(b"\r\n" + b"AUTHORISED USE ONLY\r\n" * 40 + b"Press Enter to continue")
        await reader.readuntil(b"\n")
        writer.write(b"\r\nlogin: ")
        await reader.readuntil(b"\n")
        writer.write(b"Password: ")
        await reader.readuntil(b"\n")
        writer.write(b"\r\nBusyBox v1.36 built-in shell (ash)\r\n# ")
        await reader.read(100)

    async with tcp_server("127.0.35.91", paged) as (port, _):
        run = await telnet.try_logins(
            device("127.0.35.91"), Service("tcp", port, "telnet"), [RIGHT], pace=Pace(timeout=3)
        )
    assert [a.outcome for a in run.attempts] == [Outcome.ACCEPTED]


def test_telnet_decoder_acknowledges_changes_and_ignores_repeats() -> None:
    decoder = TelnetDecoder()
    assert decoder.feed(WILL_ECHO) == (b"", bytes((IAC, DO, ECHO)))
    assert decoder.feed(WILL_ECHO) == (b"", b"")  # already on: no answer, no loop
    assert decoder.feed(bytes((IAC, WONT, ECHO))) == (b"", bytes((IAC, DONT, ECHO)))
    assert decoder.feed(bytes((IAC, WONT, ECHO))) == (b"", b"")  # already off
    assert decoder.feed(WILL_ECHO) == (b"", bytes((IAC, DO, ECHO)))  # the next round
    assert decoder.feed(bytes((IAC, DO, SGA))) == (b"", bytes((IAC, WILL, SGA)))
    assert decoder.feed(bytes((IAC, DONT, SGA))) == (b"", bytes((IAC, WONT, SGA)))
    assert decoder.feed(bytes((IAC, DO, 24))) == (b"", bytes((IAC, WONT, 24)))
    # A server that keeps asking for a refused option is answered a bounded number of times;
    # accepted changes are answered every time (Twisted flips ECHO twice per login).
    answers = b"".join(decoder.feed(bytes((IAC, DO, 31)))[1] for _ in range(100))
    assert answers == bytes((IAC, WONT, 31)) * TelnetDecoder.MAX_REFUSALS
    flips = b"".join(decoder.feed(bytes((IAC, WONT, ECHO)) + WILL_ECHO)[1] for _ in range(50))
    assert flips == bytes((IAC, DONT, ECHO, IAC, DO, ECHO)) * 50
