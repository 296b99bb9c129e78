"""TCP connect scan: which ports accept a connection, fast and with few resources.

asyncio's `open_connection` costs a task, a transport and several callbacks per probe
(~3,000 probes/s here); this module instead drives plain non-blocking sockets with
`select.epoll` in one worker thread, and the event loop stays free for the rest of the
scan (progress, UDP). Where the answer comes back inside connect() itself (loopback, a
fast local segment), a second connect() reads it at once and a refused socket is reused:
a closed port then costs two system calls, which is what lets one Python thread keep up
with nmap. Slower answers go to epoll, with a deadline per socket.

A port is *open* when the three-way handshake completes, *closed* on ECONNREFUSED, and
*filtered* when nothing answers before the per-socket deadline. Only open ports are
reported, and each one only after a second connection confirms it.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import resource
import select
import selectors
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.pacing import UNPACED, Pacer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

#: Errors of socket() that mean "too many descriptors": shrink the window and retry.
_FD_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: Errors of connect() that are about us (no free local port), not about the target.
_LOCAL_EXHAUSTED = frozenset({errno.EADDRNOTAVAIL, errno.EAGAIN})
#: SO_ERROR values that prove the handshake completed before the peer dropped it: a reset
#: in SYN-SENT is reported as ECONNREFUSED, so a reset here means the port was open.
_CONNECTED = frozenset({0, errno.EISCONN, errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
#: A non-blocking TCP connect() still under way. (EAGAIN is not one of them: from a TCP
#: connect() it means no free local port, see _LOCAL_EXHAUSTED.)
_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EALREADY})
#: What a socket kept after ECONNREFUSED may answer to its next connect().
_REUSE_OUTCOMES = frozenset({errno.EINPROGRESS, errno.ECONNREFUSED})

#: Descriptors kept free for the rest of the process (logs, store, UDP sockets).
_FD_RESERVE = 64
#: How often a probe may be put back after local resource exhaustion before it is dropped.
_MAX_REQUEUE = 20
#: Longest single wait in the poll loop, so cancellation is noticed promptly.
_POLL_SLICE = 0.05
#: A close that sends RST instead of FIN: no TIME_WAIT on our side, no half-open state
#: left on a small device that accepted us.
_LINGER_RESET = struct.pack("ii", 1, 0)
_STREAM = socket.SOCK_STREAM | socket.SOCK_NONBLOCK


@dataclass(slots=True)
class _Host:
    """Per-address work: ports still to try, in-flight count, open ports found."""

    address: str
    family: int
    sockaddr: tuple[object, ...]  # (host, port[, flowinfo, scope_id]) with port 0
    ports: Sequence[int]
    cursor: int = 0
    retry: list[int] = field(default_factory=list)
    requeued: dict[int, int] = field(default_factory=dict)
    in_flight: int = 0
    queued: bool = False  # present in the ready queue
    found: list[int] = field(default_factory=list)

    def has_work(self) -> bool:
        return bool(self.retry) or self.cursor < len(self.ports)

    def take(self) -> int:
        if self.retry:
            return self.retry.pop()
        port = self.ports[self.cursor]
        self.cursor += 1
        return port


@dataclass(slots=True)
class _Probe:
    sock: socket.socket
    host: _Host
    port: int
    deadline: float
    done: bool = False


def _sockaddr(address: str) -> tuple[int, tuple[object, ...]]:
    """Family and socket address of a literal IP (IPv6 scope `%lo` allowed); no DNS."""
    try:
        ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError as exc:
        raise ValueError(f"not an IP address: {address!r}") from exc
    info = socket.getaddrinfo(
        address, 0, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    )
    family, _, _, _, sockaddr = info[0]
    return int(family), tuple(sockaddr)


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # a container may refuse; the scan then adapts to the old limit
    return soft


class _Poller:
    """epoll where Linux has it, any selector elsewhere; only writability matters."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._selector: selectors.BaseSelector | None = None
        if hasattr(select, "epoll"):
            self._epoll = select.epoll()
        else:  # pragma: no cover - non-Linux
            self._selector = selectors.DefaultSelector()

    def register(self, fd: int) -> None:
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP)
        elif self._selector is not None:  # pragma: no cover - non-Linux
            self._selector.register(fd, selectors.EVENT_WRITE)

    def unregister(self, fd: int) -> None:
        # epoll forgets a descriptor when it is closed; a selector keeps its own table.
        if self._selector is not None:  # pragma: no cover - non-Linux
            self._selector.unregister(fd)

    def poll(self, timeout: float, max_events: int) -> list[int]:
        if self._epoll is not None:
            return [fd for fd, _ in self._epoll.poll(timeout, max_events)]
        if self._selector is None:  # pragma: no cover - closed
            return []
        return [int(key.fd) for key, _ in self._selector.select(timeout)]  # pragma: no cover

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
        if self._selector is not None:  # pragma: no cover - non-Linux
            self._selector.close()


