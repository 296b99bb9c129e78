"""Telnet, FTP, SSH, SNMP and RTSP confirm an acceptance with a random control login
(issue 11 #9).

A server that takes any login (a honeypot, a device that asks for the real login inside
the session, a broken daemon) says nothing about its factory login: the scan must read
`inconclusive`, never "accepted the factory login". A server that takes only the right
login keeps its `fail`, with the refused control in the evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import pytest

from lab.device import Lab
from lab.personality import Personality, parse
from probes.default_credentials import (
    DefaultFtpLogin,
    DefaultRtspLogin,
    DefaultSnmpCommunity,
    DefaultTelnetLogin,
)
from probes.registry import all_checks
from scanner.credential_lists import load_catalog
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.judging.profiles import load_profile
from scanner.model import Target, Verdict
from scanner.net import Limits
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from scanner.model import Result

    Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

RIGHT = ("admin", "Kp-9-right")
WRONG = [("admin", "hunter22"), ("root", "s3cr3t-x")]
LINE_LIMIT = 256


async def _line(reader: asyncio.StreamReader) -> str:
    data = await asyncio.wait_for(reader.readline(), 5)
    return data[:LINE_LIMIT].decode("latin-1").strip()


def telnet_server(accept_anything: bool) -> Handler:
    """`login:` / `Password:` with no option negotiation; a `$ ` prompt after a login."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(5):
            writer.write(b"\r\nplant login: ")
            await writer.drain()
            user = await _line(reader)
            writer.write(b"Password: ")
            await writer.drain()
            password = await _line(reader)
            if accept_anything or (user, password) == RIGHT:
                writer.write(b"\r\nWelcome\r\n$ ")
                await writer.drain()
                await asyncio.wait_for(reader.read(100), 5)
                return
            writer.write(b"\r\nLogin incorrect\r\n")

    return handle


def ftp_server(accept_anything: bool) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 plant FTP server ready\r\n")
        user = ""
        for _ in range(20):
            line = await _line(reader)
            verb, _, arg = line.partition(" ")
            if verb.upper() == "USER":
                user = arg
                writer.write(b"331 Password required\r\n")
            elif verb.upper() == "PASS":
                ok = accept_anything or (user, arg) == RIGHT
                writer.write(b"230 Logged in\r\n" if ok else b"530 Login incorrect\r\n")
            elif verb.upper() == "QUIT":
                writer.write(b"221 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 Not implemented\r\n")
            await writer.drain()

    return handle


@contextlib.asynccontextmanager
async def serving(address: str, handler: Handler) -> AsyncIterator[int]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(guarded, address, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


async def scan_one(address: str, port: int, protocol: str, tmp_path: Path) -> Result:
    site = tmp_path / "site.yaml"
    pairs = ", ".join(f"[{u}, '{p}']" for u, p in [*WRONG, RIGHT])
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        f"  - {{protocols: [{protocol}], pairs: [{pairs}], source: test list}}\n"
    )
    profile = load_profile("base", all_checks())
    request = ScanRequest(
        targets=(Target(address, "plant"),),
        scope=Scope.of([address]),
        ports=PortSet((port,), ()),
        profile=profile,
        limits=Limits(connect_timeout=2.0, read_timeout=5.0),
        registry=(DefaultTelnetLogin, DefaultFtpLogin),
        credentials=load_catalog([site], builtin=False),
    )
    with Store(tmp_path / "scan.sqlite") as store:
        store.start_run(
            "r",
            profile_id=profile.id,
            profile_digest=profile.digest,
            scanner_version="test",
            request={},
            targets=[(address, "plant")],
        )
        await asyncio.wait_for(scan(request, store, "r", Reporter()), 120)
        (result,) = [r for r in store.results("r") if r.check_id == f"creds.default.{protocol}"]
        return result


def _control(result: Result) -> dict[str, object]:
    (evidence,) = [e for e in result.evidence if isinstance(e.details, dict)]
    assert isinstance(evidence.details, dict)
    control = evidence.details.get("control")
    assert isinstance(control, dict), evidence.details
    return control


@pytest.mark.parametrize(
    ("protocol", "server", "address"),
    [("telnet", telnet_server, "127.0.75.40"), ("ftp", ftp_server, "127.0.75.41")],
)
async def test_a_server_that_takes_any_login_is_inconclusive(
    protocol: str, server: Callable[[bool], Handler], address: str, tmp_path: Path
) -> None:
    async with serving(address, server(True)) as port:
        result = await scan_one(address, port, protocol, tmp_path)
    assert result.verdict is Verdict.INCONCLUSIVE, result.reason
    assert "random bogus login the same way as a successful one" in result.reason
    assert "accepted the factory login" not in result.reason
    assert _control(result)["outcome"] == "accepted"


@pytest.mark.parametrize(
    ("protocol", "server", "address"),
    [("telnet", telnet_server, "127.0.75.42"), ("ftp", ftp_server, "127.0.75.43")],
)
async def test_a_server_that_takes_only_the_right_login_fails_with_the_control_refused(
    protocol: str, server: Callable[[bool], Handler], address: str, tmp_path: Path
) -> None:
    async with serving(address, server(False)) as port:
        result = await scan_one(address, port, protocol, tmp_path)
    assert result.verdict is Verdict.FAIL, result.reason
    assert "accepted the factory login admin/••••" in result.reason
    assert _control(result)["outcome"] == "rejected"


