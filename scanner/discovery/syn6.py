"""SYN ("half-open") scan of IPv6 addresses over raw sockets, for root on Linux; the IPv6
half of `scanner.discovery.syn.syn_scan`, which hands it the IPv6 addresses.

The same rules as the IPv4 scan: a SYN with an MSS option from a reserved high source port,
its sequence number a keyed cookie of (address, port) so that only a reply acknowledging
it counts; SYN-ACK open, RST closed, silence after one retransmission filtered; every open
port asked a second time before it is reported; the kernel resets each SYN-ACK itself
(no socket of ours accepts it).

What differs: an IPv6 raw socket never carries the IP header, in either direction. So the
kernel builds the header and, told where (IPV6_CHECKSUM), the TCP checksum over the
pseudo-header with the source address it picks; replies come without a header and their
source address from `recvfrom`. One process: IPv6 scans are of listed addresses, never
swept ranges, so they are small beside the IPv4 scans the sharded path is for.
"""

from __future__ import annotations

import errno
import ipaddress
import random
import select
import socket
import struct
import time
from typing import TYPE_CHECKING

from scanner.discovery import bpf
from scanner.pacing import UNPACED, Pacer

if TYPE_CHECKING:
    from collections.abc import Sequence

_TCP_SYN, _TCP_RST, _TCP_ACK = 0x02, 0x04, 0x10
_SPORT_RANGE = (61000, 65535)  # outside Linux's ephemeral range, as for IPv4
_BUFFER = 8 << 20
_DRAIN_EVERY = 128
_MAX_SEND_RETRIES = 50
_MSS_OPTION = bytes((2, 4, 0x05, 0xA0))  # MSS 1440: 1500 less the IPv6 and TCP headers
_TCP_LENGTH = 24
_WINDOW = 1024
_SYN = struct.Struct("!HHIIBBHHH4s")  # sport dport seq ack offset flags window sum urg opt
_REPLY = struct.Struct("!HHIIBB")  # sport, dport, seq, ack, offset, flags
_CHECKSUM_OFFSET = 16  # where the TCP checksum sits, for the kernel to fill in
_ADDRESS_MIX, _PORT_MIX = 0x9E3779B1, 0x85EBCA6B


def _packed(address: str) -> bytes:
    return ipaddress.IPv6Address(address.split("%", 1)[0]).packed


def _cookie(mix: int, port: int) -> int:
    mixed = mix ^ (port * _PORT_MIX)
    return (mixed ^ (mixed >> 15)) & 0xFFFFFFFF


