"""SYN ("half-open") scan over raw sockets, for root on Linux; IPv6 addresses are handed
to scanner/discovery/syn6.py, which follows the same rules over IPv6 raw sockets.

Why not scapy: building, sending and sniffing one packet at a time through scapy costs
milliseconds per probe. Here a SYN is a per-destination header plus two small packs and an
incremental checksum, sent with one `sendto` on an IPPROTO_RAW socket; replies are read in
bulk from a raw IPPROTO_TCP socket whose kernel BPF filter passes only the packets to our
source port that belong to this worker.

A large scan is split by port (port mod N) between N processes, one per core (up to 4):
each sends its share, reads its own replies through its own filtered socket and writes
the answers into a table of one byte per probe in memory they share. The processes share
nothing else, so no reply is read twice and no count needs a lock. One Python process is
bound by the interpreter at ~3.7 us per probe; two on two cores scan in about half that.

SYN-ACK means open, RST means closed, silence after one retransmission means filtered.
We never complete a handshake: the kernel has no socket for our source port, so it answers
each SYN-ACK with a RST itself, which also frees the device's half-open state. Every open
port is asked a second time before it is reported.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import mmap
import os
import random
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.discovery import bpf
from scanner.discovery.syn6 import syn_scan6
from scanner.pacing import UNPACED, Pacer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

_TCP_SYN = 0x02
_TCP_RST = 0x04
_TCP_ACK = 0x10
#: Outside Linux's default ephemeral range (32768-60999), so our own connects never collide.
_SPORT_RANGE = (61000, 65535)
_RECV_BUFFER = 8 << 20
#: Sends between two drains of the reply socket: keeps its queue short at full speed.
_DRAIN_EVERY = 128
_MAX_SEND_RETRIES = 50

# IPv4 header (20 bytes) + TCP header with an MSS option (24 bytes): what a real stack
# sends, so devices that drop option-less SYNs still answer. A SYN is HEAD (per target:
# IP header and source port) + PORT_SEQ + _MIDDLE + CHECKSUM + _TAIL.
_HEAD = struct.Struct("!BBHHHBBH4s4sH")
_PORT_SEQ = struct.Struct("!HI")
_CHECKSUM = struct.Struct("!H")
_MSS_OPTION = bytes((2, 4, 0x05, 0xB4))  # MSS 1460
_TCP_LENGTH = 24
_WINDOW = 1024
_MIDDLE = struct.pack("!IBBH", 0, (_TCP_LENGTH // 4) << 4, _TCP_SYN, _WINDOW)  # ack .. window
_TAIL = struct.pack("!H", 0) + _MSS_OPTION  # urgent pointer, options
_REPLY_HEAD = struct.Struct("!HHIIBB")  # sport, dport, seq, ack, offset, flags
#: The SYN cookie's multipliers (golden-ratio and murmur3 constants: good bit mixing).
_ADDRESS_MIX = 0x9E3779B1
_PORT_MIX = 0x85EBCA6B
#: Fewer probes than this are not worth a fork (~2 ms).
_SHARD_MIN_PROBES = 4096
#: Worker processes at most: past four the kernel's loopback path is the limit.
_MAX_SHARDS = 4


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


def _cookie(mix: int, port: int) -> int:
    """The SYN's sequence number: a keyed hash of (address, port), see _Sender.target."""
    mixed = mix ^ (port * _PORT_MIX)
    return (mixed ^ (mixed >> 15)) & 0xFFFFFFFF


@dataclass(slots=True)
class _Target:
    address: str
    dest: tuple[str, int]  # sendto's address, built once
    packed: bytes
    mix: int  # (address * _ADDRESS_MIX) ^ secret: the per-target half of the SYN cookie
    base_sum: int  # checksum of pseudo-header + constant TCP fields, without dport/seq
    head: bytes  # IP header and TCP source port: the same for every SYN to this target
    offset: int  # where this target's row starts in the _Table


