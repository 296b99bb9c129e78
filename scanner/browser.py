"""One headless Chromium per scan, for pages whose login only a browser can show.

Driven by Playwright for Python, pointed at Debian's /usr/bin/chromium (never a browser of its
own): its `route` sees every request of a context, frames included, and can refuse it;
`route_web_socket` does the same for WebSockets; its locators reach into open shadow roots;
and its request events carry method, headers and body, which is what a login surface is made
of. Routing alone is not a scope guarantee (a redirect's target is followed without asking
it), so each page's context also reaches the network only through a `SocksGate` of its own
that connects to that one device and nothing else (see socks_gate.py).

Started the first time a probe asks for a page, closed when the scan ends. Without Chromium
(missing, failing to start, or disabled) the scan is told once and every later request for a
page raises `BrowserUnavailable` at once, so callers fall back to what needs no browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scanner.socks_gate import MAX_REFUSED, SocksGate

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from playwright.async_api import (
        Browser as PlaywrightBrowser,
    )
    from playwright.async_api import (
        Page,
        Playwright,
        Route,
        WebSocketRoute,
    )

    from scanner.pacing import Pacer
    from scanner.scope import Scope

DEFAULT_CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True, slots=True)
class BrowserOptions:
    """Bounds of the scan's browser; the CLI's --no-browser sets `enabled` false."""

    enabled: bool = True
    executable: str = DEFAULT_CHROMIUM
    page_timeout: float = 25.0  # one page, from opening to closing its context
    budget: float = 600.0  # all pages of one scan together
    max_pages: int = 2  # contexts open at once: each is a renderer process
    max_page_count: int = 512  # pages one scan may open
    max_bytes: int = 64 * 1024 * 1024  # what one page may download from its device
    js_heap_mb: int = 256  # V8 old-space limit per renderer
    launch_timeout: float = 30.0
    bind: str = "127.0.0.1"  # where the SOCKS gates listen (loopback)


class BrowserUnavailable(Exception):
    """No page can be had: Chromium is missing, disabled, failed, or its budget is spent."""


# Why each flag: no GPU and no sandbox in a headless container; QUIC would be UDP, which the
# SOCKS gate cannot carry; WebRTC may only use the proxy, never its own UDP; no background
# services, first-run, sync or autofill traffic; shared memory in /tmp, not a small /dev/shm;
# a V8 heap limit and a bounded number of renderers keep memory in check.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter",
)
# Chromium sends loopback addresses around a proxy unless told not to; a device is often on
# loopback in tests and must go through its gate like any other.
_BYPASS = "<-loopback>"
# A login needs no pictures, sounds or fonts, but apps wait for an image's load event (Node-RED
# opens its login dialog when its logo has loaded): images get a blank pixel without asking
# the device, media and fonts are refused.
_UNNEEDED = frozenset({"media", "font"})
_PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)


@dataclass(slots=True)
class BrowserPage:
    """One page in a context of its own, allowed to reach one device only."""

    page: Page
    address: str
    deadline: float  # time.monotonic() by which the page is closed
    refused: list[str] = field(default_factory=list)  # what scope refused, bounded
    gate: SocksGate | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def refusals(self) -> list[str]:
        """Everything refused on the way out: by interception and at the gate."""
        gate = self.gate.refused if self.gate else []
        return [*self.refused, *(g for g in gate if g not in self.refused)][:MAX_REFUSED]

    def allows(self, url: str) -> bool:
        """Whether `url` may be fetched: data and blob URLs, or the device itself."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        if parts.scheme in ("data", "blob", "about"):
            return True
        return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == self.address

    def note_refused(self, url: str) -> None:
        if len(self.refused) < MAX_REFUSED and url not in self.refused:
            self.refused.append(url[:200])


