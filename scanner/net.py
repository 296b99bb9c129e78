"""The only way a probe or fingerprint reaches a device.

Every connection holds a permit from the device's budget (small devices fall over when
hammered) and from the global one; every connection is checked against scope; every wait
has a deadline and every read a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import asyncssh
import httpx

from scanner import traffic_log
from scanner.browser import BrowserUnavailable
from scanner.errors import ConfigError, ScopeError
from scanner.http_decoding import ACCEPT_ENCODING
from scanner.http_location import set_aside
from scanner.pacing import Pacer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from scanner.browser import Browser, BrowserPage
    from scanner.model import Service
    from scanner.scope import Scope

T = TypeVar("T")

#: How long a polite SSH close may take before the connection is left to the transport.
SSH_CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Concurrency and time budgets; the CLI can change each."""

    global_connections: int = 256
    per_device: int = 2  # design: small devices fall over, so start low
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    max_read: int = 64 * 1024  # the most any single read may return
    # --max-rate: probes (connections, datagrams, HTTP requests) a second over the whole
    # scan, None for no cap; --scan-delay: the shortest gap between two probes to one
    # device. Enforced by the scan's one Pacer (scanner/pacing.py).
    max_rate: float | None = None
    scan_delay: float = 0.0

    @property
    def http_head_deadline(self) -> float:
        """The longest an HTTP answer's status line and headers may take to arrive whole."""
        return self.connect_timeout + 4 * self.read_timeout

    def __post_init__(self) -> None:
        # A zero-sized semaphore waits forever and a NaN timeout never fires: refuse both
        # here too, for limits that come from a stored run rather than from argparse.
        if self.global_connections < 1 or self.per_device < 1:
            raise ConfigError("connection limits must be at least 1")
        Pacer(self.max_rate, self.scan_delay)  # refuses a rate or delay that is no number
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number of seconds, not {value}")


class ReadLimitExceeded(Exception):
    """The device sent more than the bound without the expected delimiter."""


class BoundedStream:
    """A TCP (or TLS) stream whose every read has a size bound and a deadline.

    Error handling: timeouts raise `TimeoutError`; a bound exceeded raises
    `ReadLimitExceeded`; resets raise `ConnectionError`. EOF is `b""`.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: Limits,
        peer: tuple[str, int] = ("", 0),
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._limits = limits
        self._peer = peer  # (address, port), for the traffic log

    def _got(self, data: bytes) -> bytes:
        traffic_log.received("tcp", *self._peer, data)
        return data

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        obj = self._writer.get_extra_info("ssl_object")
        return obj if isinstance(obj, ssl.SSLObject) else None

    async def read_some(self, limit: int | None = None, timeout: float | None = None) -> bytes:
        """Whatever arrives first, at most `limit` bytes."""
        n = min(limit or self._limits.max_read, self._limits.max_read)
        async with asyncio.timeout(timeout or self._limits.read_timeout):
            return self._got(await self._reader.read(n))

    async def read_until(
        self, separator: bytes, limit: int | None = None, timeout: float | None = None
    ) -> bytes:
        """Bytes up to and including `separator`; at EOF whatever came.

        Whatever arrived after the separator stays buffered for the next read. A device that
        floods without the separator costs at most the stream's limit (`max_read`) of memory.
        """
        bound = min(limit or self._limits.max_read, self._limits.max_read)
        async with asyncio.timeout(timeout or self._limits.read_timeout):
            try:
                data = self._got(await self._reader.readuntil(separator))
            except asyncio.IncompleteReadError as exc:
                return self._got(exc.partial)  # EOF before the separator
            except asyncio.LimitOverrunError:
                raise ReadLimitExceeded(
                    f"more than {self._limits.max_read} bytes without {separator!r}"
                ) from None
        if len(data) > bound:
            raise ReadLimitExceeded(f"more than {bound} bytes without {separator!r}")
        return data

    async def read_for(self, seconds: float, limit: int | None = None) -> bytes:
        """Everything that arrives within `seconds` (or until EOF or the bound)."""
        bound = min(limit or self._limits.max_read, self._limits.max_read)
        buf = bytearray()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while len(buf) < bound:
                    chunk = await self._reader.read(bound - len(buf))
                    if not chunk:
                        break
                    buf += chunk
        return self._got(bytes(buf))

    async def write(self, data: bytes) -> None:
        traffic_log.sent("tcp", *self._peer, data)
        self._writer.write(data)
        async with asyncio.timeout(self._limits.read_timeout):
            await self._writer.drain()

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade the connection to TLS in place (FTP's AUTH TLS, STARTTLS): bounded by
        the read timeout; `ssl.SSLError` when the handshake fails."""
        async with asyncio.timeout(self._limits.read_timeout):
            await self._writer.start_tls(context)

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


