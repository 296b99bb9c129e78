"""A device that echoes every password it is given never gets one into a report (issue 11 #3).

The device (asyncio servers on 127.0.77.x) puts what it was given into the redirect after
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
import secrets
import sys
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, quote

import pytest

from lab.servers.ber import OCTET_STRING, tlv
from lab.servers.snmp import SYS_DESCR, respond
from reports import FORMATS as REPORT_FORMATS
from scanner.udp import parse_snmp_response, snmp_get_request

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

pytestmark = pytest.mark.slow

#: This test's own addresses (never port 2024): one device per scan.
WITH_ACCOUNT, WITHOUT_ACCOUNT = "127.0.77.10", "127.0.77.11"
TCP_PORTS = {"ftp": 21, "telnet": 23, "http": 80}
SNMP_PORT = 1161  # a port shinsa speaks SNMP on (161 is the other)

TEST_ACCOUNT = ("tester", "Tr0ub4dor&3xyz")  # the profile's account, from the environment
SITE_LOGIN = ("admin", "Vk7-factory-2291")  # the site's own list (--credentials)
SITE_COMMUNITY = "Cm-ro-7731x"  # the site's SNMP community (--credentials)
#: A published factory login (built-in list, picked by the FTP greeting's vendor name)
VENDOR_LOGIN = ("sysadm", "anicust")
VENDOR_GREETING = b"220 Accelerated Networks FTP server ready\r\n"
SECRETS = (TEST_ACCOUNT[1], SITE_LOGIN[1], SITE_COMMUNITY, VENDOR_LOGIN[1])

HTTP_LOGINS = dict([TEST_ACCOUNT, SITE_LOGIN, VENDOR_LOGIN])
TELNET_LOGINS = dict([SITE_LOGIN])
FTP_LOGINS = dict([VENDOR_LOGIN])
COMMUNITIES = ("public", SITE_COMMUNITY)
LINE_LIMIT = 512


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


class Web:
    """HTTP/1.1 with a form login; every answer closes its connection."""

    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}  # cookie -> user

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head[:8192].decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", ""][:3]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
        }
        length = min(int(headers.get("content-length", "0") or 0), 16384)
        body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
        cookies = dict(
            c.strip().partition("=")[::2] for c in headers.get("cookie", "").split(";") if c
        )
        user = self.sessions.get(cookies.get("session", ""))
        path = target.split("?", 1)[0]
        writer.write(self.answer(method, path, body, user))
        await writer.drain()

    def answer(self, method: str, path: str, body: bytes, user: str | None) -> bytes:
        if method == "POST" and path == "/login":
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            name, password = form.get("username", ""), form.get("password", "")
            if HTTP_LOGINS.get(name) != password or not password:
                return _http(200, FORM + b"<p>Login failed</p>")
            token = secrets.token_hex(16)
            self.sessions[token] = name
            where = f"/home?user={quote(name)}&pw={quote(password, safe='')}&k={_b64(password)}"
            return _http(
                302,
                b"",
                ("Location", where),
                ("Set-Cookie", f"session={token}; Path=/; HttpOnly"),
                ("Set-Cookie", f"remember={_b64(f'{name}:{password}')}; Path=/"),
                ("Set-Cookie", f"hint={password.upper()[:6]}; Path=/"),
            )
        if path == "/home" and user is not None:
            password = HTTP_LOGINS[user]
            page = (
                f"<html><head><title>Welcome {user}</title></head><body>"
                f"<p>Your password is {echoes(password)}</p>"
                '<a href="/status">Status</a> <a href="/logout">Log out</a></body></html>'
            )
            return _http(200, page.encode())
        if path == "/status" and user is not None:
            return _http(200, f"<html><body>pw {HTTP_LOGINS[user][:6]}</body></html>".encode())
        if path == "/logout" and user is not None:
            self.sessions = {k: v for k, v in self.sessions.items() if v != user}
            return _http(302, b"", ("Location", "/"))
        if path in ("/home", "/status", "/logout"):
            return _http(302, b"", ("Location", "/"))
        if path == "/":
            return _http(200, FORM)
        return _http(404, b"<html><body>Not found</body></html>")


FORM = (
    b"<html><head><title>Echo router</title></head><body>"
    b'<form method="post" action="/login"><input name="username">'
    b'<input type="password" name="password"><input type="submit"></form></body></html>'
)


def _http(status: int, body: bytes, *headers: tuple[str, str]) -> bytes:
    reason = {200: "OK", 302: "Found", 404: "Not Found"}[status]
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/html", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _line(reader: asyncio.StreamReader) -> str:
    data = await asyncio.wait_for(reader.readline(), 10)
    return data[:LINE_LIMIT].decode("latin-1").strip()


async def telnet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """`login:` / `Password:`; after a login the MOTD repeats the password."""
    for _ in range(3):
        writer.write(b"\r\nEcho router\r\nlogin: ")
        await writer.drain()
        user = await _line(reader)
        writer.write(b"Password: ")
        await writer.drain()
        password = await _line(reader)
        if TELNET_LOGINS.get(user) == password:
            writer.write(f"\r\nWelcome {user}! Last login with {echoes(password)}\r\n# ".encode())
            await writer.drain()
            await asyncio.wait_for(reader.read(100), 10)
            return
        writer.write(b"\r\nLogin incorrect\r\n")
    await writer.drain()


async def ftp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """USER/PASS; the 230 reply repeats the password."""
    writer.write(VENDOR_GREETING)
    user = ""
    for _ in range(20):
        verb, _, arg = (await _line(reader)).partition(" ")
        verb = verb.upper()
        if verb == "USER":
            user = arg
            writer.write(b"331 Password required\r\n")
        elif verb == "PASS" and FTP_LOGINS.get(user) == arg:
            writer.write(f"230-Welcome {user}\r\n230-{echoes(arg)}\r\n230 {arg[:5]}\r\n".encode())
        elif verb == "PASS":
            writer.write(b"530 Login incorrect\r\n")
        elif verb == "QUIT" or not verb:
            writer.write(b"221 Bye\r\n")
            await writer.drain()
            return
        else:
            writer.write(b"502 Not implemented\r\n")
        await writer.drain()


class Snmp(asyncio.DatagramProtocol):
    """v1/v2c GET of the system group; sysDescr repeats the community it was asked with,
    and with `leak`, names the site's community to anyone who asks (discovery too)."""

    def __init__(self, leak: bool) -> None:
        self.leak = leak

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for community in COMMUNITIES:
            descr = f"Echo router, asked with {echoes(community)}"
            if self.leak:
                descr += f", rw {echoes(SITE_COMMUNITY)}"
            mib = {SYS_DESCR: tlv(OCTET_STRING, descr.encode())}
            with contextlib.suppress(Exception):  # garbage gets silence, as from an agent
                answer = respond(data, frozenset({community}), mib)
                if answer is not None:
                    self.transport.sendto(answer, addr)
                    return