class Browser:
    """The scan's Chromium, started lazily; `page(address)` hands out one bounded page."""

    def __init__(
        self,
        scope: Scope,
        options: BrowserOptions | None = None,
        notice: Callable[[str], None] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.scope = scope
        self._pacer = pacer  # the scan's pace: each connection the page opens is a probe
        self.options = options or BrowserOptions()
        self._notice = notice or (lambda _msg: None)
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(self.options.max_pages)
        self._playwright: Playwright | None = None
        self._chromium: PlaywrightBrowser | None = None
        self._background: SocksGate | None = None
        self._unavailable = ""
        self.pages_opened = 0
        self.seconds_spent = 0.0

    @property
    def unavailable(self) -> str:
        """Why there is no browser ("" while there may be one)."""
        return self._unavailable

    @contextlib.asynccontextmanager
    async def page(self, address: str) -> AsyncIterator[BrowserPage]:
        """A fresh context and page that reach `address` only, closed on the way out.

        Error handling: `BrowserUnavailable` when there is no browser or its budget is
        spent; `TimeoutError` when the body outlives the page deadline; Playwright's errors
        from the body pass through.
        """
        self.scope.check(address, "browser page on")
        chromium = await self._started()
        async with self._slots:
            left = self.options.budget - self.seconds_spent
            if left <= 0 or self.pages_opened >= self.options.max_page_count:
                raise BrowserUnavailable(
                    f"the scan's browser budget is spent ({self.pages_opened} pages, "
                    f"{self.seconds_spent:.0f} s)"
                )
            self.pages_opened += 1
            t0 = time.monotonic()
            seconds = min(self.options.page_timeout, left)
            gate = SocksGate(
                lambda host, _port: host == address and self.scope.admits(host),
                bind=self.options.bind,
                max_bytes=self.options.max_bytes,
                idle=seconds,
                pace=self._pacer.wait if self._pacer is not None and self._pacer.active else None,
            )
            try:
                proxy = await gate.start()
                context = await chromium.new_context(
                    proxy={"server": proxy, "bypass": _BYPASS},
                    service_workers="block",  # a worker's fetches would bypass `route`
                    ignore_https_errors=True,  # device certificates are recorded, not trusted
                    accept_downloads=False,
                    viewport={"width": 1024, "height": 768},
                )
                try:
                    context.set_default_timeout(seconds * 1000)
                    page = BrowserPage(await context.new_page(), address, t0 + seconds, gate=gate)

                    async def route(r: Route) -> None:
                        url = r.request.url
                        if not page.allows(url):
                            page.note_refused(url)
                            await r.abort("blockedbyclient")
                        elif r.request.resource_type == "image":
                            await r.fulfill(status=200, content_type="image/gif", body=_PIXEL)
                        elif r.request.resource_type in _UNNEEDED:
                            await r.abort("aborted")
                        else:
                            await r.continue_()

                    async def websocket(ws: WebSocketRoute) -> None:
                        if page.allows(ws.url):
                            ws.connect_to_server()
                        else:
                            page.note_refused(ws.url)
                            await ws.close(code=1008, reason="outside the scan's scope")

                    await context.route("**/*", route)
                    await context.route_web_socket("**/*", websocket)
                    async with asyncio.timeout(seconds):
                        yield page
                finally:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(5.0):
                            await context.close()
            finally:
                await gate.aclose()
                self.seconds_spent += time.monotonic() - t0

    async def aclose(self) -> None:
        """Close Chromium and its driver; safe to call when nothing was started."""
        async with self._lock:
            chromium, self._chromium = self._chromium, None
            pw, self._playwright = self._playwright, None
            if not self._unavailable:
                self._unavailable = "closed"
        if chromium is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10.0):
                    await chromium.close()
        if pw is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10.0):
                    await pw.stop()
        if self._background is not None:
            await self._background.aclose()

    async def _started(self) -> PlaywrightBrowser:
        async with self._lock:
            if self._chromium is not None:
                return self._chromium
            if not self._unavailable:
                try:
                    self._chromium = await self._launch()
                    return self._chromium
                except BrowserUnavailable as exc:
                    self._unavailable = str(exc)
                self._notice(
                    f"Headless Chromium is not available ({self._unavailable}): login "
                    "surfaces of web applications are read from their scripts instead."
                )
            raise BrowserUnavailable(self._unavailable)

    async def _launch(self) -> PlaywrightBrowser:
        opts = self.options
        if not opts.enabled:
            raise BrowserUnavailable("disabled by --no-browser")
        if not os.access(opts.executable, os.X_OK):
            raise BrowserUnavailable(f"{opts.executable} not found (apt-get install chromium)")
        try:
            from playwright.async_api import async_playwright
        except ImportError as exc:
            raise BrowserUnavailable(f"Playwright is not installed ({exc})") from None
        # Chromium's own background traffic goes to a gate that admits nothing.
        self._background = SocksGate(lambda _h, _p: False, bind=opts.bind)
        try:
            proxy = await self._background.start()
            async with asyncio.timeout(opts.launch_timeout):
                self._playwright = await async_playwright().start()
                return await self._playwright.chromium.launch(
                    executable_path=opts.executable,
                    headless=True,
                    args=[
                        *_FLAGS,
                        f"--js-flags=--max-old-space-size={opts.js_heap_mb}",
                        f"--renderer-process-limit={opts.max_pages + 1}",
                    ],
                    proxy={"server": proxy, "bypass": _BYPASS},
                    timeout=opts.launch_timeout * 1000,
                )
        except Exception as exc:
            if self._playwright is not None:
                with contextlib.suppress(Exception):
                    await self._playwright.stop()
                self._playwright = None
            raise BrowserUnavailable(
                f"Chromium did not start: {type(exc).__name__}: {exc}"[:300]
            ) from None
