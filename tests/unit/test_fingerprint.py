"""Fingerprinting against tiny asyncio servers on 127.0.51.x, and the HTML form parser.

Each server test owns one address, so tests can run in any order or in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
import trustme

from scanner.discovery.udp import UdpReply
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, MQTT_INFO, UDP_ANSWERS, Facts
from scanner.fingerprint.http import login_forms, parse_page
from scanner.fingerprint.services import Timing, fingerprint
from scanner.http_exchange import MAX_BODY
from scanner.model import MAX_DEVICE_TEXT, Service
from scanner.net import Limits, Network
from scanner.scope import Scope

if TYPE_CHECKING:
    from scanner.net import DeviceNetwork

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

FAST = Timing(
    banner_wait=0.5,
    banner_settle=0.1,
    answer=0.5,
    later_answer=0.3,
    http_fetch=2.0,
    busy_retries=(0.05, 0.1),
)
SERVER_NAME = "TestHTTPd/1.0"
LOGIN_HTML = b"""<html><head><title>Cam &amp; Co Login</title></head><body>
<form method="post" action="/cgi-bin/auth">
<input type="hidden" name="token" value="abc123">
<input type="text" name="username"><input type="password" name="pwd">
</form></body></html>"""


def device(address: str) -> DeviceNetwork:
    network = Network(Scope.of(["127.0.51.0/24"]), Limits(connect_timeout=1.0, read_timeout=2.0))
    return network.device(address)


async def drain_until_eof(reader: asyncio.StreamReader) -> None:
    """Read and ignore whatever the client sends until it hangs up (bounded by the test)."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass


