"""Property tests of the parsers of device bytes that only a network client reaches
(issue 11, "Tests that keep it so"): tiny servers on loopback answer with bytes hypothesis
makes up (random, or a valid answer with one field spoiled), and the client must end in
its own bounded outcome: no exception, no Python message in a reason, bounded text, and
never an accepted login or a named protocol that the bytes did not earn.

Covered here: the fingerprint's banner classification (SSH, Telnet, FTP, SMTP, POP3 and
the rest) and its probe classification (MQTT CONNACK, Modbus, S7, ADB, RTSP, PJL), the HTTP
page fetch (status line, Content-Type charset, Content-Encoding, Location, body), the FTP,
Telnet and MQTT login clients, the SNMP community check and the SSH KEXINIT reader.

Servers listen on 127.0.78.0/24 only (port 0), one address per test; every example is a
fresh server with short timeouts, so the file runs in seconds.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from probes._login import common, ftp, mqtt, rtsp, snmp, telnet
from probes._login import http as login_http
from probes._login.common import Pace
from probes._ssh import NoKexinit, read_offer
from scanner.credentials import Credential, LoginRun, Outcome
from scanner.discovery.udp_protocols.snmp import parse_snmp_response
from scanner.facts import MQTT_INFO, Facts
from scanner.fingerprint.http import http_pages
from scanner.fingerprint.services import Timing, fingerprint
from scanner.http_exchange import MAX_URL
from scanner.model import MAX_DEVICE_TEXT, Service
from scanner.net import Limits, Network
from scanner.scope import Scope
from scanner.tls.audit import exchange
from scanner.tls.wire import TLS12, client_hello
from tests.serving import serving

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from scanner.net import DeviceNetwork

    Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

BLOCK = "127.0.78.0/24"
#: Few examples, each a real connection or several: the whole file stays well under a minute.
SERVER_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: For clients that wait out a silent device (a timeout per example): fewer examples.
SLOW_SETTINGS = settings(SERVER_SETTINGS, max_examples=25)
#: Python's words for a failure: never part of what the scanner says a device did.
PYTHON_WORDS = re.compile(
    r"Traceback|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|invalid literal|codec|"
    r"object has no attribute|not subscriptable|unpack requires|index out of range"
)
SECRET = "pw-Zq81xQ"
CREDENTIALS = [Credential("admin", SECRET, "test"), Credential("root", "other-Pw42", "test")]


def device(address: str) -> DeviceNetwork:
    limits = Limits(per_device=2, connect_timeout=0.5, read_timeout=1.0)
    return Network(Scope.of([BLOCK]), limits).device(address)


def said(text: str, limit: int = 1024) -> None:
    """A sentence about the device: bounded, and no Python in it."""
    assert len(text) <= limit, text[:120]
    assert not PYTHON_WORDS.search(text), text


def run(coro: Awaitable[None]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(30):
            await coro

    asyncio.run(bounded())


@pytest.fixture(autouse=True)
def _quick_retries() -> Iterator[None]:
    # A dropped connection is retried after BACKOFF pauses: keep them short here. (A
    # context, not the monkeypatch fixture: hypothesis runs many examples per test call.)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common, "BACKOFF", (0.01, 0.02))
        yield


@st.composite
def spoiled(draw: st.DrawFn, valid: bytes) -> bytes:
    """`valid` cut short, one byte changed, bytes inserted, or a garbage tail."""
    how = draw(st.sampled_from(["cut", "byte", "insert", "tail"]))
    at = draw(st.integers(0, max(0, len(valid) - 1)))
    if how == "cut":
        return valid[:at]
    if how == "byte":
        return valid[:at] + bytes([draw(st.integers(0, 255))]) + valid[at + 1 :]
    if how == "insert":
        return valid[:at] + draw(st.binary(min_size=1, max_size=6)) + valid[at:]
    return valid + draw(st.binary(min_size=1, max_size=12))


def bytes_like(*valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), st.sampled_from(valid), *map(spoiled, valid))


def assert_run_says_what_happened(run_: LoginRun) -> None:
    said(run_.note)
    said(run_.unconfirmed)
    attempts = [*run_.attempts, *([run_.control] if run_.control else [])]
    for attempt in attempts:
        said(attempt.detail)
        assert SECRET not in attempt.detail


# --- fingerprint: banners of speak-first servers -------------------------------------------

TIMING = Timing(
    banner_wait=0.15,
    banner_settle=0.05,
    answer=0.2,
    later_answer=0.1,
    http_fetch=1.0,
    busy_retries=(),
    port_deadline=10.0,
    pages_deadline=10.0,
)
BANNERS = (
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"\xff\xfd\x18\xff\xfb\x01cam login: ",
    b"220 (vsFTPd 3.0.3)\r\n",
    b"220 mail ESMTP Postfix\r\n",
    b"+OK POP3 ready\r\n",
    b"* OK IMAP4rev1\r\n",
    b"RFB 003.008\n",
    b"\x0a\x00\x00\x00\x0a5.7.33\x00" + b"\x00" * 6,
    b"Password: ",
)


def assert_service_bounded(service: Service) -> None:
    for text in (service.banner, service.product):
        assert len(text) <= MAX_DEVICE_TEXT
    said(service.note, 2 * MAX_DEVICE_TEXT)


@SERVER_SETTINGS
@given(bytes_like(*BANNERS))
def test_any_banner_names_a_service_or_says_why_not(banner: bytes) -> None:
    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        await writer.drain()
        await reader.read(4096)  # a USER line (FTP by behaviour), then close

    async def scan() -> None:
        async with serving("127.0.78.10", greet) as port:
            services = await fingerprint(device("127.0.78.10"), [port], [], Facts(), timing=TIMING)
        (service,) = services
        assert_service_bounded(service)
        if service.protocol == "ssh":
            assert banner.startswith(b"SSH-")

    run(scan())


# --- fingerprint: answers of silent servers to its probes ----------------------------------

ANSWERS = (
    b"\x20\x02\x00\x00",
    b"\x20\x02\x00\x05",
    b"\x53\x48\x00\x00\x00\x05\x01\x03\x02\x00\x01",
    b"\x03\x00\x00\x16\x11\xd0" + bytes(16),
    b"CNXN" + bytes(20) + b"device::",
    b"RTSP/1.0 200 OK\r\nServer: cam\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
    b'@PJL INFO ID\r\n"LaserJet"\r\n\x0c',
)


@settings(SLOW_SETTINGS, max_examples=20)  # each waits out seven probes
@given(bytes_like(*ANSWERS))
@example(answer=b"\x20\x02\x02\x00")  # a reserved flag bit: not anonymous access
def test_any_answer_to_a_probe_names_a_service_or_says_why_not(answer: bytes) -> None:
    first_bytes: list[bytes] = []

    async def answer_probes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(4096)
        first_bytes.append(request[:1])
        writer.write(answer)
        await writer.drain()
        await reader.read(4096)

    async def scan() -> None:
        facts = Facts()
        async with serving("127.0.78.11", answer_probes) as port:
            services = await fingerprint(device("127.0.78.11"), [port], [], facts, timing=TIMING)
        (service,) = services
        assert_service_bounded(service)
        for info in facts.get(MQTT_INFO) or ():
            # Anonymous access is only read from a CONNACK with its reserved bits clear.
            assert info.service.protocol == "mqtt"
            if info.accepted_anonymous:
                assert answer[:3] in (b"\x20\x02\x00", b"\x20\x02\x01")
                assert answer[3] == 0

    run(scan())


# --- HTTP: the head and the page --------------------------------------------------------------

CHARSETS = st.sampled_from(
    ["utf-8", "latin-1", "base64", "hex", "rot13", "idna", "punycode", "utf-16", "x-no", "", "zlib"]
)
LOCATIONS = st.sampled_from(
    ["/login.html", "http:host/", "http://[::1", "//127.0.78.12:99999/", "/a b", "\\\\evil", ""]
)
PAGE = b"<html><title>Cam</title><form action=/login method=post><input name=u>"
PAGE += b"<input type=password name=p></form><a href='//[x/login'>Log in</a></html>"


@st.composite
def http_answers(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from([b"200 OK", b"302 Found", b"301 x", b"401 No", b"999 ?"]))
    charset = draw(CHARSETS)
    coding = draw(st.sampled_from(["", "gzip", "br", "deflate", "zstd"]))
    body = draw(st.one_of(st.just(PAGE), spoiled(PAGE), st.binary(max_size=200)))
    if coding == "gzip" and draw(st.booleans()):
        body = gzip.compress(body, mtime=0)
    headers = [
        b"Content-Type: text/html" + (b"; charset=" + charset.encode() if charset else b""),
        b"Connection: close",
    ]
    if coding:
        headers.append(b"Content-Encoding: " + coding.encode())
    if status[:1] == b"3":
        headers.append(b"Location: " + draw(LOCATIONS).encode())
    if status[:3] == b"401":
        headers.append(b'WWW-Authenticate: Basic realm="' + draw(st.binary(max_size=20)) + b'"')
    head = b"HTTP/1.1 " + status + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\n"
    answer = head + body
    return draw(st.one_of(st.just(answer), spoiled(answer)))


@SERVER_SETTINGS
@given(http_answers())
@example(answer=b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=base64\r\n\r\n" + PAGE)
@example(answer=b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=idna\r\n\r\n" + PAGE)
def test_any_http_answer_reads_as_bounded_pages_or_a_note_about_the_device(answer: bytes) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()

    async def fetch() -> None:
        async with serving("127.0.78.12", serve) as port:
            pages, forms, note = await http_pages(
                device("127.0.78.12"), Service("tcp", port, "http"), timeout=1.0
            )
        said(note, 2 * MAX_URL + 200)
        for page in pages:
            for text in (page.title, page.server, page.auth_realm, page.hsts):
                assert len(text) <= MAX_DEVICE_TEXT
            assert len(page.location) <= MAX_URL
            said(page.incomplete, MAX_DEVICE_TEXT)
        for form in forms:
            assert len(form.action_url) <= MAX_URL

    run(fetch())


# --- FTP replies ---------------------------------------------------------------------------

FTP_CODES = st.sampled_from(
    ["220", "230", "331", "530", "430", "421", "500", "534", "120", "200", "23", "2300"]
) | st.sampled_from(["٢٣٠", "²³⁰", "２３０", "23\x00", "", "abc"])  # digits no FTP server sends


@st.composite
def ftp_replies(draw: st.DrawFn) -> bytes:
    code = draw(FTP_CODES)
    sep = draw(st.sampled_from([" ", "-", ""]))
    text = draw(st.one_of(st.text(max_size=30), st.sampled_from(["Login ok", "Use TLS"])))
    line = f"{code}{sep}{text}\r\n".encode()
    return draw(st.one_of(st.just(line), spoiled(line), st.binary(max_size=40)))


def _first_ascii_230(lines: list[bytes]) -> bool:
    return any(re.match(rb"230(?:[ -]|\r?\n)", line) for line in lines)


@SLOW_SETTINGS
@given(st.lists(ftp_replies(), min_size=1, max_size=5))
@example(replies=["²³⁰ ready\r\n".encode()])  # int() refuses superscript digits
@example(replies=[b"220 ready\r\n", b"331 pw\r\n", "٢٣٠ ok\r\n".encode()])  # int() reads 230
def test_any_ftp_replies_end_in_an_outcome_and_only_230_logs_in(replies: list[bytes]) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(replies[0])
        for reply in replies[1:]:
            await writer.drain()
            if not await reader.readline():
                return
            writer.write(reply)
        await writer.drain()

    async def login() -> None:
        async with serving("127.0.78.13", serve) as port:
            result = await ftp.try_logins(
                device("127.0.78.13"),
                Service("tcp", port, "ftp"),
                CREDENTIALS,
                pace=Pace(timeout=0.2),
            )
        assert_run_says_what_happened(result)
        if any(a.outcome is Outcome.ACCEPTED for a in result.attempts):
            assert _first_ascii_230(b"".join(replies[1:]).splitlines(keepends=True))

    run(login())


# --- Telnet negotiation and prompts --------------------------------------------------------

TELNET_PIECES = st.sampled_from(
    [
        b"\xff\xfb\x01",
        b"\xff\xfc\x01",
        b"\xff\xfd\x1f",
        b"\xff\xfa\x18\x01\xff\xf0",
        b"\xff\xfa",
        b"\xff",
        b"login: ",
        b"Password: ",
        b"Login incorrect\r\n",
        b"\x1b[2J",
        b"\x00",
        b"\r\n",
    ]
)
TELNET = st.lists(st.one_of(TELNET_PIECES, st.binary(max_size=10)), max_size=12).map(b"".join)


@SLOW_SETTINGS
@given(st.lists(TELNET, min_size=1, max_size=4))
@example(chunks=[b"\xff\xfb\x01login: "])  # then a reset: said in words
def test_any_telnet_stream_ends_in_an_outcome(chunks: list[bytes]) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(chunks[0])
        for chunk in chunks[1:]:
            await writer.drain()
            if not await reader.read(1024):
                return
            writer.write(chunk)
        await writer.drain()

    async def login() -> None:
        async with serving("127.0.78.14", serve) as port:
            result = await telnet.try_logins(
                device("127.0.78.14"),
                Service("tcp", port, "telnet"),
                CREDENTIALS[:1],
                pace=Pace(timeout=0.2),
            )
        assert_run_says_what_happened(result)

    run(login())


# --- MQTT CONNACK --------------------------------------------------------------------------

CONNACKS = (b"\x20\x02\x00\x00", b"\x20\x02\x00\x05", b"\x20\x03\x00\x00\x00", b"\x20\x02\x00\x01")


@SLOW_SETTINGS
@given(st.lists(bytes_like(*CONNACKS), min_size=1, max_size=4))
def test_any_connack_ends_in_an_outcome_and_only_a_real_one_logs_in(answers: list[bytes]) -> None:
    sent: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await reader.read(1024):
            return
        answer = answers[len(sent) % len(answers)]
        sent.append(answer)
        writer.write(answer)
        await writer.drain()
        await reader.read(1024)

    async def login() -> None:
        async with serving("127.0.78.15", serve) as port:
            result = await mqtt.try_logins(
                device("127.0.78.15"),
                Service("tcp", port, "mqtt"),
                CREDENTIALS,
                pace=Pace(timeout=0.2),
            )
        assert_run_says_what_happened(result)
        if any(a.outcome is Outcome.ACCEPTED for a in result.attempts):
            # 3.1.1: exactly 20 02, flags 0 or 1, code 0; 5.0: properties that fill it.
            assert any(a[:1] == b"\x20" and a[2:4] in (b"\x00\x00", b"\x01\x00") for a in sent)

    run(login())


# --- SNMP community check ------------------------------------------------------------------


class _Agent(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self._answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        assert self.transport is not None
        self.transport.sendto(self._answer(data), addr)


@SERVER_SETTINGS
@given(st.data())
def test_an_snmp_agent_answering_anything_but_our_request_id_never_knows_the_community(
    data: st.DataObject,
) -> None:
    answers: list[bytes] = []

    def answer(request: bytes) -> bytes:
        # Garbage, or our own request echoed and spoiled (a GetRequest is no GetResponse).
        got = data.draw(st.one_of(st.binary(max_size=200), spoiled(request), st.just(request)))
        answers.append(got)
        return got

    async def check() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Agent(answer), local_addr=("127.0.78.16", 0)
        )
        try:
            port = transport.get_extra_info("sockname")[1]
            attempt = await snmp.check_community(
                device("127.0.78.16"), Service("udp", port, "snmp"), CREDENTIALS[0], 0.4
            )
        finally:
            transport.close()
        said(attempt.detail)
        if attempt.outcome is Outcome.ACCEPTED:
            # Only a GetResponse carrying our request id back knows the community (a spoiled
            # echo may become one: 0xA0 turned 0xA2).
            assert any(parse_snmp_response(a) is not None for a in answers)
        else:
            assert attempt.outcome is Outcome.REJECTED

    run(check())


# --- SSH identification and KEXINIT --------------------------------------------------------


def _kexinit_packet() -> bytes:
    lists = [b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr"]
    lists += [b"hmac-sha2-256", b"hmac-sha2-256", b"none", b"none", b"", b""]
    payload = b"\x14" + bytes(16) + b"".join(len(n).to_bytes(4, "big") + n for n in lists)
    payload += bytes(5)
    padding = 4 + (-(len(payload) + 5 + 4)) % 8
    return (
        (len(payload) + padding + 1).to_bytes(4, "big")
        + bytes([padding])
        + payload
        + bytes(padding)
    )


KEXINIT_PACKET = _kexinit_packet()


@SERVER_SETTINGS
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda b: b"SSH-2.0-x\r\n" + b,
            st.one_of(st.binary(max_size=200), spoiled(KEXINIT_PACKET)),
        ),
        st.sampled_from([b"SSH-2.0-\xff\xfe\r\n", b"SSH-2.0-" + b"a" * 300, b"\r\n" * 30]),
    )
)
def test_any_ssh_server_bytes_give_a_kexinit_or_say_how_far_they_got(answer: bytes) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(answer)
        await writer.drain()

    async def read() -> None:
        async with serving("127.0.78.17", serve) as port:
            try:
                offer = await read_offer(device("127.0.78.17"), port)
            except NoKexinit as exc:
                said(str(exc))
                return
            except ConnectionError:
                return  # closed before any ident: the caller retries
        assert len(offer.ident) <= 120
        assert all(name.isascii() and name.isprintable() for name in offer.kexinit.kex)

    run(read())


# --- TLS: the server's first flight --------------------------------------------------------


def _tls_record(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 3, 3]) + len(payload).to_bytes(2, "big") + payload


def _tls_message(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


_HELLO_BODY = b"\x03\x03" + b"\x11" * 32 + b"\x00\xc0\x2f\x00"
FLIGHTS = (
    _tls_record(22, _tls_message(2, _HELLO_BODY) + _tls_message(11, bytes(3)))
    + _tls_record(22, _tls_message(14, b"")),
    _tls_record(21, b"\x02\x28"),
    b"HTTP/1.1 400 Bad Request\r\n\r\n",
)


@SERVER_SETTINGS
@given(bytes_like(*FLIGHTS), st.booleans())
def test_any_first_flight_is_a_hello_an_alert_or_a_sentence(flight: bytes, reset: bool) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        writer.write(flight)
        await writer.drain()
        if not reset:
            writer.close()  # a clean close; else the server's abort resets the connection

    async def hello() -> None:
        async with serving("127.0.78.18", serve) as port:
            answer = await exchange(
                device("127.0.78.18"),
                port,
                client_hello(TLS12, [0xC02F]),
                flight=True,
                timeout=0.3,
            )
        said(answer.note, 200)
        if answer.kind == "hello":
            assert answer.hello is not None
            assert flight[:1] == b"\x16"  # only a handshake record carries a ServerHello

    run(hello())


# --- RTSP answers ----------------------------------------------------------------------------

CHALLENGES = st.sampled_from(
    [
        b'WWW-Authenticate: Digest realm="cam", nonce="abc", algorithm=MD5',
        b'WWW-Authenticate: Digest realm="cam", nonce="abc", algorithm=SHA-512-256, qop="auth"',
        b'WWW-Authenticate: Digest realm="cam", nonce="abc", algorithm=nonsense, qop=x',
        b"WWW-Authenticate: Digest realm",
        b'WWW-Authenticate: Basic realm="\xff\x00"',
        b"WWW-Authenticate: Negotiate",
        b'WWW-Authenticate: Digest nonce="a", stale=TRUE',
    ]
)


@st.composite
def rtsp_answers(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from([b"200 OK", b"401 Unauthorized", b"403 No", b"503 Busy", b"9 x"]))
    headers = [b"CSeq: 1", draw(CHALLENGES)]
    length = draw(st.sampled_from([b"", b"5", b"\xb2", b"-1", b"99999999", b"0x10"]))
    if length:
        headers.append(b"Content-Length: " + length)
    answer = b"RTSP/1.0 " + status + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\nhello"
    return draw(st.one_of(st.just(answer), spoiled(answer)))


@SLOW_SETTINGS
@given(st.lists(rtsp_answers(), min_size=1, max_size=4))
@example(answers=[b"RTSP/1.0 200 OK\r\nContent-Length: \xb2\r\n\r\n"])  # '²'.isdigit()
def test_any_rtsp_answers_end_in_an_outcome_and_only_200_logs_in(answers: list[bytes]) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()

    async def login() -> None:
        async with serving("127.0.78.20", serve) as port:
            result = await rtsp.try_logins(
                device("127.0.78.20"),
                Service("tcp", port, "rtsp"),
                CREDENTIALS,
                pace=Pace(timeout=0.2),
            )
        assert_run_says_what_happened(result)
        if any(a.outcome is Outcome.ACCEPTED for a in result.attempts):
            assert any(a.startswith(b"RTSP/1.0 200 ") for a in answers[2:])

    run(login())


# --- HTTP login answers (a JSON API) ----------------------------------------------------------

JSON_BODIES = st.one_of(
    st.sampled_from(
        [
            b"[" * 5_000,
            b'{"a":' * 5_000,
            b'{"success": true}',
            b'{"error": {"code": ["x"]}, "data": {"ok": "yes"}}',
            b'{"result": 1e999999, "message": NaN}',
            b"\xff\xfe{",
            b"",
        ]
    ),
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    ).map(lambda doc: json.dumps(doc).encode()),
)


@SLOW_SETTINGS
@given(JSON_BODIES)
@example(body=b"[" * 5_000)  # json.loads: RecursionError, not ValueError
def test_a_json_login_api_answering_every_login_alike_never_has_an_accepted_one(
    body: bytes,
) -> None:
    page = b"<html><script>axios.post('/api/login', {u, p})</script></html>"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*([0-9]+)", head)
        if length:
            await reader.readexactly(int(length.group(1)))
        post = head.startswith(b"POST")
        answer = body if post else page
        ctype = b"application/json" if post else b"text/html"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
        )
        await writer.drain()

    async def login() -> None:
        async with serving("127.0.78.21", serve) as port:
            result = await login_http.try_logins(
                device("127.0.78.21"),
                Service("tcp", port, "http"),
                CREDENTIALS,
                pace=Pace(timeout=1.0),
            )
        assert_run_says_what_happened(result)
        # The control login got the same answer: whatever it means, it is no oracle.
        assert all(a.outcome is not Outcome.ACCEPTED for a in result.attempts)

    run(login())