@contextlib.asynccontextmanager
async def device(address: str, *, leak: bool = False) -> AsyncIterator[None]:
    web = Web()
    handlers: dict[int, Handler] = {
        TCP_PORTS["http"]: web.handle,
        TCP_PORTS["telnet"]: telnet,
        TCP_PORTS["ftp"]: ftp,
    }

    def guarded(handler: Handler) -> Handler:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                await handler(reader, writer)
            with contextlib.suppress(ConnectionError):
                writer.close()

        return run

    assert 2024 not in handlers
    servers = [await asyncio.start_server(guarded(h), address, p) for p, h in handlers.items()]
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(
        lambda: Snmp(leak), local_addr=(address, SNMP_PORT)
    )
    try:
        yield
    finally:
        udp.close()
        for server in servers:
            server.close()
        for server in servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2)


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
    ports = ",".join(f"T:{p}" for p in TCP_PORTS.values()) + f",U:{SNMP_PORT}"
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

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(address, SNMP_PORT))
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


async def test_the_device_is_hostile_as_described() -> None:
    """The device really echoes, on every channel: without the masking the secrets would
    be in the reports (`_leaks` finds them in what it sends)."""
    address = "127.0.77.12"
    user, password = TEST_ACCOUNT
    async with device(address):
        body = f"username={user}&password={quote(password, safe='')}"
        web = await _exchange(
            address,
            TCP_PORTS["http"],
            f"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n\r\n{body}".encode(),
        )
        ftp_reply = await _exchange(
            address,
            TCP_PORTS["ftp"],
            f"USER {VENDOR_LOGIN[0]}\r\nPASS {VENDOR_LOGIN[1]}\r\n".encode(),
        )
        motd = await _exchange(
            address, TCP_PORTS["telnet"], f"{SITE_LOGIN[0]}\r\n{SITE_LOGIN[1]}\r\n".encode()
        )
        snmp = parse_snmp_response(await _snmp_get(address, SITE_COMMUNITY))
    assert f"pw={quote(password, safe='')}" in web  # the redirect's query
    assert f"remember={_b64(f'{user}:{password}')}" in web  # a cookie
    assert f"hint={password.upper()[:6]}" in web
    assert echoes(VENDOR_LOGIN[1]) in ftp_reply
    assert echoes(SITE_LOGIN[1]) in motd
    assert snmp is not None
    assert echoes(SITE_COMMUNITY) in snmp.value.decode()
    for said, secret in [
        (web, password),
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
    assert verdicts["creds.default.http", "tcp/80"] == "fail"
    assert verdicts["creds.default.ftp", "tcp/21"] == "fail"
    if account:
        assert verdicts["creds.default.telnet", "tcp/23"] == "fail"
        assert verdicts["creds.default.snmp", "udp/1161"] == "fail"
    assert verdicts["session.idle-timeout", "tcp/80"] == "fail"
    leaks = {name: found for name, text in files.items() if (found := _leaks(text))}
    if found := _leaks(said):
        leaks["terminal"] = found
    assert not leaks, leaks