@contextlib.asynccontextmanager
async def serve(
    address: str, handler: Handler, port: int = 0, tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """Run `handler` per connection on address:port (0 = any); yields the port."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                await handler(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            pass  # the scanner hanging up mid-answer is normal here
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(guarded, address, port, ssl=tls, reuse_address=True)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()


async def scan_one(address: str, port: int, facts: Facts | None = None) -> Service:
    (service,) = await fingerprint(device(address), [port], [], facts or Facts(), timing=FAST)
    return service


def greeter(banner: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        await writer.drain()
        await drain_until_eof(reader)

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await drain_until_eof(reader)


def http_handler(routes: dict[str, tuple[str, dict[str, str], bytes]]) -> Handler:
    """A one-request-per-connection HTTP server: path -> (status line, headers, body)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b""
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            head = await reader.readuntil(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        if len(parts) < 3 or parts[0] != b"GET":
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        status, headers, body = routes.get(parts[1].decode(), ("404 Not Found", {}, b"not found"))
        lines = [f"HTTP/1.1 {status}", f"Server: {SERVER_NAME}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return handler


LOGIN_SITE = http_handler(
    {
        "/": ("302 Found", {"Location": "/login.html"}, b""),
        "/login.html": ("200 OK", {"Content-Type": "text/html; charset=utf-8"}, LOGIN_HTML),
    }
)


# --- speak-first services ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("octet", "banner", "protocol", "product"),
    [
        (1, b"SSH-2.0-TestSSH_1.0 extra words\r\n", "ssh", "TestSSH_1.0 extra words"),
        (2, b"220 (vsFTPd 3.0.3)\r\n", "ftp", "vsFTPd 3.0.3"),
        (3, b"220 mail.example ESMTP Postfix\r\n", "smtp", "mail.example ESMTP Postfix"),
        (4, b"+OK POP3 ready\r\n", "pop3", ""),
        (5, b"* OK IMAP4rev1 ready\r\n", "imap", ""),
        (6, b"RFB 003.008\n", "vnc", "RFB 003.008"),
        (7, b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01\xff\xfb\x03\r\nCam login: ", "telnet", ""),
        (8, b"\r\nBusyBox on cam\r\ncam login: ", "telnet", ""),
    ],
)
async def test_a_greeting_names_the_service(
    octet: int, banner: bytes, protocol: str, product: str
) -> None:
    address = f"127.0.51.{octet}"
    async with serve(address, greeter(banner)) as port:
        service = await scan_one(address, port)
    assert (service.transport, service.port, service.protocol) == ("tcp", port, protocol)
    assert service.product == product
    assert service.note == ""
    assert not service.tls
    assert "\xff" not in service.banner


async def test_a_mysql_handshake_is_mysql_with_its_version() -> None:
    body = b"\x0a" + b"8.0.36-log\x00" + b"\x01\x00\x00\x00" + b"saltsalt\x00" + b"\xff\xf7"
    packet = len(body).to_bytes(3, "little") + b"\x00" + body
    async with serve("127.0.51.9", greeter(packet)) as port:
        service = await scan_one("127.0.51.9", port)
    assert (service.protocol, service.product) == ("mysql", "8.0.36-log")


async def test_an_unknown_printable_banner_is_kept_with_a_note() -> None:
    async with serve("127.0.51.10", greeter(b"Welcome to FooOS 1.0\r\n> ")) as port:
        service = await scan_one("127.0.51.10", port)
    assert service.protocol == "unknown"
    assert service.banner == "Welcome to FooOS 1.0  >"
    assert service.note == "unrecognised banner"


async def test_binary_garbage_is_unknown_with_a_note() -> None:
    garbage = bytes(range(256)) * 4
    async with serve("127.0.51.11", greeter(garbage)) as port:
        service = await scan_one("127.0.51.11", port)
    assert service.protocol == "unknown"
    assert service.note == "unrecognised binary banner"
    assert len(service.banner) <= MAX_DEVICE_TEXT


async def test_a_one_mebibyte_flood_is_cut_at_the_bound() -> None:
    async with serve("127.0.51.12", greeter(b"A" * (1024 * 1024))) as port:
        service = await scan_one("127.0.51.12", port)
    assert service.protocol == "unknown"
    assert service.note == "banner exceeded 64 KiB"
    assert len(service.banner) <= MAX_DEVICE_TEXT


async def test_a_reset_on_connect_is_unknown_with_a_note() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        # Linger 0: close sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with serve("127.0.51.13", reset) as port:
        service = await scan_one("127.0.51.13", port)
    assert service.protocol == "unknown"
    # after the retries a busy server gets, and saying so
    assert service.note in (
        "connection reset (3 tries)",
        "closed the connection without a banner (3 tries)",
    )


@pytest.mark.parametrize("drops", [1, 2])
async def test_a_server_shedding_load_is_named_once_it_greets(drops: int) -> None:
    """dropbear drops a sixth unauthenticated client of one address, OpenSSH's MaxStartups
    drops at random: a connection closed before the greeting is tried again."""
    connections = 0

    async def busy_then_ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if connections <= drops:
            return  # closed before any greeting
        await greeter(b"SSH-2.0-dropbear_2022.83\r\n")(reader, writer)

    async with serve("127.0.51.70", busy_then_ssh) as port:
        service = await scan_one("127.0.51.70", port)
    assert (service.protocol, service.product, service.note) == ("ssh", "dropbear_2022.83", "")
    assert connections == drops + 1


async def test_a_port_that_accepts_and_never_answers_says_so() -> None:
    async with serve("127.0.51.14", silent) as port:
        service = await asyncio.wait_for(scan_one("127.0.51.14", port), 15)
    assert service.protocol == "unknown"
    assert service.note == "accepted but never answered"


async def test_a_closed_port_is_unknown_connection_refused() -> None:
    async with serve("127.0.51.15", silent) as port:
        pass  # the port is free again: nothing listens there now
    service = await scan_one("127.0.51.15", port)
    assert (service.protocol, service.note) == ("unknown", "connection refused")


# --- silent services named by a probe ---------------------------------------------------


async def test_http_login_form_behind_a_redirect_is_found() -> None:
    address = "127.0.51.16"
    facts = Facts()
    async with serve(address, LOGIN_SITE) as port:
        service = await scan_one(address, port, facts)
    assert (service.protocol, service.product, service.tls) == ("http", SERVER_NAME, False)
    assert service.banner == "HTTP/1.1 302 Found"

    pages = facts.get(HTTP_PAGES)
    assert pages is not None
    assert [(p.url, p.status, p.location) for p in pages] == [
        (f"http://{address}:{port}/", 302, "/login.html"),
        (f"http://{address}:{port}/login.html", 200, ""),
    ]
    assert pages[1].title == "Cam & Co Login"
    assert pages[0].server == SERVER_NAME

    forms = facts.get(LOGIN_FORMS)
    assert forms is not None
    (form,) = forms
    assert form.service == service
    assert form.page_url == f"http://{address}:{port}/login.html"
    assert form.action_url == f"http://{address}:{port}/cgi-bin/auth"
    assert (form.method, form.username_field, form.password_field) == ("POST", "username", "pwd")
    assert form.hidden_fields == (("token", "abc123"),)


async def test_a_redirect_to_another_host_is_not_followed() -> None:
    other_connections = 0

    async def other(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal other_connections
        other_connections += 1

    async with serve("127.0.51.18", other) as other_port:
        elsewhere = f"http://127.0.51.18:{other_port}/login.html"
        site = http_handler({"/": ("302 Found", {"Location": elsewhere}, b"")})
        facts = Facts()
        async with serve("127.0.51.17", site) as port:
            service = await scan_one("127.0.51.17", port, facts)
    assert service.protocol == "http"
    assert other_connections == 0  # in scope, but another device: never contacted
    pages = facts.get(HTTP_PAGES)
    assert pages is not None
    assert [(p.status, p.location) for p in pages] == [(302, elsewhere)]
    assert facts.get(LOGIN_FORMS) is None


async def test_a_tls_web_server_is_https_with_its_pages() -> None:
    address = "127.0.51.19"
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(address).configure_cert(server_ctx)
    facts = Facts()
    async with serve(address, LOGIN_SITE, tls=server_ctx) as port:
        service = await asyncio.wait_for(scan_one(address, port, facts), 15)
    assert (service.protocol, service.tls, service.product) == ("https", True, SERVER_NAME)
    forms = facts.get(LOGIN_FORMS)
    assert forms is not None
    assert forms[0].action_url == f"https://{address}:{port}/cgi-bin/auth"


def mqtt_broker(return_code: int) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.read(2)
        if first[:1] != b"\x10":
            return  # not a CONNECT: brokers drop the connection
        writer.write(bytes([0x20, 0x02, 0x00, return_code]))
        await writer.drain()
        await drain_until_eof(reader)

    return handler


@pytest.mark.parametrize(("octet", "code", "anonymous"), [(20, 0, True), (21, 5, False)])
async def test_an_mqtt_broker_reports_whether_it_accepts_anonymous(
    octet: int, code: int, anonymous: bool
) -> None:
    address = f"127.0.51.{octet}"
    facts = Facts()
    async with serve(address, mqtt_broker(code), port=1883):
        service = await scan_one(address, 1883, facts)
    assert (service.port, service.protocol) == (1883, "mqtt")
    info = facts.get(MQTT_INFO)
    assert info is not None
    assert [(i.service, i.return_code, i.accepted_anonymous) for i in info] == [
        (service, code, anonymous)
    ]


async def test_an_mqtt_broker_on_an_unusual_port_is_still_found() -> None:
    async with serve("127.0.51.22", mqtt_broker(0)) as port:
        service = await asyncio.wait_for(scan_one("127.0.51.22", port), 15)
    assert service.protocol == "mqtt"


async def test_a_modbus_server_is_named_by_its_echoed_transaction() -> None:
    async def modbus(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readexactly(12)
        tid = request[:2]
        writer.write(tid + b"\x00\x00\x00\x05\x01\x03\x02\x00\x2a")
        await writer.drain()

    async with serve("127.0.51.23", modbus, port=502):
        service = await scan_one("127.0.51.23", 502)
    assert service.protocol == "modbus"


async def test_an_rtsp_server_is_rtsp_with_its_product() -> None:
    async def rtsp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: CamStream 2\r\n\r\n")
        await writer.drain()

    async with serve("127.0.51.24", rtsp, port=554):
        service = await scan_one("127.0.51.24", 554)
    assert (service.protocol, service.product) == ("rtsp", "CamStream 2")


async def test_ports_come_back_sorted_tcp_then_udp_with_udp_answers() -> None:
    address = "127.0.51.25"
    reply = UdpReply(161, "snmp", "SNMPv2c GetRequest sysDescr.0", "Cam OS 1.2", "public")
    facts = Facts()
    async with (
        serve(address, greeter(b"SSH-2.0-X\r\n")) as ssh_port,
        serve(address, greeter(b"220 ftp\r\n")) as ftp_port,
    ):
        services = await fingerprint(
            device(address), [ftp_port, ssh_port], [reply], facts, timing=FAST
        )
    assert [(s.transport, s.port) for s in services] == [
        *sorted((("tcp", ssh_port), ("tcp", ftp_port))),
        ("udp", 161),
    ]
    assert services[-1].protocol == "snmp"
    assert services[-1].banner == "Cam OS 1.2"
    answers = facts.get(UDP_ANSWERS)
    assert answers is not None
    assert [(a.service, a.snmp_community, a.response_summary) for a in answers] == [
        (services[-1], "public", "Cam OS 1.2")
    ]
    assert facts.get(HTTP_PAGES) is None  # no web service: no fact, so web probes skip


# --- HTML parsing (no sockets) ----------------------------------------------------------

PAGE = "http://192.0.2.1/login/index.html"


def forms_of(html: str) -> list[tuple[str, str, str, str]]:
    return [
        (f.action_url, f.method, f.username_field, f.password_field)
        for f in login_forms(Service("tcp", 80, "http"), PAGE, html)
    ]


def test_a_relative_action_becomes_absolute_and_fields_are_named() -> None:
    html = (
        '<form action="do_login.cgi" method="POST"><input name="u" type="email">'
        '<input type="checkbox" name="remember"><input type="password" name="p"></form>'
    )
    assert forms_of(html) == [("http://192.0.2.1/login/do_login.cgi", "POST", "u", "p")]


def test_a_form_without_a_password_is_not_a_login_form() -> None:
    assert forms_of('<form action="/search"><input name="q"></form>') == []


def test_a_form_without_action_posts_to_its_page_and_defaults_to_get() -> None:
    assert forms_of('<form method="PATCH"><input type="password" name="pin"></form>') == [
        (PAGE, "GET", "", "pin")
    ]


def test_unclosed_forms_each_count() -> None:
    html = (
        "<form action=/a><input name=user><input type=password name=pw>"
        "<form action=/b><input type=password name=pin>"
    )
    assert forms_of(html) == [
        ("http://192.0.2.1/a", "GET", "user", "pw"),
        ("http://192.0.2.1/b", "GET", "", "pin"),
    ]


def test_hidden_fields_are_kept_and_huge_values_bounded() -> None:
    html = (
        '<form><input type="hidden" name="csrf" value="' + "x" * 200_000 + '">'
        '<input type="hidden" value="nameless"><input type="password" name="p"></form>'
    )
    (form,) = login_forms(Service("tcp", 80, "http"), PAGE, html)
    ((name, value),) = form.hidden_fields
    assert name == "csrf"
    assert len(value) <= MAX_DEVICE_TEXT


def test_a_script_inside_the_title_is_not_title_text() -> None:
    page = parse_page("<title>Cam<script>alert('x')</script> Admin</title><p>body</p>")
    assert page.title == "Cam Admin"


def test_a_never_closed_title_is_bounded_and_control_characters_escaped() -> None:
    page = parse_page("<title>\x1b[31mred" + "y" * 100_000)
    assert page.title.startswith("\\x1b[31mred")
    assert len(page.title) <= MAX_DEVICE_TEXT


def test_broken_markup_never_raises() -> None:
    for html in ("<form", "<<<>>></form></form><input type=password", "<!--", "<![CDATA[x"):
        parse_page(html)
        login_forms(Service("tcp", 80, "http"), PAGE, html)


def test_a_huge_page_is_parsed_only_up_to_the_bound() -> None:
    late = '<form><input type="password" name="late"></form>'
    assert forms_of(" " * MAX_BODY + late) == []


# --- FTP and Telnet named by behaviour (issue 10, item 4) ---------------------------------


def ftp_like(greeting: bytes, user_answer: bytes) -> Handler:
    """Greets with `greeting`, answers USER with `user_answer`, QUIT with 221."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        while line := await reader.readline():
            writer.write(user_answer if line.startswith(b"USER") else b"221 Bye\r\n")
            await writer.drain()

    return handler


@pytest.mark.parametrize(
    ("octet", "greeting", "user_answer", "code"),
    [
        (60, b"200-NetPLC-200 FTP service\r\n200 Ready for login\r\n", b"331 Password\r\n", "200"),
        (61, b"Welcome to the NetPLC file service\r\n", b"530 Not logged in\r\n", "no code"),
        (62, b"120-Starting\r\n120 Ready soon\r\n", b"230 Logged in\r\n", "120"),
    ],
)
async def test_a_server_that_answers_user_like_ftp_is_ftp(
    octet: int, greeting: bytes, user_answer: bytes, code: str
) -> None:
    address = f"127.0.51.{octet}"
    async with serve(address, ftp_like(greeting, user_answer)) as port:
        service = await scan_one(address, port)
    assert service.protocol == "ftp"
    assert f"answer to USER (greeting: {code})" in service.note
    assert service.banner == greeting.split(b"\r\n")[0].decode()


async def test_a_text_banner_that_does_not_answer_user_like_ftp_stays_unknown() -> None:
    async with serve("127.0.51.63", ftp_like(b"Welcome to FooOS\r\n", b"?\r\n")) as port:
        service = await scan_one("127.0.51.63", port)
    assert service.protocol == "unknown"
    assert service.note == "unrecognised banner"


@pytest.mark.parametrize(
    ("octet", "banner"),
    [
        (64, b"\r\nNetPLC-200\r\nuser: "),
        (65, b"Password: "),
        (66, b"Username: "),  # Twisted's AuthenticatingTelnetProtocol: no negotiation first
    ],
)
async def test_a_final_login_prompt_names_telnet(octet: int, banner: bytes) -> None:
    address = f"127.0.51.{octet}"
    async with serve(address, greeter(banner)) as port:
        service = await scan_one(address, port)
    assert service.protocol == "telnet"


async def test_a_telnet_prompt_that_comes_after_the_banner_wait_is_telnet() -> None:
    """Silent for longer than the banner wait, but within a probe's answer time."""
    timing = replace(FAST, banner_wait=0.3, answer=1.5)

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.6)
        writer.write(b"\r\nlogin: ")
        await writer.drain()
        await drain_until_eof(reader)

    async with serve("127.0.51.67", late) as port:
        (service,) = await asyncio.wait_for(
            fingerprint(device("127.0.51.67"), [port], [], Facts(), timing=timing), 15
        )
    assert service.protocol == "telnet"
    assert service.note == "greeted only after the banner wait"
