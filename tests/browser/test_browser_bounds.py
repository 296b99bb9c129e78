"""The browser's bounds: a page deadline, a budget for the whole scan, a download bound."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from probes._login.surface import find_login_surface
from scanner.browser import Browser, BrowserOptions, BrowserUnavailable
from scanner.model import Service
from scanner.net import Limits, Network
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scanner.socks_gate import SocksGate

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DEVICE = "127.0.71.40"
SCOPE = Scope.of([DEVICE])
HANG = 8.0  # the slow server's handler gives up by itself after this
BIG = 24 * 1024 * 1024


class _Slow(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/big"):
            self.send_response(200)
            self.send_header("Content-Type", "application/javascript")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            chunk = b"/" * 65536
            try:
                for _ in range(BIG // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the gate cut the download
            return
        # Everything else: scripts that never arrive, so the page never settles.
        if self.path == "/":
            body = (
                b'<!doctype html><script src="/never.js"></script><script src="/big.js"></script>'
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        time.sleep(HANG)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer((DEVICE, 0), _Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tight() -> AsyncIterator[Browser]:
    b = Browser(
        SCOPE,
        BrowserOptions(page_timeout=2.0, budget=3.0, max_bytes=1024 * 1024, bind=DEVICE),
    )
    # Launched before the clock starts: the deadlines below are the page's, and Chromium's
    # start-up on a loaded machine (the whole suite beside it) took more than their margins.
    await b._started()
    yield b
    await b.aclose()


async def _load_forever(net: Network, port: int, gates: list[SocksGate | None]) -> None:
    async with net.device(DEVICE).browser_page() as bp:
        gates.append(bp.gate)
        await bp.page.goto(f"http://{DEVICE}:{port}/", wait_until="load", timeout=60_000)


async def test_page_deadline_download_bound_and_scan_budget(tight: Browser, port: int):
    service = Service("tcp", port, "http")
    net = Network(SCOPE, Limits(connect_timeout=2.0, read_timeout=2.0), tight)

    # A page that never settles ends at its deadline; the finder falls back to the scripts
    # (which it reads with httpx: /never.js hangs past the read timeout, /big.js is bounded).
    t0 = time.monotonic()
    gates: list[SocksGate | None] = []
    with pytest.raises(TimeoutError):
        await _load_forever(net, port, gates)
    (gate,) = gates
    assert time.monotonic() - t0 < 2.0 + 1.5
    assert gate is not None
    assert gate.received <= 1024 * 1024 + 65536  # the 24 MiB script was cut at the bound
    assert any("more than" in r for r in gate.refused)

    # The scan's budget (3 s) has 1 s left: the next page gets that long, then none is had.
    t0 = time.monotonic()
    found = await find_login_surface(net.device(DEVICE), service)
    assert found.surface is None
    assert "no browser" in found.reason or "deadline" in found.reason
    assert time.monotonic() - t0 < 1.0 + 2.0 + 2.0  # page, then one script read timeout
    with pytest.raises(BrowserUnavailable, match="budget"):
        async with net.device(DEVICE).browser_page():
            pass