def lenient_tls_context() -> ssl.SSLContext:
    """A client context that completes a handshake with whatever the device offers.

    A scanner records certificates rather than trusting them: verification is the job of the
    TLS checks, which report what they saw.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # recorded, not trusted (see docstring)
    with contextlib.suppress(ssl.SSLError):
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return ctx


class _PermitTransport(httpx.AsyncBaseTransport):
    """httpx transport that takes a device permit per request and checks scope."""

    def __init__(self, net: DeviceNetwork, inner: httpx.AsyncBaseTransport) -> None:
        self._net = net
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self._net.scope.check(host, "HTTP request to")
        if host != self._net.address:
            # Redirects or links to another host are not followed, even inside scope.
            raise ScopeError(f"HTTP request to {host} leaves device {self._net.address}")
        # httpx's read timeout is per read: a device that trickles a byte every 2 s would
        # hold one request for hours. The head of the answer has a whole deadline too.
        whole = self._net.limits.http_head_deadline
        async with self._net.permit():
            await self._net.paced()
            port = request.url.port or (443 if request.url.scheme == "https" else 80)
            traffic_log.opened(
                "http", host, port, f"{request.method} {request.url.raw_path.decode('latin-1')}"
            )
            traffic_log.sent("http", host, port, _head(request))
            try:
                async with asyncio.timeout(whole):
                    response = await self._inner.handle_async_request(request)
            except TimeoutError:
                raise httpx.ReadTimeout(
                    f"the answer's head did not arrive whole within {whole:g} s", request=request
                ) from None
            traffic_log.received("http", host, port, _response_head(response))
        # A Location that points nowhere would make httpx raise while it builds the
        # redirect request it never sends: moved aside, with what the device sent.
        set_aside(request.url, response.headers)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _head(request: httpx.Request) -> bytes:
    """The request as the log shows it: its line, headers and (when already whole) body."""
    lines = [f"{request.method} {request.url.raw_path.decode('latin-1')} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    body = request.content if isinstance(request.stream, httpx.ByteStream) else b""
    return "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n\r\n" + body


def _response_head(response: httpx.Response) -> bytes:
    lines = [f"HTTP {response.status_code}"]
    lines += [f"{k}: {v}" for k, v in response.headers.items()]
    return "\r\n".join(lines).encode("latin-1", "replace")


class Network:
    """Shared limits for a scan; hands out one `DeviceNetwork` per target."""

    def __init__(
        self,
        scope: Scope,
        limits: Limits | None = None,
        browser: Browser | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.scope = scope
        self.limits = limits or Limits()
        self._global = asyncio.Semaphore(self.limits.global_connections)
        self.browser = browser  # the scan's headless Chromium, started on first use
        # the scan's one pace, shared with discovery when the engine hands it in
        self.pacer = pacer or Pacer(self.limits.max_rate, self.limits.scan_delay)

    def device(
        self, address: str, http_transport: httpx.AsyncBaseTransport | None = None
    ) -> DeviceNetwork:
        self.scope.check(address)
        return DeviceNetwork(self, address, http_transport)

    @property
    def global_permits(self) -> asyncio.Semaphore:
        return self._global


class DeviceNetwork:
    """Connections to one device. Each connection holds one of its permits."""

    def __init__(
        self,
        network: Network,
        address: str,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._network = network
        self.address = address
        self.limits = network.limits
        self.scope = network.scope
        self._device = asyncio.Semaphore(network.limits.per_device)
        self._http_transport = http_transport  # tests hand in httpx.MockTransport
        self._browser = network.browser

    @contextlib.asynccontextmanager
    async def permit(self) -> AsyncIterator[None]:
        async with self._network.global_permits, self._device:
            yield

    async def paced(self) -> None:
        """Wait for this device's next probe slot (--max-rate, --scan-delay): called with
        the permit held, right before the packet leaves, so that no other probe can take
        the moment between the slot and the send."""
        await self._network.pacer.wait(self.address)

    @contextlib.asynccontextmanager
    async def tcp(
        self, port: int, *, tls: ssl.SSLContext | None = None, server_hostname: str | None = None
    ) -> AsyncIterator[BoundedStream]:
        """A bounded stream to `port`, optionally wrapped in TLS.

        Resource handling: holds a device permit until the block exits; always closed.
        Error handling: `TimeoutError` when connect (or the TLS handshake) exceeds the
        connect timeout; `OSError` for refusals and resets; `ssl.SSLError` for TLS failures.
        """
        self.scope.check(self.address, "connection to")
        async with self.permit():
            stream = await self._open(port, tls, server_hostname)
            try:
                yield stream
            finally:
                await stream.aclose()

    async def idle_tcp(
        self, port: int, *, tls: ssl.SSLContext | None = None, server_hostname: str | None = None
    ) -> BoundedStream:
        """A bounded stream to `port` that holds a device permit only while it is made.

        For sessions held open idle for minutes (session expiry, MQTT keep-alive): an idle
        session costs the device nothing, and the waits of other probes must not queue
        behind it. Resource handling: the caller closes it (`aclose`). Errors as `tcp()`.
        """
        self.scope.check(self.address, "connection to")
        async with self.permit():
            return await self._open(port, tls, server_hostname)

    async def _open(
        self, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
    ) -> BoundedStream:
        await self.paced()
        async with asyncio.timeout(self.limits.connect_timeout):
            reader, writer = await asyncio.open_connection(
                self.address,
                port,
                ssl=tls,
                server_hostname=(server_hostname or "") if tls else None,
                limit=self.limits.max_read,
            )
        traffic_log.opened("tls" if tls else "tcp", self.address, port, "connected")
        return BoundedStream(reader, writer, self.limits, (self.address, port))

    async def ssh_connection(
        self, port: int, *, timeout: float | None = None, **options: Any
    ) -> asyncssh.SSHClientConnection:
        """An SSH connection to `port` (`asyncssh.connect` with `options`), logged in.

        Resource handling: a device permit is held only while it is made (key exchange and
        authentication included), never while it stays open; the caller closes it.
        Error handling: `ScopeError` before any packet when the device is out of scope;
        `TimeoutError` past `timeout` (default: the connect timeout); asyncssh's errors
        (`PermissionDenied`, `DisconnectError`, ...) and `OSError` as asyncssh raises them.
        """
        self.scope.check(self.address, "SSH connection to")
        async with self.permit():
            await self.paced()
            user = options.get("username")
            login = f"login {user}" if isinstance(user, str) else "login"
            if options.get("password") is not None:
                login += " with a password"  # never the password
            traffic_log.opened("ssh", self.address, port, login, ours=False)
            async with asyncio.timeout(timeout or self.limits.connect_timeout):
                return await asyncssh.connect(self.address, port, **options)

    @contextlib.asynccontextmanager
    async def ssh(
        self, port: int, *, timeout: float | None = None, **options: Any
    ) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """`ssh_connection()` closed when the block exits (politely, within
        `SSH_CLOSE_TIMEOUT`)."""
        conn = await self.ssh_connection(port, timeout=timeout, **options)
        try:
            yield conn
        finally:
            await close_ssh(conn)

    async def ssh_host_key(
        self, port: int, *, timeout: float | None = None, **options: Any
    ) -> asyncssh.SSHKey | None:
        """The server's host key (`asyncssh.get_server_host_key` with `options`): scope
        checked first, a device permit held throughout, bounded by `timeout` (default: the
        connect timeout)."""
        self.scope.check(self.address, "SSH connection to")
        async with self.permit():
            await self.paced()
            traffic_log.opened("ssh", self.address, port, "host key")
            async with asyncio.timeout(timeout or self.limits.connect_timeout):
                return await asyncssh.get_server_host_key(self.address, port, **options)

    async def udp_exchange(
        self, port: int, payload: bytes, *, timeout: float | None = None, limit: int = 65535
    ) -> bytes | None:
        """Send one datagram and return the first reply from that port, or None on timeout."""
        self.scope.check(self.address, "datagram to")
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[bytes] = loop.create_future()
        address = self.address
        target_port = port

        class _Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                if addr[0] == address and addr[1] == target_port and not reply.done():
                    reply.set_result(data[:limit])

            def error_received(self, exc: Exception) -> None:
                if not reply.done():
                    reply.set_exception(exc)

        async with self.permit():
            await self.paced()
            transport, _ = await loop.create_datagram_endpoint(
                _Proto, remote_addr=(self.address, port)
            )
            try:
                traffic_log.opened("udp", self.address, port, "datagram")
                traffic_log.sent("udp", self.address, port, payload)
                transport.sendto(payload)
                async with asyncio.timeout(timeout or self.limits.read_timeout):
                    answer = await reply
                traffic_log.received("udp", self.address, port, answer)
                return answer
            except (TimeoutError, ConnectionRefusedError):
                return None
            finally:
                transport.close()

    def http(self, service: Service, *, timeout: float | None = None) -> httpx.AsyncClient:
        """A client for one HTTP(S) service on this device: no redirects followed, scope
        checked on every request, certificates recorded rather than trusted."""
        scheme = "https" if service.tls or service.protocol == "https" else "http"
        host = f"[{self.address}]" if ":" in self.address else self.address
        inner = self._http_transport or httpx.AsyncHTTPTransport(
            verify=lenient_tls_context(), retries=0
        )
        t = timeout or self.limits.read_timeout
        return httpx.AsyncClient(
            base_url=f"{scheme}://{host}:{service.port}",
            transport=_PermitTransport(self, inner),
            follow_redirects=False,
            timeout=httpx.Timeout(t, connect=self.limits.connect_timeout),
            # Only codings scanner.http_decoding reads within its bound (bodies are read with
            # read_body, never with httpx's unbounded decoders).
            headers={"User-Agent": "shinsa", "Accept-Encoding": ACCEPT_ENCODING},
        )

    def browser_page(self) -> AbstractAsyncContextManager[BrowserPage]:
        """A headless-Chromium page that may reach this device only (see scanner/browser.py).

        Error handling: `BrowserUnavailable` when the scan has no browser.
        """
        if self._browser is None:
            raise BrowserUnavailable("this scan has no browser")
        return self._browser.page(self.address)

    async def in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """Blocking libraries (paramiko, scapy) run off the loop but still inside a permit
        (and paced as one probe: such a call opens one connection)."""
        async with self.permit():
            await self.paced()
            traffic_log.opened("call", self.address, 0, getattr(fn, "__name__", "blocking call"))
            return await asyncio.to_thread(fn, *args)


async def close_ssh(conn: asyncssh.SSHClientConnection) -> None:
    """Close an SSH connection and wait for it at most `SSH_CLOSE_TIMEOUT`."""
    conn.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(SSH_CLOSE_TIMEOUT):
            await conn.wait_closed()