def _run_pass(
    hosts: Sequence[_Host],
    *,
    timeout: float,
    max_in_flight: int,
    per_host: int,
    stop: threading.Event,
    progress: Callable[[int], None] | None,
    pacer: Pacer = UNPACED,
) -> None:
    """Probe every (host, port) once; open ports land in `host.found`.

    The loop is bounded: each iteration either starts probes, finishes probes, or expires
    them, and every probe expires at its deadline at the latest. A paced scan (`pacer`)
    starts a probe only in a free slot, and meanwhile polls those in flight.
    """
    limit = max(1, max_in_flight)
    ready: deque[_Host] = deque()
    for host in hosts:
        if host.has_work():
            host.queued = True
            ready.append(host)
    in_flight: dict[int, _Probe] = {}
    # Deadlines grow with start time, so the oldest probe is always at the left end.
    by_age: deque[_Probe] = deque()
    poller = _Poller()
    spare: dict[int, socket.socket] = {}  # per family, a socket free to connect again
    finished = 0
    last_report = time.monotonic()

    def finish(probe: _Probe, fd: int, is_open: bool) -> None:
        nonlocal finished
        probe.done = True
        host = probe.host
        host.in_flight -= 1
        if is_open:
            host.found.append(probe.port)
            # RST on close: the device frees its socket at once and we keep no TIME_WAIT.
            probe.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        poller.unregister(fd)
        probe.sock.close()
        if not host.queued and host.has_work():
            host.queued = True
            ready.append(host)
        finished += 1

    def requeue(host: _Host, port: int) -> bool:
        """Put a probe back after a local shortage; False once it was retried too often."""
        count = host.requeued.get(port, 0) + 1
        host.requeued[port] = count
        if count > _MAX_REQUEUE:
            return False
        host.retry.append(port)
        return True

    try:
        while (ready or in_flight) and not stop.is_set():
            # 1. Start probes up to the window, round-robin across hosts under their limit.
            starved = False
            pause = math.inf  # paced: the seconds until the soonest slot a host waits for
            deferrals = len(ready)  # paced: each host waiting for its slot is passed once
            while ready and len(in_flight) < limit and not starved:
                host = ready.popleft()
                host.queued = False
                if host.in_flight >= per_host or not host.has_work():
                    continue  # re-queued by finish() when a slot frees
                wait = pacer.try_take(host.address)
                if wait > 0:
                    host.queued = True
                    ready.append(host)
                    pause = min(pause, wait)
                    deferrals -= 1
                    if deferrals <= 0:
                        starved = True
                    continue
                port = host.take()
                sock = spare.pop(host.family, None)
                reused = sock is not None
                if sock is None:
                    try:
                        sock = socket.socket(host.family, _STREAM)
                    except OSError as exc:
                        if exc.errno not in _FD_EXHAUSTED:
                            raise
                        # Out of descriptors: shrink the window below what is open now, retry.
                        limit = max(1, len(in_flight) * 3 // 4)
                        if not requeue(host, port):
                            finished += 1
                        host.queued = True
                        ready.appendleft(host)
                        starved = True
                        break
                target = (host.sockaddr[0], port, *host.sockaddr[2:])
                err = sock.connect_ex(target)
                if reused and err not in _REUSE_OUTCOMES:
                    # The kept socket would not connect again as a fresh one does: never
                    # read that as the target's answer; retry the port on a new socket.
                    sock.close()
                    host.retry.append(port)
                    host.queued = True
                    ready.appendleft(host)
                    continue
                if err == errno.EINPROGRESS:
                    # A second connect() reports the outcome if the handshake already ended
                    # (loopback, a local segment: the answer arrived inside the first call):
                    # 0 when it completed, ECONNREFUSED on a reset, EALREADY while pending.
                    err = sock.connect_ex(target)
                if err == errno.ECONNREFUSED:
                    # Closed. A socket whose connect failed is back in CLOSE state and
                    # connects again: keeping it saves two system calls per closed port.
                    spare[host.family] = sock
                    finished += 1
                elif err in _IN_PROGRESS:
                    fd = sock.fileno()
                    probe = _Probe(sock, host, port, time.monotonic() + timeout)
                    poller.register(fd)
                    in_flight[fd] = probe
                    by_age.append(probe)
                    host.in_flight += 1
                else:
                    # Loopback and some stacks answer within connect() itself.
                    if err in _CONNECTED:
                        host.found.append(port)
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                    sock.close()
                    if err in _LOCAL_EXHAUSTED and requeue(host, port):
                        # No free local port: fewer connections at once, then try again.
                        limit = max(1, len(in_flight) * 3 // 4)
                        starved = True
                    else:
                        finished += 1
                if host.has_work() and not host.queued and host.in_flight < per_host:
                    host.queued = True
                    ready.append(host)

            # 2. Wait for handshakes to finish, at most until the oldest deadline.
            now = time.monotonic()
            while by_age and by_age[0].done:
                by_age.popleft()
            wait = _POLL_SLICE
            if by_age:
                wait = min(wait, max(0.0, by_age[0].deadline - now))
            if starved and not in_flight:
                wait = min(wait, 0.01)  # nothing to wait on; let the kernel free resources
            if pause < math.inf:
                wait = min(max(wait, pause), _POLL_SLICE) if not in_flight else min(wait, pause)
            if in_flight:
                for fd in poller.poll(wait, 1024):
                    probe = in_flight.pop(fd)
                    err = probe.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    finish(probe, fd, err in _CONNECTED)
            elif starved:
                time.sleep(wait)

            # 3. Expire probes past their deadline: silence means filtered, not open.
            now = time.monotonic()
            while by_age and (by_age[0].done or by_age[0].deadline <= now):
                probe = by_age.popleft()
                if not probe.done:
                    fd = probe.sock.fileno()
                    del in_flight[fd]
                    finish(probe, fd, False)

            if progress is not None and now - last_report >= 0.1:
                progress(finished)
                finished = 0
                last_report = now
    finally:
        # Cancellation or an unexpected error: never leak a descriptor.
        for probe in in_flight.values():
            probe.sock.close()
        for sock in spare.values():
            sock.close()
        poller.close()
        if progress is not None and finished:
            progress(finished)


def _hosts(addresses: Iterable[str], ports_for: Callable[[str], Sequence[int]]) -> list[_Host]:
    hosts: list[_Host] = []
    for address in addresses:
        family, sockaddr = _sockaddr(address)
        ports = ports_for(address)
        if ports:
            hosts.append(_Host(address, family, sockaddr, ports))
    return hosts


def _scan_hosts(
    hosts: list[_Host],
    *,
    timeout: float,
    window: int,
    per_host: int,
    stop: threading.Event,
    progress: Callable[[int], None] | None,
    pacer: Pacer = UNPACED,
) -> dict[str, list[int]]:
    """One pass over `hosts` in this thread; found ports per address, sorted.

    One thread, as nmap: a second scanning thread made loopback scans 2.6x slower once
    most probes were answered inside connect() (the threads then only fight for the
    GIL), and on a real network the time goes to waiting, which one epoll does well.
    """
    _run_pass(
        hosts,
        timeout=timeout,
        max_in_flight=window,
        per_host=per_host,
        stop=stop,
        progress=progress,
        pacer=pacer,
    )
    return {host.address: sorted(host.found) for host in hosts}


def connect_scan_blocking(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.0,
    max_in_flight: int = 1024,
    per_host: int = 256,
    confirm: bool = True,
    on_progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    pacer: Pacer = UNPACED,
) -> dict[str, tuple[int, ...]]:
    """The scan itself, blocking; `connect_scan` runs it in a thread. Each connection
    attempt takes a slot of `pacer` (--max-rate, --scan-delay)."""
    for port in ports:
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
    stop = stop or threading.Event()
    unique_ports = tuple(dict.fromkeys(ports))
    unique_addresses = tuple(dict.fromkeys(addresses))
    soft = raise_fd_limit()
    window = max(1, min(max_in_flight, soft - _FD_RESERVE))
    per_host = max(1, per_host)

    first = _hosts(unique_addresses, lambda _a: unique_ports)
    found = _scan_hosts(
        first,
        timeout=timeout,
        window=window,
        per_host=per_host,
        stop=stop,
        progress=on_progress,
        pacer=pacer,
    )
    if confirm and not stop.is_set():
        # A second handshake weeds out one-off accepts (a SYN proxy, a port that was
        # closing): reported open ports answered twice.
        second = _hosts((a for a in unique_addresses if found.get(a)), lambda a: found[a])
        found = _scan_hosts(
            second,
            timeout=timeout,
            window=window,
            per_host=per_host,
            stop=stop,
            progress=None,
            pacer=pacer,
        )
    return {address: tuple(found.get(address, ())) for address in unique_addresses}


async def connect_scan(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.0,
    max_in_flight: int = 1024,
    per_host: int = 256,
    confirm: bool = True,
    on_progress: Callable[[int], None] | None = None,
    pacer: Pacer = UNPACED,
) -> dict[str, tuple[int, ...]]:
    """Open TCP ports per address (every address in the result, maybe with no ports).

    `on_progress(n)` is called on the event loop with the number of first-pass probes
    finished since the last call. Cancelling the awaiting task stops the worker thread
    within ~50 ms and closes its sockets.
    """
    import asyncio  # here: `shinsa discover` scans TCP without an event loop

    loop = asyncio.get_running_loop()
    stop = threading.Event()
    report: Callable[[int], None] | None = None
    if on_progress is not None:
        callback = on_progress

        def report(count: int) -> None:
            # The callback belongs to the event loop's thread, not the worker's.
            loop.call_soon_threadsafe(callback, count)

    try:
        return await asyncio.to_thread(
            connect_scan_blocking,
            addresses,
            ports,
            timeout=timeout,
            max_in_flight=max_in_flight,
            per_host=per_host,
            confirm=confirm,
            on_progress=report,
            stop=stop,
            pacer=pacer,
        )
    except asyncio.CancelledError:
        stop.set()
        raise
