"""Compressed pages are read (issue 11 #1): a device that serves every page gzip, deflate or
brotli encoded, whatever the request asked for (ESP-class firmware serving index.html.gz),
is judged on what its pages say; a decompression bomb stops at the body bound and reads
inconclusive, never pass.

The device is a small asyncio HTTP server on 127.0.77.x: a login form at `/` over plain
HTTP that accepts admin/admin by form POST, and a 404 page that echoes the missing path
raw. Ground truth is checked with a standard client (httpx decoding on its own) in the
same test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tracemalloc
import zlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from probes.default_credentials import DefaultHttpLogin
from probes.exposed_services import ExposedServices
from probes.registry import all_checks
from probes.web_login import WebLoginHygiene
from probes.web_reflection import WebReflection
from scanner.credential_lists import load_catalog
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.http_decoding import ACCEPT_ENCODING, BodyDecoder, decode_bytes
from scanner.http_exchange import MAX_BODY
from scanner.judging.profiles import load_profile
from scanner.model import Target, Verdict
from scanner.net import Limits
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from scanner.model import Result

LOGIN_PAGE = (
    b"<html><head><title>ESP Cam</title></head><body><h1>Camera setup</h1>"
    b'<form method="post" action="/login"><input name="username">'
    b'<input type="password" name="password"><input type="submit"></form></body></html>'
)
FAILED_PAGE = LOGIN_PAGE.replace(b"<h1>", b"<p>Login failed</p><h1>")
HOME_PAGE = b"<html><head><title>Home</title></head><body>Settings</body></html>"
BOMB_SIZE = 10 * 1024 * 1024


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODERS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("gzip", gzip.compress),
    "deflate-zlib": ("deflate", zlib.compress),
    "deflate-raw": ("deflate", _raw_deflate),
    "br": ("br", brotli.compress),
}


class Device:
    """A hostile-but-plausible device: every answer compressed with one coding."""

    def __init__(self, coding: str, encode: Callable[[bytes], bytes], bomb: bytes = b""):
        self.coding = coding
        self.encode = encode
        self.bomb = bomb  # when set, every 200 page is this (already encoded) blob
        self.logins: list[tuple[str, str]] = []
        self.accept_encodings: list[str] = []

    def answer(self, method: str, path: str, body: bytes) -> tuple[str, list[str], bytes]:
        if self.bomb:
            return "200 OK", ["Content-Type: text/html"], self.bomb
        if method == "POST" and path == "/login":
            form = parse_qs(body.decode("latin-1"))
            login = (form.get("username", [""])[0], form.get("password", [""])[0])
            self.logins.append(login)
            if login == ("admin", "admin"):
                return "302 Found", ["Location: /home", "Set-Cookie: sid=s3ss10n; Path=/"], b""
            return "200 OK", ["Content-Type: text/html"], self.encode(FAILED_PAGE)
        if path in ("/", "/index.html"):
            return "200 OK", ["Content-Type: text/html"], self.encode(LOGIN_PAGE)
        if path == "/home":
            return "200 OK", ["Content-Type: text/html"], self.encode(HOME_PAGE)
        # The classic embedded 404: the missing path echoed into HTML, unescaped.
        page = b"<html><body>Not found: " + unquote(path).encode() + b"</body></html>"
        return "404 Not Found", ["Content-Type: text/html"], self.encode(page)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head[:8192].decode("latin-1").split("\r\n")
                method, path, version = ([*lines[0].split(" "), "", ""])[:3]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:])
                }
                if version == "HTTP/1.1":  # not the HTTP/1.0 probe that names the protocol
                    self.accept_encodings.append(headers.get("accept-encoding", ""))
                length = min(int(headers.get("content-length", "0") or 0), 65536)
                body = await reader.readexactly(length) if length else b""
                status, extra, payload = self.answer(method, path, body)
                out = [f"HTTP/1.1 {status}", f"Content-Length: {len(payload)}", *extra]
                if payload:  # a compressed page whatever the request asked for
                    out.append(f"Content-Encoding: {self.coding}")
                out.append("Connection: close")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(device: Device, address: str) -> AsyncIterator[int]:
    server = await asyncio.start_server(device.handle, address, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


async def scan_device(address: str, port: int, tmp_path: Path) -> dict[str, Result]:
    site = tmp_path / "site.yaml"
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        "  - {protocols: [http], pairs: [[root, 'Xw-71-wrong'], [admin, admin]], "
        "source: test list}\n"
    )
    profile = load_profile("base", all_checks())
    request = ScanRequest(
        targets=(Target(address, "esp"),),
        scope=Scope.of([address]),
        ports=PortSet((port,), ()),
        profile=profile,
        limits=Limits(connect_timeout=2.0, read_timeout=5.0),
        registry=(ExposedServices, DefaultHttpLogin, WebLoginHygiene, WebReflection),
        credentials=load_catalog([site], builtin=False),
    )
    with Store(tmp_path / "scan.sqlite") as store:
        store.start_run(
            "r",
            profile_id=profile.id,
            profile_digest=profile.digest,
            scanner_version="test",
            request={},
            targets=[(address, "esp")],
        )
        await asyncio.wait_for(scan(request, store, "r", Reporter()), 120)
        return {r.check_id: r for r in store.results("r")}


async def _ground_truth(port: int, address: str) -> None:
    """httpx, decoding by itself, sees the login form, the 404 echo and the login."""
    async with httpx.AsyncClient(base_url=f"http://{address}:{port}") as client:
        page = await client.get("/")
        assert b'type="password"' in page.content
        missing = await client.get("/<b>x</b>")
        assert b"<b>x</b>" in missing.content
        login = await client.post("/login", data={"username": "admin", "password": "admin"})
        assert login.status_code == 302


@pytest.mark.parametrize(
    ("variant", "address"),
    [
        ("gzip", "127.0.77.10"),
        ("deflate-zlib", "127.0.77.11"),
        ("deflate-raw", "127.0.77.12"),
        ("br", "127.0.77.13"),
    ],
)
async def test_a_device_that_compresses_every_page_is_judged_on_what_they_say(
    variant: str, address: str, tmp_path: Path
) -> None:
    coding, encode = ENCODERS[variant]
    device = Device(coding, encode)
    async with serving(device, address) as port:
        await _ground_truth(port, address)
        device.logins.clear()
        device.accept_encodings.clear()
        results = await scan_device(address, port, tmp_path)

    cleartext = results["services.cleartext-admin"]
    assert cleartext.verdict is Verdict.FAIL, cleartext.reason
    assert "serves a login form" in cleartext.reason
    creds = results["creds.default.http"]
    assert creds.verdict is Verdict.FAIL, creds.reason
    assert "admin/" in creds.reason
    assert ("admin", "admin") in device.logins  # the device really saw the login
    xss = results["web.xss.reflected"]
    assert xss.verdict is Verdict.FAIL, xss.reason
    assert "(path)" in xss.reason
    transport = results["web.login.cleartext"]
    assert transport.verdict is Verdict.FAIL, transport.reason
    # Every page request said what it can decode, and only that (the protocol probe reads
    # headers only and asks for identity).
    assert device.accept_encodings
    assert set(device.accept_encodings) == {ACCEPT_ENCODING}


def _gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)


def _br_bomb() -> bytes:
    packed: bytes = brotli.compress(b"\0" * BOMB_SIZE)
    return packed


@pytest.mark.parametrize(
    ("coding", "make", "address"),
    [("gzip", _gzip_bomb, "127.0.77.20"), ("br", _br_bomb, "127.0.77.21")],
)
async def test_a_decompression_bomb_stops_at_the_bound_and_is_never_a_pass(
    coding: str, make: Callable[[], bytes], address: str, tmp_path: Path
) -> None:
    bomb = make()
    assert len(bomb) < 20 * 1024  # 10 MiB of zeros in a few KiB
    device = Device(coding, lambda page: page, bomb=bomb)
    async with serving(device, address) as port:
        tracemalloc.start()
        try:
            results = await scan_device(address, port, tmp_path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    # Memory stays near the body bound (a few pages held at once), far below the 10 MiB
    # a full decode would take.
    assert peak < 8 * 1024 * 1024, peak
    for check in (
        "services.cleartext-admin",
        "creds.default.http",
        "web.xss.reflected",
        "web.login.cleartext",
        "web.https-redirect",
        "web.secrets-in-url",
    ):
        result = results[check]
        assert result.verdict is Verdict.INCONCLUSIVE, (check, result.verdict, result.reason)
        assert "could not be read whole" in result.reason, result.reason
        assert f"{coding}-decoded and was cut there" in result.reason, result.reason
    # Whatever reads a page never passes on a cut one (the open port itself is allowed).
    passed = [(c, r.reason) for c, r in results.items() if r.verdict is Verdict.PASS]
    assert [c for c, _ in passed] == ["services.unexpected"], passed
    assert device.logins == []  # nothing to log in to was ever seen


# --- the decoder itself ---------------------------------------------------------------------


PAGE = b"<html><form><input type=password name=p></form></html>" * 50


@pytest.mark.parametrize("variant", sorted(ENCODERS))
def test_every_coding_decodes_whole_and_byte_by_byte(variant: str) -> None:
    coding, encode = ENCODERS[variant]
    raw = encode(PAGE)
    whole = decode_bytes(raw, coding, MAX_BODY)
    assert (whole.data, whole.incomplete) == (PAGE, "")
    decoder = BodyDecoder(coding, MAX_BODY)
    for i in range(len(raw)):
        assert not decoder.feed(raw[i : i + 1])
    assert decoder.body().data == PAGE
    assert decoder.body().whole


def test_stacked_codings_are_undone_last_first() -> None:
    raw = brotli.compress(gzip.compress(PAGE))
    assert decode_bytes(raw, "gzip, br", MAX_BODY).data == PAGE


@pytest.mark.parametrize(
    ("raw", "coding", "says"),
    [
        (b"<html>plain</html>", "gzip", "corrupt after 0 bytes"),
        (gzip.compress(PAGE)[:40], "gzip", "ended early"),
        (b"x", "zstd", "'zstd' is not one this scanner decodes"),
        (gzip.compress(b"a" * 2000), "gzip", "goes on past 1000 bytes"),
        (b"a" * 2000, "", "goes on past 1000 bytes and was cut"),
    ],
)
def test_what_cannot_be_read_whole_says_why(raw: bytes, coding: str, says: str) -> None:
    body = decode_bytes(raw, coding, 1000)
    assert not body.whole
    assert says in body.incomplete
    assert len(body.data) <= 1000


@pytest.mark.parametrize("coding", ["", "identity", "utf-8", "text/html", "none"])
def test_no_coding_or_a_nonsense_one_reads_the_bytes_as_they_are(coding: str) -> None:
    # Devices send `Content-Encoding: utf-8`; browsers ignore such tokens, and so do we.
    assert decode_bytes(PAGE, coding, MAX_BODY).data == PAGE


def test_an_empty_compressed_answer_is_whole() -> None:
    # A redirect with Content-Encoding: gzip and no body is common and not a corrupt stream.
    assert decode_bytes(b"", "gzip", MAX_BODY).whole


def test_a_bomb_fed_in_network_chunks_keeps_only_the_bound() -> None:
    bomb = _gzip_bomb()
    decoder = BodyDecoder("gzip", MAX_BODY)
    stopped = False
    for i in range(0, len(bomb), 1024):
        if decoder.feed(bomb[i : i + 1024]):
            stopped = True
            break
    assert stopped
    body = decoder.body()
    assert len(body.data) == MAX_BODY
    assert "cut" in body.incomplete


def test_compressed_input_that_yields_nothing_is_bounded_too() -> None:
    # Empty stored deflate blocks: bytes in, nothing out, forever.
    empty_block = b"\x00\x00\x00\xff\xff"
    decoder = BodyDecoder("deflate", 4096)
    fed = 0
    while not decoder.feed(empty_block) and fed < 10_000:
        fed += 1
    assert fed < 10_000
    assert "cut" in decoder.body().incomplete
