"""A device that echoes every password it is given never gets one into a report (issue 11 #3).

The device (the lab's hostile `fault-secret-echo` personality, `echo_secrets: true`, with
this test's accounts, on 127.0.77.70-72) puts what it was given into the redirect after
a web login (`/home?user=…&pw=…`, percent-encoded, and base64), its Set-Cookie values and
the page behind the login (upper-cased, cut to 6 characters), the Telnet MOTD and the FTP
230 reply after a login (upper-cased, base64, cut), and the SNMP community it was asked
with into sysDescr. `shinsa scan` runs from the command line, as a user runs it, once with
the profile's test account and the site's own login list, once with neither (the session
checks then log in with the factory login the scan finds in the built-in lists), and every
report format, the store and the terminal output are searched for every form of every
secret: none may appear. The forms searched for cover what the device sends: a prefix of
6 characters in any case (the full secret, its upper- and lower-cased forms, its
percent-encoding and its cut all start with it) and the base64 of each secret and of
`user:secret` at every byte alignment.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import sys
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest

from lab.device import Lab
from lab.personality import Account, Personality, load_builtin
from reports import FORMATS as REPORT_FORMATS
from scanner.discovery.udp_protocols.snmp import parse_snmp_response, snmp_get_request

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.slow

#: This test's own addresses (never port 2024): one device per scan, one for the self-check.
WITH_ACCOUNT, WITHOUT_ACCOUNT, SELF_CHECK = "127.0.77.70", "127.0.77.71", "127.0.77.72"

TEST_ACCOUNT = ("tester", "Tr0ub4dor&3xyz")  # the profile's account, from the environment
SITE_LOGIN = ("admin", "Vk7-factory-2291")  # the site's own list (--credentials)
SITE_COMMUNITY = "Cm-ro-7731x"  # the site's SNMP community (--credentials)
#: A published factory login (built-in list, picked by the FTP greeting's vendor name)
VENDOR_LOGIN = ("sysadm", "anicust")
VENDOR_GREETING = "220 Accelerated Networks FTP server ready"
SECRETS = (TEST_ACCOUNT[1], SITE_LOGIN[1], SITE_COMMUNITY, VENDOR_LOGIN[1])

COMMUNITIES = ("public", SITE_COMMUNITY)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def echoes(secret: str) -> str:
    """Every form the device repeats `secret` in, in one string."""
    return f"{secret} {secret.upper()} {quote(secret, safe='')} {_b64(secret)} {secret[:6]}"


def _base64_cores(secret: str) -> set[str]:
    """Base64 of `secret` at each byte alignment (the characters made of its bits only)."""
    cores = set()
    for variant in (secret, secret.upper(), secret.lower()):
        raw = variant.encode()
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + raw).decode()
            cores.add(encoded[-(-8 * shift // 6) : (8 * (shift + len(raw))) // 6])
    return cores


def forbidden(secret: str) -> set[str]:
    """What must not appear anywhere (compared lower-cased, except base64)."""
    return {secret[:6].lower(), quote(secret, safe="")[:6].lower()}


# --- the device --------------------------------------------------------------------------


def personality(*, leak: bool = False) -> Personality:
    """The lab's secret-echoing firmware with this test's secrets: its accounts, the vendor's
    FTP greeting, the site's community; with `leak`, sysDescr also names the site's community
    to anyone who asks (discovery too)."""
    echo = load_builtin("fault-secret-echo")
    assert echo.echo_secrets
    services = []
    for spec in echo.services:
        if spec.protocol == "ftp":
            spec = replace(spec, banner=VENDOR_GREETING)
        elif spec.protocol == "snmp":
            descr = f"Echo router, rw {echoes(SITE_COMMUNITY)}" if leak else "Echo router"
            spec = replace(spec, communities=COMMUNITIES, sys_descr=descr)
        services.append(spec)
    accounts = tuple(Account(u, p) for u, p in (TEST_ACCOUNT, SITE_LOGIN, VENDOR_LOGIN))
    return replace(echo, services=tuple(services), accounts=accounts)


#: The personality's ports by protocol ("http", "telnet", "ftp", "snmp").
PORTS = {spec.protocol: spec.port for spec in personality().services}


@contextlib.asynccontextmanager
async def device(address: str, *, leak: bool = False) -> AsyncIterator[None]:
    async with Lab([personality(leak=leak)], address) as lab:
        (started,) = lab.devices
        # the scan asks for exactly these ports: none may have moved
        assert {(s.transport, s.port) for s in started.services} == {
            ("udp" if protocol == "snmp" else "tcp", port) for protocol, port in PORTS.items()
        }
        yield


# --- the scan ----------------------------------------------------------------------------

#: every report format there is (the test fails if one is added and not written)
FORMATS = ",".join(REPORT_FORMATS)


def _profile(tmp_path: Path, *, account: bool) -> Path:
    lines = [
        "profile: secret-echo",
        "extends: base",
        "params:",
        # a short idle limit the device does not keep: session.idle-timeout quotes the page
        "  session.idle-timeout: {max_idle_seconds: 2}",
    ]
    if account:
        lines.append(f"test_account: {{username: {TEST_ACCOUNT[0]}, password_env: SHINSA_ECHO_PW}}")
    path = tmp_path / "profile.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _site_list(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        f"  - {{protocols: [http, telnet], pairs: [[{SITE_LOGIN[0]}, '{SITE_LOGIN[1]}']], "
        "source: our fleet}\n"
        f"  - {{protocols: [snmp], pairs: [['', '{SITE_COMMUNITY}']], source: our fleet}}\n"
    )
    return path


async def shinsa_scan(address: str, tmp_path: Path, *, account: bool) -> tuple[Path, str]:
    out = tmp_path / "out"
    ports = ",".join(f"{'U' if k == 'snmp' else 'T'}:{p}" for k, p in PORTS.items())
    args = [address, "--allow", address, "--ports", ports, "--out", str(out)]
    args += ["--profile", str(_profile(tmp_path, account=account)), "--format", FORMATS]
    args += ["--no-browser", "--timeout", "5"]
    if account:
        args += ["--credentials", str(_site_list(tmp_path))]
    env = {**os.environ, "SHINSA_ECHO_PW": TEST_ACCOUNT[1]}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scanner",
        "scan",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 240)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    said = stdout.decode() + stderr.decode()
    assert proc.returncode in (0, 1), said  # 1: findings
    return out, said


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    found = []
    for secret in SECRETS:
        found += [f"{secret}: {f!r}" for f in forbidden(secret) if f in lowered]
        found += [f"{secret}: base64 {c!r}" for c in _base64_cores(secret) if c in text]
        for user in ("admin", "tester", "sysadm"):
            core = _b64(f"{user}:{secret}")[len(_b64(f"{user}:")) - 3 :][:8]
            if core in text:
                found.append(f"{secret}: base64 of {user}:… {core!r}")
    return found


def _verdicts(report: str) -> dict[tuple[str, str], str]:
    """(check, "tcp/80") -> verdict, from the JSON report's results wherever they sit."""
    found: dict[tuple[str, str], str] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "check_id" in node and "verdict" in node:
                where = f"{node.get('transport')}/{node.get('port')}"
                found[str(node["check_id"]), where] = str(node["verdict"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(report))
    return found


def _outputs(out: Path) -> dict[str, str]:
    files = {
        str(p.relative_to(out)): p.read_bytes().decode("utf-8", "replace")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }
    assert any(name.endswith("shinsa.sqlite") for name in files), files.keys()
    return files


def _assert_reports_written(files: dict[str, str]) -> None:
    for name, (filename, _) in REPORT_FORMATS.items():
        assert any(f.endswith(f"/{filename}") for f in files), (name, sorted(files))


async def _snmp_get(address: str, community: str) -> bytes:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if not got.done():
                got.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(address, PORTS["snmp"]))
    try:
        transport.sendto(snmp_get_request(1, community, 4242))
        return await asyncio.wait_for(got, 3)
    finally:
        transport.close()


