"""Device bytes never raise (issue 11 #10): a malformed `Location` and a garbage SSH
identification end in verdicts that say what the device did, never in `error` with a
Python message.

Hostile servers run on 127.0.77.x (port 0), one address per case.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import TYPE_CHECKING

import httpx
import pytest

from probes.registry import REGISTRY, all_checks
from scanner.credential_lists import load_catalog
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.fingerprint.ssh_ident import ident_problem
from scanner.http_location import (
    MALFORMED_LOCATION,
    MalformedLocation,
    describe_failure,
    resolve,
    set_aside,
)
from scanner.judging.profiles import load_profile
from scanner.model import Target, Verdict, bound_text, device_str, quoted
from scanner.net import Limits
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from scanner.model import Result

    Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

LOGIN_PAGE = (
    b"<html><title>Router</title><form method=post action=/login><input name=username>"
    b"<input type=password name=password></form></html>"
)
FAILED_PAGE = LOGIN_PAGE.replace(b"<form", b"<p>Login failed</p><form")
#: Python's and httpx's words for what went wrong: never in a reason about a device.
PYTHON_WORDS = ("Error", "Exception", "Traceback", "InvalidURL", "Invalid IPv6", "ValueError")


@contextlib.asynccontextmanager
async def serving(handler: Handler, address: str) -> AsyncIterator[int]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                await handler(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, address, 0)
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
        "  - {protocols: [http, ssh], pairs: [[admin, admin]], source: test list}\n"
    )
    profile = load_profile("base", all_checks())
    request = ScanRequest(
        targets=(Target(address, "hostile"),),
        scope=Scope.of([address]),
        ports=PortSet((port,), ()),
        profile=profile,
        limits=Limits(connect_timeout=2.0, read_timeout=3.0),
        registry=REGISTRY,
        credentials=load_catalog([site], builtin=False),
    )
    with Store(tmp_path / "scan.sqlite") as store:
        store.start_run(
            "r",
            profile_id=profile.id,
            profile_digest=profile.digest,
            scanner_version="test",
            request={},
            targets=[(address, "hostile")],
        )
        await asyncio.wait_for(scan(request, store, "r", Reporter()), 120)
        return {r.check_id: r for r in store.results("r")}


def assert_no_error_and_no_python(results: dict[str, Result]) -> None:
    assert results
    for result in results.values():
        assert result.verdict is not Verdict.ERROR, (result.check_id, result.reason)
        for word in PYTHON_WORDS:
            assert word not in result.reason, (result.check_id, result.reason)


# --- Location ------------------------------------------------------------------------------


async def _head(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    method, path, _ = [*head[:8192].decode("latin-1").split("\r\n")[0].split(" "), "", ""][:3]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = min(int(value.strip() or 0), 65536)
    return method, path, await reader.readexactly(length) if length else b""


def _answer(status: bytes, headers: list[bytes], body: bytes = b"") -> bytes:
    head = [b"HTTP/1.1 " + status, b"Content-Length: %d" % len(body), *headers]
    return b"\r\n".join([*head, b"Connection: close"]) + b"\r\n\r\n" + body


def redirecting_start(location: bytes) -> Handler:
    """`/` redirects to `location`; every other path shows a login form."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, path, _ = await _head(reader)
        if path == "/":
            writer.write(_answer(b"302 Found", [b"Location: " + location]))
        else:
            writer.write(_answer(b"200 OK", [b"Content-Type: text/html"], LOGIN_PAGE))
        await writer.drain()

    return handle