class _Table:
    """One state byte per (target, port): 0 unanswered, 1 open, 2 closed.

    Anonymous shared memory, so that forked workers write what the parent reads; each
    worker writes only its own ports' columns. Rows are targets, columns the scanned
    ports in order: memory is targets x ports bytes, not targets x 65,536.
    """

    def __init__(self, targets: int, ports: Sequence[int]) -> None:
        self.ports = tuple(ports)
        self.width = len(ports)
        # mmap(-1, n) is MAP_SHARED | MAP_ANONYMOUS: a forked child writes into our pages.
        self.memory = mmap.mmap(-1, max(1, targets * self.width))
        self.state = memoryview(self.memory)

    def row(self, index: int) -> int:
        return index * self.width

    def open_columns(self, target: _Target) -> list[int]:
        """Columns marked open in `target`'s row, found by bytes.find, not a Python loop."""
        row = self.memory[target.offset : target.offset + self.width]
        found: list[int] = []
        index = row.find(1)
        while index >= 0:
            found.append(index)
            index = row.find(1, index + 1)
        return found

    def close(self) -> None:
        self.state.release()
        self.memory.close()


class _Sender:
    """The sending raw socket, the reserved source port and the per-target templates."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.secret = random.SystemRandom().getrandbits(32)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.reserve: socket.socket | None = None
        try:
            self.sport = self._reserve_port(set(ports))
            self.out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _RECV_BUFFER)
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

    def listen(self, shard: int, shards: int) -> socket.socket:
        """A raw socket for the replies to this worker's ports (port mod shards == shard)."""
        inp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        try:
            try:
                # SO_RCVBUFFORCE passes rmem_max, which we may as root; plain RCVBUF otherwise.
                inp.setsockopt(socket.SOL_SOCKET, 33, _RECV_BUFFER)  # SO_RCVBUFFORCE
            except OSError:
                inp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_BUFFER)
            self._attach_filter(inp, shard, shards)
            inp.setblocking(False)
        except BaseException:
            inp.close()
            raise
        return inp

    def _attach_filter(self, inp: socket.socket, shard: int, shards: int) -> None:
        """Kernel-side filter: keep only TCP packets to our port from this worker's ports.

        The raw socket otherwise receives every TCP packet the host sees (our own SYNs on
        loopback included, and the other workers' replies); filtering in the kernel keeps
        the Python loop for this worker's replies.
        """
        program = [
            (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf)      X = IP header length
            (0x48, 0, 0, 2),  # ldh [x+2]             A = TCP destination port
            (0x15, 0, 4, self.sport),  # jeq #sport, next, drop
            (0x48, 0, 0, 0),  # ldh [x+0]             A = TCP source port (the probed one)
            (0x94, 0, 0, shards),  # mod #shards
            (0x15, 0, 1, shard),  # jeq #shard, accept, drop
            (0x06, 0, 0, 0x40000),  # ret #big          accept
            (0x06, 0, 0, 0),  # ret #0                drop
        ]
        bpf.attach(inp, program)

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

    def target(self, address: str, offset: int) -> _Target:
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
        head = _HEAD.pack(
            0x45,
            0,
            20 + _TCP_LENGTH,
            0,  # IP ID: the kernel fills it in
            0x4000,  # don't fragment
            64,
            socket.IPPROTO_TCP,
            0,  # IP checksum: the kernel always fills it in with IP_HDRINCL
            source,
            packed,
            self.sport,
        )
        # A keyed cookie: a reply's ACK must equal it + 1, so stray or spoofed packets
        # cannot mark ports open, and no per-probe table of sequence numbers is needed.
        mix = (int.from_bytes(packed, "big") * _ADDRESS_MIX) ^ self.secret
        return _Target(address, (address, 0), packed, mix, constant, head, offset)

    def send_again(self, data: bytes, target: _Target, error: OSError) -> None:
        """The slow path of a send that failed: retry while the device queue is full."""
        if error.errno not in (errno.ENOBUFS, errno.EAGAIN):
            raise error
        for _ in range(_MAX_SEND_RETRIES):
            # The device queue is full: give it a moment instead of dropping the probe.
            select.select([], [], [], 0.001)
            try:
                self.out.sendto(data, target.dest)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
        # Still unsent: left unanswered, so the retransmission round tries it again.

    def close(self) -> None:
        for sock in (self.out, self.reserve):
            if sock is not None:
                sock.close()


