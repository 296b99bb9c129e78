"""SYN ("half-open") scan over raw sockets, for root on Linux; IPv4 only.

Why not scapy: building, sending and sniffing one packet at a time through scapy costs
milliseconds per probe. Here a SYN is one `struct.pack` into a per-destination template
plus an incremental checksum, sent with one `sendto` on an IPPROTO_RAW socket; replies are
read in bulk from a raw IPPROTO_TCP socket whose kernel BPF filter passes only packets to
our source port.

SYN-ACK means open, RST means closed, silence after one retransmission means filtered.
We never complete a handshake: the kernel has no socket for our source port, so it answers
each SYN-ACK with a RST itself, which also frees the device's half-open state. Every open
port is asked a second time before it is reported.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import ipaddress
import random
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

_TCP_SYN = 0x02
_TCP_RST = 0x04
_TCP_ACK = 0x10
_SO_ATTACH_FILTER = 26  # linux/asm-generic/socket.h; not exported by the socket module
#: Outside Linux's default ephemeral range (32768-60999), so our own connects never collide.
_SPORT_RANGE = (61000, 65535)
_RECV_BUFFER = 8 << 20
#: Sends between two drains of the reply socket: keeps its queue short at full speed.
_DRAIN_EVERY = 128
_MAX_SEND_RETRIES = 50

# IPv4 header (20 bytes) + TCP header with an MSS option (24 bytes): what a real stack
# sends, so devices that drop option-less SYNs still answer.
_PACKET = struct.Struct("!BBHHHBBH4s4sHHIIBBHHH4s")
_MSS_OPTION = bytes((2, 4, 0x05, 0xB4))  # MSS 1460
_TCP_LENGTH = 24
_WINDOW = 1024
_REPLY_HEAD = struct.Struct("!HHIIBB")  # sport, dport, seq, ack, offset, flags


def syn_available() -> bool:
    """True when this process may open raw IPv4 sockets (root or CAP_NET_RAW on Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).close()
    except (PermissionError, OSError):
        return False
    return True


def _fold(total: int) -> int:
    # Two folds suffice for any sum of fewer than 65536 16-bit words.
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return total


def _words(data: bytes) -> int:
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


@dataclass(slots=True)
class _Target:
    address: str
    packed: bytes
    as_int: int
    source: bytes
    base_sum: int  # checksum of pseudo-header + constant TCP fields, without dport/seq
    state: bytearray  # per port: 0 unanswered, 1 open, 2 closed