@pytest.mark.parametrize(
    ("location", "address", "says"),
    [
        (b"http:host/", "127.0.77.50", "a scheme without '//' and a host"),
        (b"http://[::1", "127.0.77.51", "a '[' host that is not a closed IPv6 address"),
        (b"http://a b/", "127.0.77.52", "a host name with characters no host name has"),
        (b"/" + b"a" * 20_000, "127.0.77.53", "20001 characters long"),
        (b"http://127.0.77.54:99999/", "127.0.77.54", "a port that is not a number"),
        (b"https:", "127.0.77.55", "a scheme without '//' and a host"),
        (b"//[", "127.0.77.56", "a '[' host that is not a closed IPv6 address"),
        # urljoin read this as the device's own address: followed, cleartext-admin passed
        (b"http://", "127.0.77.33", "an HTTP URL without a host"),
    ],
)
async def test_a_start_page_redirecting_to_a_malformed_location_is_said_so(
    location: bytes, address: str, says: str, tmp_path: Path
) -> None:
    async with serving(redirecting_start(location), address) as port:
        # Ground truth on the wire (httpx itself raises on some of these Locations).
        reader, writer = await asyncio.open_connection(address, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: device\r\n\r\n")
        head = await asyncio.wait_for(reader.read(65536), 5)
        writer.close()
        assert head.startswith(b"HTTP/1.1 302 Found\r\n")
        assert b"\r\nLocation: " + location[:50] in head
        results = await scan_device(address, port, tmp_path)
    assert_no_error_and_no_python(results)
    for check in ("services.cleartext-admin", "creds.default.http", "web.login.cleartext"):
        result = results[check]
        assert result.verdict is Verdict.INCONCLUSIVE, (check, result.reason)
        assert "redirected to a malformed location" in result.reason, result.reason
        assert says in result.reason, result.reason
        assert len(result.reason) < 1200  # the 20,000 characters are not quoted


@pytest.mark.parametrize(
    ("location", "address"),
    [(b"/a\x00b", "127.0.77.57"), (b"/" + b"a" * 200_000, "127.0.77.58")],
)
async def test_a_location_that_breaks_the_http_answer_itself_is_said_so(
    location: bytes, address: str, tmp_path: Path
) -> None:
    # A NUL in a header, or a header block of 200 KB: no HTTP client takes the answer.
    async with serving(redirecting_start(location), address) as port:
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(f"http://{address}:{port}/")
        results = await scan_device(address, port, tmp_path)
    assert_no_error_and_no_python(results)
    for check in ("services.cleartext-admin", "creds.default.http", "web.login.cleartext"):
        result = results[check]
        assert result.verdict is Verdict.INCONCLUSIVE, (check, result.reason)
        assert "its answer is not valid HTTP" in result.reason, result.reason


async def test_a_redirect_with_non_ascii_bytes_is_followed_as_browsers_do(
    tmp_path: Path,
) -> None:
    address = "127.0.77.59"
    async with serving(redirecting_start(b"/\xff\xfe\xe9caf\xc3"), address) as port:
        results = await scan_device(address, port, tmp_path)
    assert_no_error_and_no_python(results)
    cleartext = results["services.cleartext-admin"]
    assert cleartext.verdict is Verdict.FAIL, cleartext.reason
    assert "serves a login form" in cleartext.reason


def login_answering_with(location: bytes) -> Handler:
    """A login form at `/`; admin/admin is answered with a redirect to `location`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, _, body = await _head(reader)
        if method == "POST" and body == b"username=admin&password=admin":
            writer.write(_answer(b"302 Found", [b"Location: " + location]))
        elif method == "POST":
            writer.write(_answer(b"200 OK", [b"Content-Type: text/html"], FAILED_PAGE))
        else:
            writer.write(_answer(b"200 OK", [b"Content-Type: text/html"], LOGIN_PAGE))
        await writer.drain()

    return handle


async def test_a_login_answered_with_a_malformed_redirect_is_judged_not_raised(
    tmp_path: Path,
) -> None:
    address = "127.0.77.60"
    async with serving(login_answering_with(b"http://[::1"), address) as port:
        results = await scan_device(address, port, tmp_path)
    assert_no_error_and_no_python(results)
    creds = results["creds.default.http"]
    # The right login is the only answer that leaves the form (a redirect, even a broken
    # one), the control and wrong logins get "Login failed": the device accepted it.
    assert creds.verdict is Verdict.FAIL, creds.reason
    assert "admin/" in creds.reason


@pytest.mark.parametrize(
    "location",
    ["http:host/", "http://[::1", "http://a b/", "/" + "a" * 3000, "/a\x00b", "https:", "//["],
)
def test_resolve_names_what_is_wrong(location: str) -> None:
    with pytest.raises(MalformedLocation) as caught:
        resolve("http://10.0.0.1/", location)
    for word in PYTHON_WORDS:
        assert word not in str(caught.value)


@pytest.mark.parametrize(
    "location",
    ["http://", "HTTPS://", "//", "http:///x", "http://:80/", "http://user@/", "http://?q=1"],
)
def test_a_location_naming_no_host_is_malformed_never_the_base_host(location: str) -> None:
    # urljoin (and httpx) fill an empty authority in from the base: the redirect would be
    # followed to the device itself, and its 302 read as a page
    with pytest.raises(MalformedLocation) as caught:
        resolve("http://10.0.0.1/", location)
    assert str(caught.value) == "an HTTP URL without a host"


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/home", "http://10.0.0.1/home"),
        ("https://10.0.0.1/", "https://10.0.0.1/"),
        ("//10.0.0.1:8443/x", "http://10.0.0.1:8443/x"),
        ("../a?b=1", "http://10.0.0.1/a?b=1"),
        ("http://[::1]:80/", "http://[::1]:80/"),
    ],
)
def test_resolve_keeps_every_ordinary_location(location: str, target: str) -> None:
    assert resolve("http://10.0.0.1/", location) == target


def test_a_malformed_location_is_set_aside_without_its_query() -> None:
    headers = httpx.Headers({"Location": "http://[::1/x?pw=hunter2"})
    set_aside(httpx.URL("http://10.0.0.1/"), headers)
    assert "location" not in headers
    assert "hunter2" not in headers[MALFORMED_LOCATION]
    assert "http://[::1/x" in headers[MALFORMED_LOCATION]


def test_failures_are_described_without_library_messages() -> None:
    request = httpx.Request("GET", "http://10.0.0.1/")
    leak = httpx.RemoteProtocolError("illegal header value b'pw=hunter2\\x00'", request=request)
    assert "hunter2" not in describe_failure(leak)
    assert describe_failure(leak).startswith("its answer is not valid HTTP")
    assert describe_failure(httpx.ReadTimeout("t", request=request)) == "no answer in time"


# --- Bytes that are not UTF-8 -------------------------------------------------------------


def test_a_byte_that_is_not_utf8_reads_as_its_escape() -> None:
    # U+FFFD would hide which byte the device sent, and read unlike a control byte's escape
    assert bound_text(b"SSH-2.0-Dropbear\xff_2019") == "SSH-2.0-Dropbear\\xff_2019"
    assert bound_text(b"\x1b[0m\xff") == "\\x1b[0m\\xff"  # one form for both
    assert device_str(b"caf\xc3\xa9 \xe9") == "caf\u00e9 \\xe9"  # UTF-8 stays UTF-8


def test_device_text_quoted_in_a_sentence_keeps_its_escapes_single() -> None:
    banner = bound_text(b" \xff\xff\x7f\x00")
    assert f"banner {quoted(banner)}" == "banner '\\xff\\xff\\x7f\\x00'"
    assert "\\\\" not in quoted(banner)  # repr() gave '\\\\xff\\\\xff...'
    assert bound_text(quoted(banner)) == quoted(banner)  # bounding again: still once


# --- SSH identification -------------------------------------------------------------------


def _kexinit() -> bytes:
    """A well-formed first packet: KEXINIT offering one weak kex, so the audit has a
    finding to make when the identification line before it is garbage."""
    lists = [
        b"curve25519-sha256,diffie-hellman-group1-sha1",
        b"ssh-ed25519",
        b"aes128-ctr",
        b"aes128-ctr",
        b"hmac-sha2-256",
        b"hmac-sha2-256",
        b"none",
        b"none",
        b"",
        b"",
    ]
    named = b"".join(struct.pack(">I", len(x)) + x for x in lists)
    payload = bytes([20]) + b"\x11" * 16 + named + b"\x00" + b"\x00\x00\x00\x00"
    pad = 8 - (len(payload) + 5) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", len(payload) + pad + 1, pad) + payload + b"\x00" * pad


def ssh_device(ident: bytes) -> Handler:
    """Sends `ident` and a KEXINIT, reads what the client sends twice, then hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(ident + _kexinit())
        await writer.drain()
        for _ in range(2):
            if not await reader.read(4096):
                return

    return handle


async def _ssh_scan(ident: bytes, address: str, tmp_path: Path) -> dict[str, Result]:
    async with serving(ssh_device(ident), address) as port:
        # Ground truth on the wire: the bytes really are what the case says.
        reader, writer = await asyncio.open_connection(address, port)
        first = await asyncio.wait_for(reader.read(len(ident)), 5)
        writer.close()
        assert first == ident[: len(first)]
        assert first
        results = await scan_device(address, port, tmp_path)
    assert_no_error_and_no_python({k: v for k, v in results.items() if k != "ssh.password-auth"})
    for result in results.values():
        for word in PYTHON_WORDS:
            assert word not in result.reason, (result.check_id, result.reason)
    return results


async def test_an_ssh_ident_with_byte_0xff_is_said_so_and_the_offer_still_audited(
    tmp_path: Path,
) -> None:
    results = await _ssh_scan(b"SSH-2.0-Open\xffSSH_9.2\r\n", "127.0.77.70", tmp_path)
    creds = results["creds.default.ssh"]
    assert creds.verdict is Verdict.INCONCLUSIVE, creds.reason
    assert "not SSH a client can follow" in creds.reason
    assert "bytes outside US-ASCII" in creds.reason
    auth = results["ssh.password-auth"]
    assert auth.verdict is Verdict.INCONCLUSIVE, auth.reason
    assert "bytes outside US-ASCII" in auth.reason
    # Our own KEXINIT reader takes any bytes: the weak kex is still found.
    kex = results["ssh.kex"]
    assert kex.verdict is Verdict.FAIL, kex.reason
    assert "diffie-hellman-group1-sha1" in kex.reason


async def test_an_ssh_ident_with_no_line_end_for_300_bytes_is_not_ssh(tmp_path: Path) -> None:
    results = await _ssh_scan(b"SSH-2.0-" + b"x" * 300, "127.0.77.71", tmp_path)
    creds = results["creds.default.ssh"]
    assert creds.verdict is Verdict.INCONCLUSIVE, creds.reason
    assert "no line end within 255 bytes" in creds.reason
    for check in ("ssh.kex", "ssh.ciphers", "ssh.macs", "ssh.hostkey", "ssh.password-auth"):
        result = results[check]
        assert result.verdict is Verdict.INCONCLUSIVE, (check, result.reason)
        assert "not SSH a client can follow" in result.reason
        assert "bytes long (at most 253)" in result.reason
        assert "x" * 200 not in result.reason  # the garbage is not quoted whole


async def test_an_ssh_ident_with_no_version_is_not_ssh(tmp_path: Path) -> None:
    results = await _ssh_scan(b"SSH-\xff\xfe\r\n", "127.0.77.73", tmp_path)
    creds = results["creds.default.ssh"]
    assert creds.verdict is Verdict.INCONCLUSIVE, creds.reason
    assert "names no SSH version a client speaks" in creds.reason


async def test_an_ssh_ident_with_a_nul_byte_is_read_and_never_raises(tmp_path: Path) -> None:
    # asyncssh takes the NUL; this server then drops the key exchange: a dropped
    # connection, said as such (password-auth may be an error for it: it is our failure
    # to finish, not the device's bytes raising).
    results = await _ssh_scan(b"SSH-2.0-a\x00b\r\n", "127.0.77.72", tmp_path)
    assert results["ssh.kex"].verdict is Verdict.FAIL
    creds = results["creds.default.ssh"]
    assert creds.verdict is Verdict.INCONCLUSIVE, creds.reason
    assert "Connection lost" in creds.reason


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"SSH-2.0-Open\xffSSH\r\n", "outside US-ASCII"),
        (b"SSH-2.0-a\x00b\r\n", "control bytes"),
        (b"SSH-2.0-" + b"x" * 300, "308 bytes long"),
        (b"SSH-\r\n", "not SSH-version-software"),
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", ""),
    ],
)
def test_ident_problems_are_named(line: bytes, says: str) -> None:
    problem = ident_problem(line)
    assert (says in problem) if says else problem == ""