@dataclass(slots=True)
class _Shard:
    """One worker's share: its ports, its reply socket and its view of the table."""

    sender: _Sender
    table: _Table
    inp: socket.socket
    #: port -> column in the table for this worker's ports; -1 for every other port
    column: list[int]
    by_address: dict[bytes, _Target]

    def read_replies(self, budget: int) -> int:
        """Read up to `budget` queued packets without blocking; mark the probes answered."""
        inp = self.inp
        sport = self.sender.sport
        state = self.table.state
        column = self.column
        by_address = self.by_address
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
            col = column[port]
            if dport != sport or col < 0 or state[target.offset + col]:
                continue
            if ack != (_cookie(target.mix, port) + 1) & 0xFFFFFFFF:
                continue  # not an answer to our SYN
            if flags & (_TCP_SYN | _TCP_ACK) == (_TCP_SYN | _TCP_ACK):
                state[target.offset + col] = 1
                answered += 1
            elif flags & _TCP_RST:
                state[target.offset + col] = 2
                answered += 1
        return answered

    def round(
        self,
        work: Callable[[], Iterable[tuple[int, Sequence[_Target]]]],
        *,
        timeout: float,
        rate: float | None,
        pacer: Pacer = UNPACED,
    ) -> None:
        """Send one SYN per unanswered (target, port) from `work()`, then one retransmission.

        `work()` yields (port, targets) groups: port-major order spreads consecutive SYNs
        over hosts, as nmap does, and the per-port arithmetic is done once per group. It is
        a factory so that each pass re-reads it and skips what was answered.
        """
        state = self.table.state
        column = self.column
        sendto = self.sender.out.sendto
        pack_port_seq = _PORT_SEQ.pack
        pack_checksum = _CHECKSUM.pack
        paced = pacer.active
        for _attempt in range(2):
            sent = 0
            answered = 0
            started = time.monotonic()
            for port, group in work():
                col = column[port]
                port_mix = port * _PORT_MIX
                for target in group:
                    if state[target.offset + col]:
                        continue
                    # The hot loop: _cookie and _fold inlined (a call each is ~10 % of a probe).
                    mixed = target.mix ^ port_mix
                    seq = (mixed ^ (mixed >> 15)) & 0xFFFFFFFF
                    total = target.base_sum + port + (seq >> 16) + (seq & 0xFFFF)
                    total = (total & 0xFFFF) + (total >> 16)
                    total = (total & 0xFFFF) + (total >> 16)
                    data = (
                        target.head
                        + pack_port_seq(port, seq)
                        + _MIDDLE
                        + pack_checksum(~total & 0xFFFF)
                        + _TAIL
                    )
                    if paced:
                        # Replies wait in the socket's buffer meanwhile; read what came.
                        pacer.wait_blocking(target.address)
                        answered += self.read_replies(_DRAIN_EVERY)
                    try:
                        sendto(data, target.dest)
                    except OSError as exc:
                        self.sender.send_again(data, target, exc)
                    sent += 1
                    if sent % _DRAIN_EVERY == 0:
                        answered += self.read_replies(4 * _DRAIN_EVERY)
                        if rate:
                            # Pace to `rate` packets/s; each pause is at most one batch long.
                            ahead = sent / rate - (time.monotonic() - started)
                            if ahead > 0:
                                select.select([], [], [], ahead)
            if not sent:
                return
            # Wait for the rest: until every probe of this pass is answered or `timeout`
            # has passed since the last send (the retransmission gives a slow device a
            # second one). Each probe sent was unanswered and is marked once: exact count.
            deadline = time.monotonic() + timeout
            while answered < sent:
                answered += self.read_replies(4096)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or answered >= sent:
                    break
                select.select([self.inp], [], [], min(remaining, 0.05))

    def scan(
        self,
        ports: Sequence[int],
        targets: Sequence[_Target],
        *,
        timeout: float,
        rate: float | None,
        pacer: Pacer = UNPACED,
    ) -> None:
        """This worker's whole scan: every port once (and again), then the confirmation."""

        def everything() -> Iterator[tuple[int, Sequence[_Target]]]:
            return ((p, targets) for p in ports)

        self.round(everything, timeout=timeout, rate=rate, pacer=pacer)
        # Confirmation: forget the first answer and ask again with a fresh SYN.
        again: dict[int, list[_Target]] = {}
        for target in targets:
            for col in self.table.open_columns(target):
                port = self.table.ports[col]
                if self.column[port] < 0:
                    continue  # another worker's port
                self.table.state[target.offset + col] = 0
                again.setdefault(port, []).append(target)
        self.round(again.items, timeout=timeout, rate=rate, pacer=pacer)


def _shard_count(probes: int) -> int:
    if probes < _SHARD_MIN_PROBES or not hasattr(os, "fork"):
        return 1
    return max(1, min(_MAX_SHARDS, os.cpu_count() or 1))