class _Sender:
    """Raw sockets, the source port and the per-target packet templates."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.secret = random.SystemRandom().getrandbits(32)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.inp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.reserve: socket.socket | None = None
        try:
            self.sport = self._reserve_port(set(ports))
            self.out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _RECV_BUFFER)
            try:
                # SO_RCVBUFFORCE passes rmem_max, which we may as root; plain RCVBUF otherwise.
                self.inp.setsockopt(socket.SOL_SOCKET, 33, _RECV_BUFFER)  # SO_RCVBUFFORCE
            except OSError:
                self.inp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_BUFFER)
            self._attach_filter()
            self.inp.setblocking(False)
            self.out.setblocking(False)
        except BaseException:
            self.close()
            raise
        self._sources: dict[str, bytes] = {}

    def _reserve_port(self, avoid: set[int]) -> int:
        """Bind (not listen) a TCP socket to a random high port so nothing else takes it.

        A bound, non-listening socket does not accept SYN-ACKs, so the kernel still resets
        them; the reservation only keeps other programs' connects off this port.
        """
        rng = random.SystemRandom()
        # A source port that is also a scanned port is avoided while the range has others;
        # a scan of all 65,535 ports leaves none, and any port that binds does then (nothing
        # listens on it here, so its own probe reads closed, as it is).
        free = any(p not in avoid for p in range(_SPORT_RANGE[0], _SPORT_RANGE[1] + 1))
        for _ in range(64):
            port = rng.randint(*_SPORT_RANGE)
            if free and port in avoid:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("0.0.0.0", port))  # noqa: S104 - a reservation, never listens
            except OSError:
                sock.close()
                continue
            self.reserve = sock
            return port
        raise OSError(errno.EADDRINUSE, "no free source port for the SYN scan")

    def _attach_filter(self) -> None:
        """Kernel-side filter: keep only TCP packets whose destination port is ours.

        The raw socket otherwise receives every TCP packet the host sees (our own SYNs on
        loopback included); filtering in the kernel keeps the Python loop for replies.
        """
        program = [
            (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf)      X = IP header length
            (0x48, 0, 0, 2),  # ldh [x+2]             A = TCP destination port
            (0x15, 0, 1, self.sport),  # jeq #sport, accept, drop
            (0x06, 0, 0, 0x40000),  # ret #big          accept
            (0x06, 0, 0, 0),  # ret #0                drop
        ]
        raw = b"".join(struct.pack("HBBI", *insn) for insn in program)
        buffer = ctypes.create_string_buffer(raw)
        fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
        # Without the filter the userspace checks in _read_replies still hold, just slower.
        with contextlib.suppress(OSError):
            self.inp.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)

    def source_for(self, address: str) -> bytes:
        """The local address the kernel picks to reach `address`; a UDP connect sends nothing."""
        cached = self._sources.get(address)
        if cached is None:
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.connect((address, 9))
                cached = socket.inet_aton(probe.getsockname()[0])
            finally:
                probe.close()
            self._sources[address] = cached
        return cached

    def target(self, address: str) -> _Target:
        packed = socket.inet_aton(address)
        source = self.source_for(address)
        constant = (
            _words(source)
            + _words(packed)
            + socket.IPPROTO_TCP
            + _TCP_LENGTH
            + self.sport
            + (((_TCP_LENGTH // 4) << 12) | _TCP_SYN)
            + _WINDOW
            + _words(_MSS_OPTION)
        )
        return _Target(
            address, packed, int.from_bytes(packed, "big"), source, constant, bytearray(65536)
        )

    def seq_for(self, target: _Target, port: int) -> int:
        # A keyed cookie: a reply's ACK must equal it + 1, so stray or spoofed packets
        # cannot mark ports open, and no per-probe table is needed.
        mixed = (target.as_int * 0x9E3779B1) ^ (port * 0x85EBCA6B) ^ self.secret
        return (mixed ^ (mixed >> 15)) & 0xFFFFFFFF

    def packet(self, target: _Target, port: int) -> bytes:
        seq = self.seq_for(target, port)
        checksum = ~_fold(target.base_sum + port + (seq >> 16) + (seq & 0xFFFF)) & 0xFFFF
        return _PACKET.pack(
            0x45,
            0,
            20 + _TCP_LENGTH,
            0,  # IP ID: the kernel fills it in
            0x4000,  # don't fragment
            64,
            socket.IPPROTO_TCP,
            0,  # IP checksum: the kernel always fills it in with IP_HDRINCL
            target.source,
            target.packed,
            self.sport,
            port,
            seq,
            0,
            (_TCP_LENGTH // 4) << 4,
            _TCP_SYN,
            _WINDOW,
            checksum,
            0,
            _MSS_OPTION,
        )

    def send(self, target: _Target, port: int) -> None:
        data = self.packet(target, port)
        for _ in range(_MAX_SEND_RETRIES):
            try:
                self.out.sendto(data, (target.address, 0))
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                # The device queue is full: give it a moment instead of dropping the probe.
                select.select([], [], [], 0.001)
        # Still unsent: left unanswered, so the retransmission round tries it again.

    def close(self) -> None:
        for sock in (self.out, self.inp, self.reserve):
            if sock is not None:
                sock.close()


def _read_replies(sender: _Sender, by_address: dict[bytes, _Target], budget: int) -> int:
    """Read up to `budget` queued packets without blocking; return how many probes they answered."""
    inp = sender.inp
    sport = sender.sport
    answered = 0
    for _ in range(budget):
        try:
            data = inp.recv(256)
        except BlockingIOError:
            break
        if len(data) < 20:
            continue
        ihl = (data[0] & 0x0F) * 4
        if len(data) < ihl + 14 or data[9] != socket.IPPROTO_TCP:
            continue
        target = by_address.get(data[12:16])
        if target is None:
            continue
        port, dport, _seq, ack, _offset, flags = _REPLY_HEAD.unpack_from(data, ihl)
        if dport != sport or target.state[port]:
            continue
        if ack != (sender.seq_for(target, port) + 1) & 0xFFFFFFFF:
            continue  # not an answer to our SYN
        if flags & (_TCP_SYN | _TCP_ACK) == (_TCP_SYN | _TCP_ACK):
            target.state[port] = 1
            answered += 1
        elif flags & _TCP_RST:
            target.state[port] = 2
            answered += 1
    return answered


def _round(
    sender: _Sender,
    work: Callable[[], Iterator[tuple[_Target, int]]],
    targets: Sequence[_Target],
    *,
    timeout: float,
    rate: int | None,
) -> None:
    """Send one SYN per unanswered (target, port) from `work()`, then one retransmission.

    `work` is a factory so a large scan (65,535 ports x many hosts) never holds its probe
    list in memory; each pass re-reads it and skips what was answered.
    """
    by_address = {t.packed: t for t in targets}
    for _attempt in range(2):
        sent = 0
        answered = 0
        started = time.monotonic()
        for target, port in work():
            if target.state[port]:
                continue
            sender.send(target, port)
            sent += 1
            if sent % _DRAIN_EVERY == 0:
                answered += _read_replies(sender, by_address, 4 * _DRAIN_EVERY)
                if rate:
                    # Pace to `rate` packets/s; each pause is at most one batch long.
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        select.select([], [], [], ahead)
        if not sent:
            return
        # Wait for the rest: until every probe of this pass is answered or `timeout` has
        # passed since the last send (the retransmission gives a slow device a second one).
        deadline = time.monotonic() + timeout
        while answered < sent:
            answered += _read_replies(sender, by_address, 4096)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or answered >= sent:
                break
            select.select([sender.inp], [], [], min(remaining, 0.05))


def syn_scan(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.0,
    rate: int | None = None,
) -> dict[str, tuple[int, ...]]:
    """Open TCP ports per IPv4 address, by SYN scan; blocking (run it in a thread).

    Raises ConfigError for IPv6 addresses, PermissionError without raw-socket rights.
    """
    for address in addresses:
        if ipaddress.ip_address(address).version != 4:
            raise ConfigError(f"SYN scan is IPv4 only; {address} needs the connect scan")
    for port in ports:
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
    unique_ports = tuple(dict.fromkeys(ports))
    unique_addresses = tuple(dict.fromkeys(addresses))
    if not unique_addresses or not unique_ports:
        return dict.fromkeys(unique_addresses, ())

    sender = _Sender(unique_ports)
    try:
        targets = [sender.target(address) for address in unique_addresses]

        def everything() -> Iterator[tuple[_Target, int]]:
            # Port-major order spreads consecutive SYNs over hosts, as nmap does.
            return ((t, p) for p in unique_ports for t in targets)

        _round(sender, everything, targets, timeout=timeout, rate=rate)
        opened = [(t, p) for t in targets for p in unique_ports if t.state[p] == 1]
        # Confirmation: forget the first answer and ask again with a fresh SYN.
        for target, port in opened:
            target.state[port] = 0
        _round(sender, lambda: iter(opened), targets, timeout=timeout, rate=rate)
        confirmed: dict[str, list[int]] = {address: [] for address in unique_addresses}
        for target, port in opened:
            if target.state[port] == 1:
                confirmed[target.address].append(port)
        return {address: tuple(sorted(found)) for address, found in confirmed.items()}
    finally:
        sender.close()
