"""SYN ("half-open") scan over raw sockets, for root on Linux; IPv4 only.

Why not scapy: building, sending and sniffing one packet at a time through scapy costs
milliseconds per probe. Here a SYN is a per-destination header plus two small packs and an
incremental checksum, sent with one `sendto` on an IPPROTO_RAW socket; replies are read
from a raw IPPROTO_TCP socket whose kernel BPF filter passes only packets to our source
port, by a forked reader process on the second core, which marks answers in a table of one
byte per probe in memory both processes share. Reading in the sending process (the fallback
where fork is missing or fails) costs a third of the time per probe.

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

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

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
#: The reader's pause when nothing is queued; also how soon it sees the stop flag.
_READER_SLICE = 0.0005
#: How long the sender sleeps between looks at the answer count while it waits.
_WAIT_SLICE = 0.002
#: Seconds the reader has to exit once told to, before it is killed.
_READER_EXIT = 2.0


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
    """One state byte per (target, port) -- 0 unanswered, 1 open, 2 closed -- and two
    counters (answers so far, stop), in anonymous shared memory: the forked reader writes
    what the sender reads. Only one process writes the answer count at a time."""

    _COUNTERS = 16

    def __init__(self, targets: int, ports: Sequence[int]) -> None:
        self.width = len(ports)
        #: port -> its column in a row; -1 for ports not scanned (a reply there is stray)
        self.column = [-1] * 65536
        for index, port in enumerate(ports):
            self.column[port] = index
        # mmap(-1, n) is MAP_SHARED | MAP_ANONYMOUS: a forked child writes into our pages.
        self.memory = mmap.mmap(-1, self._COUNTERS + max(1, targets * self.width))
        self.state = memoryview(self.memory)
        self.counters = self.state[: self._COUNTERS].cast("Q")

    def row(self, index: int) -> int:
        return self._COUNTERS + index * self.width

    def answers(self) -> int:
        return int(self.counters[0])

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
        self.counters.release()
        self.state.release()
        self.memory.close()


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
        for sock in (self.out, self.inp, self.reserve):
            if sock is not None:
                sock.close()


def _read_replies(
    sender: _Sender, by_address: dict[bytes, _Target], table: _Table, budget: int
) -> int:
    """Read up to `budget` queued packets without blocking; mark the probes they answer."""
    inp = sender.inp
    sport = sender.sport
    state = table.state
    column = table.column
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
    if answered:
        table.counters[0] += answered
    return answered


class _Reader:
    """Reads the replies: a forked process beside the sender when fork works, else inline.

    The child only reads the raw socket and writes the shared table; it stops when the stop
    counter is set or its parent is gone, and os._exit()s without running any of the
    parent's cleanup. A reader that dies is an error, never silence read as "filtered".
    """

    def __init__(self, sender: _Sender, by_address: dict[bytes, _Target], table: _Table) -> None:
        self.sender = sender
        self.by_address = by_address
        self.table = table
        self.pid: int | None = None
        if hasattr(os, "fork"):
            with contextlib.suppress(OSError):
                self.pid = os.fork()
                if self.pid == 0:
                    self._child()

    def _child(self) -> None:  # pragma: no cover - runs in the forked process
        code = 1
        try:
            parent = os.getppid()
            while not self.table.counters[1] and os.getppid() == parent:
                # Sleep rather than poll when the queue is empty: a reader blocked in poll
                # is woken by every packet, and each wake-up costs the sender's system call.
                if not _read_replies(self.sender, self.by_address, self.table, 4096):
                    time.sleep(_READER_SLICE)
            code = 0
        finally:
            os._exit(code)

    def drain(self, budget: int) -> None:
        """While sending: read what is queued (inline only; the child reads by itself)."""
        if self.pid is None:
            _read_replies(self.sender, self.by_address, self.table, budget)

    def wait(self, seconds: float) -> None:
        """Let answers arrive for at most `seconds`."""
        if self.pid is None:
            select.select([self.sender.inp], [], [], seconds)
            _read_replies(self.sender, self.by_address, self.table, 4096)
            return
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid:
            self.pid = None
            raise OSError(f"SYN scan: the reply reader stopped (wait status {status})")
        time.sleep(min(seconds, _WAIT_SLICE))

    def stop(self) -> None:
        if self.pid is None:
            return
        self.table.counters[1] = 1
        deadline = time.monotonic() + _READER_EXIT
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = None
                return
            time.sleep(_WAIT_SLICE)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        self.pid = None


def _round(
    sender: _Sender,
    table: _Table,
    reader: _Reader,
    work: Callable[[], Iterable[tuple[int, Sequence[_Target]]]],
    *,
    timeout: float,
    rate: int | None,
) -> None:
    """Send one SYN per unanswered (target, port) from `work()`, then one retransmission.

    `work()` yields (port, targets) groups: port-major order spreads consecutive SYNs over
    hosts, as nmap does, and the per-port arithmetic is done once per group. It is a
    factory so that each pass re-reads it and skips what was answered.
    """
    state = table.state
    column = table.column
    sendto = sender.out.sendto
    pack_port_seq = _PORT_SEQ.pack
    pack_checksum = _CHECKSUM.pack
    for _attempt in range(2):
        base = table.answers()
        sent = 0
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
                try:
                    sendto(data, target.dest)
                except OSError as exc:
                    sender.send_again(data, target, exc)
                sent += 1
                if sent % _DRAIN_EVERY == 0:
                    reader.drain(4 * _DRAIN_EVERY)
                    if rate:
                        # Pace to `rate` packets/s; each pause is at most one batch long.
                        ahead = sent / rate - (time.monotonic() - started)
                        if ahead > 0:
                            select.select([], [], [], ahead)
        if not sent:
            return
        # Wait for the rest: until every probe of this pass is answered or `timeout` has
        # passed since the last send (the retransmission gives a slow device a second one).
        # Each probe sent was unanswered, and is answered at most once: the count is exact.
        deadline = time.monotonic() + timeout
        while table.answers() - base < sent:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            reader.wait(min(remaining, 0.05))


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
    table = _Table(len(unique_addresses), unique_ports)
    reader: _Reader | None = None
    try:
        targets = [sender.target(a, table.row(i)) for i, a in enumerate(unique_addresses)]
        by_address = {t.packed: t for t in targets}
        reader = _Reader(sender, by_address, table)

        def everything() -> Iterator[tuple[int, Sequence[_Target]]]:
            return ((p, targets) for p in unique_ports)

        _round(sender, table, reader, everything, timeout=timeout, rate=rate)
        opened = [(t, unique_ports[c]) for t in targets for c in table.open_columns(t)]
        # Confirmation: forget the first answer and ask again with a fresh SYN.
        again: dict[int, list[_Target]] = {}
        for target, port in opened:
            table.state[target.offset + table.column[port]] = 0
            again.setdefault(port, []).append(target)
        _round(sender, table, reader, again.items, timeout=timeout, rate=rate)
        confirmed: dict[str, list[int]] = {address: [] for address in unique_addresses}
        for target, port in opened:
            if table.state[target.offset + table.column[port]] == 1:
                confirmed[target.address].append(port)
        return {address: tuple(sorted(found)) for address, found in confirmed.items()}
    finally:
        if reader is not None:
            reader.stop()
        sender.close()
        table.close()