def _run_shard(
    sender: _Sender,
    table: _Table,
    targets: Sequence[_Target],
    shard: int,
    shards: int,
    *,
    timeout: float,
    rate: float | None,
    pacer: Pacer = UNPACED,
) -> None:
    """Worker `shard` of `shards`: scan the ports p with p % shards == shard."""
    ports = [p for p in table.ports if p % shards == shard]
    if not ports:
        return
    column = [-1] * 65536
    for index, port in enumerate(table.ports):
        if port % shards == shard:
            column[port] = index
    inp = sender.listen(shard, shards)
    try:
        worker = _Shard(sender, table, inp, column, {t.packed: t for t in targets})
        worker.scan(ports, targets, timeout=timeout, rate=rate, pacer=pacer)
    finally:
        inp.close()


def _fork_shard(run: Callable[[], None]) -> int | None:
    """Run `run` in a forked child; its pid, or None when fork is refused."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    code = 1  # pragma: no cover - the rest runs in the child
    try:  # pragma: no cover
        run()
        code = 0
    finally:  # pragma: no cover
        # Never return into the caller's stack, never run its cleanup or atexit handlers.
        os._exit(code)


def syn_scan(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.0,
    rate: int | None = None,
    pacer: Pacer = UNPACED,
) -> dict[str, tuple[int, ...]]:
    """Open TCP ports per address, by SYN scan; blocking (run it in a thread). IPv6
    addresses are scanned by `syn6.syn_scan6` after the IPv4 ones, the answer keeps the
    order the addresses were given in.

    A paced scan (`pacer`: --max-rate, --scan-delay) sends each SYN in a slot of the
    scan's pacer, from this process only: a slot taken in a forked worker would not be
    seen by the others, and a pace is slow enough for one core.

    Raises PermissionError without raw-socket rights, and OSError when a worker process
    fails (its ports would otherwise read as filtered).
    """
    for port in ports:
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
    unique_ports = tuple(dict.fromkeys(ports))
    every = tuple(dict.fromkeys(addresses))
    ipv6 = [a for a in every if ipaddress.ip_address(a.split("%", 1)[0]).version == 6]
    if ipv6:
        v6 = set(ipv6)
        found = _syn_scan4([a for a in every if a not in v6], unique_ports, timeout, rate, pacer)
        found |= syn_scan6(ipv6, unique_ports, timeout=timeout, rate=rate, pacer=pacer)
        return {a: found[a] for a in every}
    return _syn_scan4(every, unique_ports, timeout, rate, pacer)


def _syn_scan4(
    unique_addresses: Sequence[str],
    unique_ports: Sequence[int],
    timeout: float,
    rate: int | None,
    pacer: Pacer,
) -> dict[str, tuple[int, ...]]:
    if not unique_addresses or not unique_ports:
        return dict.fromkeys(unique_addresses, ())

    sender = _Sender(unique_ports)
    table = _Table(len(unique_addresses), unique_ports)
    children: dict[int, int] = {}  # pid -> shard
    try:
        targets = [sender.target(a, table.row(i)) for i, a in enumerate(unique_addresses)]
        shards = 1 if pacer.active else _shard_count(len(unique_addresses) * len(unique_ports))
        share = rate / shards if rate else None
        local = [0]
        for shard in range(1, shards):

            def run(shard: int = shard) -> None:
                _run_shard(sender, table, targets, shard, shards, timeout=timeout, rate=share)

            pid = _fork_shard(run)  # never when paced (one shard)
            if pid is None:
                local.append(shard)  # fork refused: this process scans that share too
            else:
                children[pid] = shard
        for shard in local:
            _run_shard(
                sender, table, targets, shard, shards, timeout=timeout, rate=share, pacer=pacer
            )
        failed = []
        for pid, shard in list(children.items()):
            # Each worker's loops are bounded (two rounds of sends, each wait <= timeout).
            _, status = os.waitpid(pid, 0)
            del children[pid]
            if os.waitstatus_to_exitcode(status) != 0:
                failed.append(shard)
        if failed:
            raise OSError(f"SYN scan: worker process(es) {failed} of {shards} failed")
        found: dict[str, tuple[int, ...]] = {}
        for target in targets:
            found[target.address] = tuple(
                sorted(unique_ports[c] for c in table.open_columns(target))
            )
        return found
    finally:
        for pid in children:  # only after an error in this process: stop the others
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
        sender.close()
        table.close()