# --- SNMP and RTSP: lab devices on 127.0.78.x ------------------------------------------------

#: the plant's factory community (the one discovery asks with too: an agent silent to it is
#: never found) and RTSP login, and wrong ones tried before them
COMMUNITY = "public"
SNMP_PAIRS = [("", "nosuch-1"), ("", COMMUNITY)]


def _plant(name: str, *, accept_anything: bool, rtsp_login: str) -> Personality:
    """A camera with RTSP and an SNMP agent: the factory login and community only, or
    (hostile firmware) any login and any community."""
    return parse(
        {
            "name": name,
            "title": "Plant camera",
            "vendor": "shinsa-lab",
            "accept_any_login": accept_anything,
            "services": [
                {"port": 8554, "protocol": "rtsp", "server": "Plant RTSP/1.0", "login": rtsp_login},
                {
                    "port": 1161,
                    "transport": "udp",
                    "protocol": "snmp",
                    "communities": [COMMUNITY],
                    "sys_descr": "Plant camera agent",
                },
            ],
            "accounts": [{"username": RIGHT[0], "password": RIGHT[1]}],
        },
        name,
    )


async def scan_plant(personality: Personality, address: str, tmp_path: Path) -> dict[str, Result]:
    site = tmp_path / "site.yaml"
    rtsp_pairs = ", ".join(f"[{u}, '{p}']" for u, p in [*WRONG, RIGHT])
    snmp_pairs = ", ".join(f"['{u}', '{p}']" for u, p in SNMP_PAIRS)
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        f"  - {{protocols: [rtsp], pairs: [{rtsp_pairs}], source: test list}}\n"
        f"  - {{protocols: [snmp], pairs: [{snmp_pairs}], source: test list}}\n"
    )
    async with Lab([personality], address) as lab:
        with Store(tmp_path / "scan.sqlite") as store:
            scanned = await asyncio.wait_for(
                scan_lab(
                    lab,
                    store,
                    registry=(DefaultSnmpCommunity, DefaultRtspLogin),
                    credentials=load_catalog([site], builtin=False),
                ),
                120,
            )
            return {r.check_id: r for r in scanned.results()}


@pytest.mark.parametrize(
    ("rtsp_login", "address"), [("basic", "127.0.78.10"), ("digest", "127.0.78.11")]
)
async def test_snmp_and_rtsp_that_take_anything_found_no_factory_login(
    rtsp_login: str, address: str, tmp_path: Path
) -> None:
    # Given firmware whose SNMP agent answers any community and whose RTSP server, after
    # its 401 challenge, takes any Basic or Digest login
    plant = _plant("plant-any", accept_anything=True, rtsp_login=rtsp_login)
    # When its default logins are checked
    results = await scan_plant(plant, address, tmp_path)
    # Then SNMP still fails, anyone can read the agent, but for answering any community
    snmp = results["creds.default.snmp"]
    assert snmp.verdict is Verdict.FAIL, snmp.reason
    assert "answers any community string, so anyone can read it" in snmp.reason
    assert "a random community was answered too (SNMP v2c GetResponse: sysDescr" in snmp.reason
    assert "no factory community is needed" in snmp.reason
    assert "accepted" not in snmp.reason
    assert _control(snmp)["outcome"] == "accepted"
    # ... and RTSP reads as an HTTP challenge that takes anything does: no success oracle
    rtsp = results["creds.default.rtsp"]
    assert rtsp.verdict is Verdict.INCONCLUSIVE, rtsp.reason
    assert "answered a random bogus login the same way as a successful one" in rtsp.reason
    assert "(RTSP 200 OK" in rtsp.reason
    assert "accepted the factory login" not in rtsp.reason
    assert _control(rtsp)["outcome"] == "accepted"


@pytest.mark.parametrize(
    ("rtsp_login", "address"), [("basic", "127.0.78.12"), ("digest", "127.0.78.13")]
)
async def test_snmp_and_rtsp_that_take_only_the_factory_login_fail_for_it(
    rtsp_login: str, address: str, tmp_path: Path
) -> None:
    # Given a camera that answers only its factory community and takes only its factory
    # RTSP login
    plant = _plant("plant-factory", accept_anything=False, rtsp_login=rtsp_login)
    # When its default logins are checked
    results = await scan_plant(plant, address, tmp_path)
    # Then both fail for the factory login found, with the random control refused
    snmp = results["creds.default.snmp"]
    assert snmp.verdict is Verdict.FAIL, snmp.reason
    assert "accepted the factory login (empty user)/••••" in snmp.reason
    assert _control(snmp)["outcome"] == "rejected"
    rtsp = results["creds.default.rtsp"]
    assert rtsp.verdict is Verdict.FAIL, rtsp.reason
    assert "accepted the factory login admin/••••" in rtsp.reason
    assert _control(rtsp)["outcome"] == "rejected"


async def test_an_rtsp_stream_with_no_login_still_fails_as_open(tmp_path: Path) -> None:
    # Given a camera describing its stream to anyone (the empty control is accepted before
    # any credential: no random control is needed)
    plant = _plant("plant-open", accept_anything=False, rtsp_login="none")
    results = await scan_plant(plant, "127.0.78.14", tmp_path)
    rtsp = results["creds.default.rtsp"]
    assert rtsp.verdict is Verdict.FAIL, rtsp.reason
    assert "the stream is described with no login at all" in rtsp.reason
    assert "answered 200 without credentials" in rtsp.reason