async def _exchange(address: str, port: int, send: bytes) -> str:
    reader, writer = await asyncio.open_connection(address, port)
    writer.write(send)
    await writer.drain()
    chunks = []
    with contextlib.suppress(TimeoutError):
        while chunk := await asyncio.wait_for(reader.read(4096), 1):
            chunks.append(chunk)
    writer.close()
    return b"".join(chunks).decode("latin-1")


async def _web_login(address: str, user: str, password: str) -> tuple[str, str, str]:
    """A browser's form login: (the 302's Location and Set-Cookie headers, the page behind
    it, the status page)."""
    base = f"http://{address}:{PORTS['http']}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        form = await client.get("/")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
        assert token is not None, form.text
        login = await client.post(
            "/login",
            data={"csrf_token": token[1], "username": user, "password": password},
        )
        assert login.status_code == 302, login.text
        said = "\n".join(
            f"{k}: {v}" for k, v in login.headers.multi_items() if k in ("location", "set-cookie")
        )
        home = await client.get(login.headers["location"])
        status = await client.get("/status")
    return said, home.text, status.text


async def test_the_device_is_hostile_as_described() -> None:
    """The device really echoes, on every channel: without the masking the secrets would
    be in the reports (`_leaks` finds them in what it sends)."""
    address = SELF_CHECK
    user, password = TEST_ACCOUNT
    async with device(address):
        web, home, status = await _web_login(address, user, password)
        ftp_reply = await _exchange(
            address,
            PORTS["ftp"],
            f"USER {VENDOR_LOGIN[0]}\r\nPASS {VENDOR_LOGIN[1]}\r\n".encode(),
        )
        motd = await _exchange(
            address, PORTS["telnet"], f"{SITE_LOGIN[0]}\r\n{SITE_LOGIN[1]}\r\n".encode()
        )
        snmp = parse_snmp_response(await _snmp_get(address, SITE_COMMUNITY))
    assert f"pw={quote(password, safe='')}" in web  # the redirect's query
    assert f"k={_b64(password)}" in web
    assert f"remember={_b64(f'{user}:{password}')}" in web  # a cookie
    assert f"hint={password.upper()[:6]}" in web
    assert echoes(password) in home  # the page behind the login
    assert f"pw {password[:6]}" in status
    assert echoes(VENDOR_LOGIN[1]) in ftp_reply
    assert f"230 {VENDOR_LOGIN[1][:5]}" in ftp_reply
    assert echoes(SITE_LOGIN[1]) in motd
    assert snmp is not None
    assert echoes(SITE_COMMUNITY) in snmp.value.decode()
    for said, secret in [
        (web, password),
        (home, password),
        (status, password),
        (ftp_reply, VENDOR_LOGIN[1]),
        (motd, SITE_LOGIN[1]),
        (snmp.value.decode(), SITE_COMMUNITY),
    ]:
        assert any(secret in leak for leak in _leaks(said)), said