def syn_segment(sport: int, dport: int, seq: int) -> bytes:
    """The TCP SYN (24 bytes, MSS option), checksum left 0 for the kernel."""
    flags = _TCP_SYN
    return _SYN.pack(
        sport, dport, seq, 0, (_TCP_LENGTH // 4) << 4, flags, _WINDOW, 0, 0, _MSS_OPTION
    )


def parse_reply(segment: bytes, sport: int) -> tuple[int, int, int] | None:
    """(probed port, ack, state: 1 open, 2 closed) of a TCP segment to our `sport`, or None
    for anything else (too short, another port, neither SYN-ACK nor RST)."""
    if len(segment) < 14:
        return None
    port, dport, _seq, ack, _offset, flags = _REPLY.unpack_from(segment)
    if dport != sport:
        return None
    if flags & (_TCP_SYN | _TCP_ACK) == (_TCP_SYN | _TCP_ACK):
        return port, ack, 1
    if flags & _TCP_RST:
        return port, ack, 2
    return None


def _reserve_port(avoid: set[int]) -> tuple[socket.socket, int]:
    """A TCP socket bound (never listening) to a random high port on every IPv6 address,
    so nothing else takes the source port while the scan uses it."""
    rng = random.SystemRandom()
    for _ in range(64):
        port = rng.randint(*_SPORT_RANGE)
        if port in avoid:
            continue
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            sock.bind(("::", port))  # a reservation, never listens
        except OSError:
            sock.close()
            continue
        return sock, port
    raise OSError(errno.EADDRINUSE, "no free source port for the IPv6 SYN scan")


def _attach_filter(inp: socket.socket, sport: int) -> None:
    """Kernel-side filter: TCP segments to our source port only (an IPv6 raw socket's data
    starts at the TCP header). Without it the userspace check still holds, just slower."""
    program = [
        (0x28, 0, 0, 2),  # ldh [2]        destination port
        (0x15, 0, 1, sport),  # jeq #sport
        (0x06, 0, 0, 0x40000),  # ret #big accept
        (0x06, 0, 0, 0),  # ret #0      drop
    ]
    bpf.attach(inp, program)


class _Scan:
    def __init__(self, addresses: Sequence[str], ports: Sequence[int]) -> None:
        self.secret = random.SystemRandom().getrandbits(32)
        self.ports = ports
        self.reserve, self.sport = _reserve_port(set(ports))
        self.out = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.inp = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
        try:
            self.out.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, _CHECKSUM_OFFSET)
            self.out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BUFFER)
            self.out.setblocking(False)
            try:
                self.inp.setsockopt(socket.SOL_SOCKET, 33, _BUFFER)  # SO_RCVBUFFORCE
            except OSError:
                self.inp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _BUFFER)
            _attach_filter(self.inp, self.sport)
            self.inp.setblocking(False)
        except BaseException:
            self.close()
            raise
        self.addresses = tuple(addresses)
        self.by_packed = {_packed(a): a for a in addresses}
        self.mix = {
            a: (int.from_bytes(_packed(a), "big") * _ADDRESS_MIX) ^ self.secret for a in addresses
        }
        # getaddrinfo keeps a link-local address's zone (fe80::1%eth0) as the scope id
        self.dest = {
            a: socket.getaddrinfo(
                a, 0, socket.AF_INET6, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST
            )[0][4]
            for a in addresses
        }
        self.state: dict[tuple[str, int], int] = {}

    def close(self) -> None:
        for sock in (self.out, self.inp, self.reserve):
            sock.close()

    def read(self, budget: int) -> int:
        answered = 0
        for _ in range(budget):
            try:
                segment, source = self.inp.recvfrom(256)
            except BlockingIOError:
                break
            address = self.by_packed.get(_packed(str(source[0])))
            got = parse_reply(segment, self.sport) if address else None
            if address is None or got is None:
                continue
            port, ack, state = got
            key = (address, port)
            if key not in self.state or self.state[key]:
                continue  # not asked in this round, or answered already
            if ack != (_cookie(self.mix[address], port) + 1) & 0xFFFFFFFF:
                continue  # not an answer to our SYN
            self.state[key] = state
            answered += 1
        return answered

    def send(self, address: str, port: int) -> None:
        data = syn_segment(self.sport, port, _cookie(self.mix[address], port))
        for _ in range(_MAX_SEND_RETRIES):
            try:
                self.out.sendto(data, self.dest[address])
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                select.select([], [], [], 0.001)  # the device queue is full: a moment
        # still unsent: unanswered, so the retransmission tries it again

    def round(
        self, probes: Sequence[tuple[str, int]], *, timeout: float, rate: float | None, pacer: Pacer
    ) -> None:
        """Each probe sent (again) until answered, twice at most, each pass waiting up to
        `timeout` after its last send."""
        for key in probes:
            self.state[key] = 0
        for _attempt in range(2):
            todo = [k for k in probes if not self.state[k]]
            if not todo:
                return
            answered = 0
            started = time.monotonic()
            for sent, (address, port) in enumerate(todo, start=1):
                if pacer.active:
                    pacer.wait_blocking(address)
                self.send(address, port)
                if sent % _DRAIN_EVERY == 0:
                    answered += self.read(4 * _DRAIN_EVERY)
                    if rate:
                        ahead = sent / rate - (time.monotonic() - started)
                        if ahead > 0:
                            select.select([], [], [], ahead)
            deadline = time.monotonic() + timeout
            while answered < len(todo):
                answered += self.read(4096)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or answered >= len(todo):
                    break
                select.select([self.inp], [], [], min(remaining, 0.05))


def syn_scan6(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.0,
    rate: float | None = None,
    pacer: Pacer = UNPACED,
) -> dict[str, tuple[int, ...]]:
    """Open TCP ports per IPv6 address, by SYN scan; blocking. PermissionError without
    raw-socket rights. `addresses` and `ports` are unique (syn_scan made them so)."""
    if not addresses or not ports:
        return dict.fromkeys(addresses, ())
    scan = _Scan(addresses, ports)
    try:
        # port-major: consecutive SYNs go to different hosts, as in the IPv4 scan
        probes = [(a, p) for p in ports for a in scan.addresses]
        scan.round(probes, timeout=timeout, rate=rate, pacer=pacer)
        opened = [k for k in probes if scan.state[k] == 1]
        scan.round(opened, timeout=timeout, rate=rate, pacer=pacer)  # confirm with fresh SYNs
        return {
            a: tuple(sorted(p for p in ports if scan.state.get((a, p)) == 1))
            for a in scan.addresses
        }
    finally:
        scan.close()