@pytest.mark.parametrize(
    ("address", "account"),
    [(WITH_ACCOUNT, True), (WITHOUT_ACCOUNT, False)],
    ids=["account", "found"],
)
async def test_no_form_of_any_secret_reaches_a_report_the_store_or_the_terminal(
    address: str, account: bool, tmp_path: Path
) -> None:
    # With the site list the scan knows the community, so the device names it in every
    # sysDescr: the service's banner from discovery carries it too.
    async with device(address, leak=account):
        out, said = await shinsa_scan(address, tmp_path, account=account)
    files = _outputs(out)
    _assert_reports_written(files)
    report = next(t for n, t in files.items() if n.endswith("report.json"))
    # The scan did see what the issue describes: a login and the idle-timeout page.
    assert "session.idle-timeout" in report
    assert "/home?user=••••&pw=••••" in report, "the idle-timeout check quoted no page"
    # Every channel was exercised: the logins were found and the session page opened.
    verdicts = _verdicts(report)
    http, ftp, telnet = (f"tcp/{PORTS[k]}" for k in ("http", "ftp", "telnet"))
    assert verdicts["creds.default.http", http] == "fail"
    assert verdicts["creds.default.ftp", ftp] == "fail"
    if account:
        assert verdicts["creds.default.telnet", telnet] == "fail"
        assert verdicts["creds.default.snmp", f"udp/{PORTS['snmp']}"] == "fail"
    assert verdicts["session.idle-timeout", http] == "fail"
    leaks = {name: found for name, text in files.items() if (found := _leaks(text))}
    if found := _leaks(said):
        leaks["terminal"] = found
    assert not leaks, leaks
