"""Link-layer discovery: who is on one of the scanner's own links, with their MACs.

ARP (IPv4) and Neighbor Solicitation (IPv6, RFC 4861 §7.2.2) sweeps of an on-link subnet,
where scapy is the right tool: the frames are built with its layers once, before the first
is sent, then written in bulk on one packet socket bound to the interface the route names
(scanner/discovery/routes.py), and the answers are read from the same socket and matched
to the requests: an ARP reply (op 2) from an address we asked, to our address; a Neighbor
Advertisement with hop limit 255 whose target we asked. Unanswered addresses are asked once
more; the whole sweep is bounded by twice the send time plus `timeout`.

Why a packet socket of our own rather than scapy's `srp`: bound to one EtherType, the
kernel hands it ARP frames only (no BPF compiler, libpcap or tcpdump needed), and one
socket reading in this thread needs no sniffer thread to start and stop.

No multicast echo to all nodes (ff02::1): it reaches every node on the link, in the scope
or not; a Neighbor Solicitation goes to one solicited-node group, which only addresses
sharing its last 24 bits join, and only the target answers it. So IPv6 sweeps are of
bounded subnets (a /64 has 2^64 addresses): `MAX_ND_ADDRESSES`.

Every address asked passes the scan's Scope: an excluded one (--exclude) is not asked, one
outside the allow-list refuses the sweep (ScopeError) before a frame is sent. Needs root or
CAP_NET_RAW; without it, the sweep says so and reads the kernel's neighbour table instead
(`Sweep.notice`), which holds only the devices this host has talked to recently.
"""

from __future__ import annotations

import errno
import ipaddress
import select
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from scanner.discovery import bpf, neighbours
from scanner.discovery.routes import interface_of
from scanner.errors import ConfigError
from scanner.pacing import UNPACED, Pacer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from scanner.scope import Scope

    #: pairs a frame read with one of the pending requests: (address, MAC) or None
    Match: TypeAlias = Callable[[bytes, dict[str, bytes]], tuple[str, str] | None]

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
#: addresses one sweep asks at most: an IPv4 /16; an IPv6 /116 (each NS is built by scapy)
MAX_ARP_ADDRESSES = 1 << 16
MAX_ND_ADDRESSES = 1 << 12
#: frames read per address asked, at most: a busy link cannot keep a sweep reading
_FRAMES_PER_ADDRESS = 16
_SEND_BUFFER = 4 << 20
_ICMPV6, _NA = 58, 136
_BROADCAST = "ff:ff:ff:ff:ff:ff"


@dataclass(frozen=True, slots=True)
class Sweep:
    subnet: str
    interface: str
    method: str  # "ARP", "Neighbor Discovery" or "kernel neighbour table"
    found: dict[str, str] = field(default_factory=dict)  # address -> MAC, address order
    asked: int = 0  # addresses asked (0 when the kernel's table was read instead)
    notice: str = ""  # why the sweep fell back, for the run's notices


def _network(subnet: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(subnet, strict=False)
    except ValueError as exc:
        raise ConfigError(f"link sweep: {subnet!r} is not a subnet ({exc})") from None


def addresses_to_ask(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, scope: Scope, own: Iterable[str] = ()
) -> list[str]:
    """The subnet's host addresses a sweep may ask: those the scope excludes are left out,
    one outside the allow-list refuses the whole sweep (ScopeError), and our own are not
    asked. ConfigError for a subnet larger than one sweep asks."""
    limit = MAX_ARP_ADDRESSES if network.version == 4 else MAX_ND_ADDRESSES
    if network.num_addresses > limit + 2:
        raise ConfigError(
            f"link sweep of {network}: {network.num_addresses} addresses, more than the "
            f"{limit} one sweep asks; give smaller subnets"
        )
    mine = {ipaddress.ip_address(a) for a in own}
    chosen: list[str] = []
    for host in network.hosts():
        text = str(host)
        if scope.excludes(text):
            continue
        scope.check(text, "link-layer request to")
        if host not in mine:
            chosen.append(text)
    return chosen


def _source_for(address: str) -> str:
    """The address the kernel would send from to reach `address` (a UDP connect sends
    nothing)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((address, 9))
        return str(probe.getsockname()[0]).split("%", 1)[0]


def _interface_mac(interface: str) -> str:
    path = Path("/sys/class/net") / interface / "address"
    try:
        return path.read_text(encoding="ascii").strip().lower()
    except OSError as exc:
        raise ConfigError(f"link sweep: no MAC address for interface {interface}: {exc}") from None


def _packet_socket(interface: str, ethertype: int) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
        sock.bind((interface, ethertype))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def raw_available() -> bool:
    """True when this process may open packet sockets (root or CAP_NET_RAW on Linux)."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)).close()
    except (OSError, AttributeError):  # AttributeError: no AF_PACKET outside Linux
        return False
    return True


# --- frames, built with scapy's layers ----------------------------------------------------


def arp_requests(addresses: Sequence[str], source: str, mac: str) -> list[bytes]:
    """One broadcast ARP who-has per address. scapy builds the first frame; the others
    differ from it only in the 4 bytes of the target protocol address (the frame's last
    field), so they are that frame with those bytes replaced: a /16 is built in
    milliseconds rather than seconds."""
    from scapy.layers.l2 import ARP, Ether

    template = bytes(
        Ether(dst=_BROADCAST, src=mac, type=ETH_P_ARP)
        / ARP(op=1, hwsrc=mac, psrc=source, hwdst="00:00:00:00:00:00", pdst="0.0.0.0")  # noqa: S104 - the slot each frame fills
    )
    head = template[:-4]
    return [head + socket.inet_aton(a) for a in addresses]


def neighbor_solicitations(addresses: Sequence[str], source: str, mac: str) -> list[bytes]:
    """One Neighbor Solicitation per address, to its solicited-node multicast group
    (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX), hop limit 255, with our link-layer
    address (RFC 4861 §4.3)."""
    from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import Ether

    frames: list[bytes] = []
    for address in addresses:
        low = ipaddress.IPv6Address(address).packed[-3:]
        group = ipaddress.IPv6Address(bytes.fromhex("ff02" + "00" * 8 + "0001ff") + low)
        frame = (
            Ether(dst="33:33:" + ":".join(f"{b:02x}" for b in group.packed[-4:]), src=mac)
            / IPv6(src=source, dst=str(group), hlim=255)
            / ICMPv6ND_NS(tgt=address)
            / ICMPv6NDOptSrcLLAddr(lladdr=mac)
        )
        frames.append(bytes(frame))
    return frames


# --- answers, read with scapy's layers ----------------------------------------------------


def arp_answer(frame: bytes, pending: dict[str, bytes], source: str) -> tuple[str, str] | None:
    """(address, MAC) of an ARP reply to one of our requests, else None."""
    from scapy.layers.l2 import ARP, Ether

    if len(frame) < 42:
        return None
    arp = Ether(frame).getlayer(ARP)
    if arp is None or arp.op != 2 or arp.pdst != source or arp.psrc not in pending:
        return None
    mac = str(arp.hwsrc).lower()
    return (str(arp.psrc), mac) if _usable(mac) else None


def nd_answer(frame: bytes, pending: dict[str, bytes]) -> tuple[str, str] | None:
    """(address, MAC) of a Neighbor Advertisement for one of our targets, else None: hop
    limit 255 (it was not routed, RFC 4861 §7.1.2), its target link-layer address option,
    or the frame's source when it carries none."""
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import Ether

    if len(frame) < 14 + 40 + 24:
        return None
    ether = Ether(frame)
    ip6, na = ether.getlayer(IPv6), ether.getlayer(ICMPv6ND_NA)
    if ip6 is None or na is None or ip6.hlim != 255:
        return None
    target = str(ipaddress.IPv6Address(na.tgt))
    if target not in pending:
        return None
    option = ether.getlayer(ICMPv6NDOptDstLLAddr)
    mac = str(option.lladdr if option is not None else ether.src).lower()
    return (target, mac) if _usable(mac) else None


def _usable(mac: str) -> bool:
    return mac not in ("00:00:00:00:00:00", _BROADCAST) and not int(mac[:2], 16) & 1


def _attach_na_filter(sock: socket.socket) -> None:
    """Kernel-side filter for an IPv6 packet socket: ICMPv6 type 136 only (no extension
    headers: a Neighbor Advertisement carries none). Without it the userspace checks still
    hold, just slower."""
    program = [
        (0x30, 0, 0, 14 + 6),  # ldb [20]     next header
        (0x15, 0, 3, _ICMPV6),  # jeq #58
        (0x30, 0, 0, 14 + 40),  # ldb [54]     ICMPv6 type
        (0x15, 0, 1, _NA),  # jeq #136
        (0x06, 0, 0, 0x40000),  # ret #big  accept
        (0x06, 0, 0, 0),  # ret #0       drop
    ]
    bpf.attach(sock, program)


# --- the exchange -------------------------------------------------------------------------


def _exchange(
    sock: socket.socket,
    requests: dict[str, bytes],
    match: Match,
    *,
    timeout: float,
    pacer: Pacer,
) -> dict[str, str]:
    """Send every request, read answers while sending and `timeout` after the last one;
    then the unanswered once more. `match(frame, pending)` pairs a frame with a request."""
    found: dict[str, str] = {}
    budget = _FRAMES_PER_ADDRESS * len(requests) + 1024

    def drain(pending: dict[str, bytes]) -> None:
        nonlocal budget
        while budget > 0:
            try:
                frame = sock.recv(2048)
            except BlockingIOError:
                return
            budget -= 1
            got = match(frame, pending)
            if got is not None and got[0] in pending:
                del pending[got[0]]
                found.setdefault(*got)

    pending = dict(requests)
    for _attempt in range(2):
        for address, frame in list(pending.items()):
            if pacer.active:
                pacer.wait_blocking(address)
            for _ in range(50):  # the interface's queue is full: give it a moment
                try:
                    sock.send(frame)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.ENOBUFS):
                        raise
                    select.select([], [], [], 0.001)
            drain(pending)
        deadline = time.monotonic() + timeout
        while pending and budget > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            select.select([sock], [], [], min(remaining, 0.05))
            drain(pending)
        if not pending:
            break
    return {a: found[a] for a in requests if a in found}


def sweep(
    subnet: str,
    scope: Scope,
    *,
    timeout: float = 1.0,
    pacer: Pacer = UNPACED,
) -> Sweep:
    """Address -> MAC of every device on the on-link `subnet` that answers; blocking (run
    it in a thread). ConfigError for a subnet not on a local link or too large, ScopeError
    for one reaching outside the scope."""
    network = _network(subnet)
    interface = interface_of(network)
    first = next(iter(network.hosts()), network.network_address)
    source = _source_for(str(first))
    addresses = addresses_to_ask(network, scope, own=(source,))
    method = "ARP" if network.version == 4 else "Neighbor Discovery"
    if not raw_available():
        return Sweep(
            str(network),
            interface,
            "kernel neighbour table",
            _kernel_table(network, addresses, interface),
            notice=(
                f"{method} sweep of {network} needs root or CAP_NET_RAW; read the kernel's "
                "neighbour table instead, which holds only devices this host talked to lately"
            ),
        )
    mac = _interface_mac(interface)
    if network.version == 4:
        frames = arp_requests(addresses, source, mac)
        sock = _packet_socket(interface, ETH_P_ARP)

        def answer(frame: bytes, pending: dict[str, bytes]) -> tuple[str, str] | None:
            return arp_answer(frame, pending, source)

        match: Match = answer
    else:
        frames = neighbor_solicitations(addresses, source, mac)
        sock = _packet_socket(interface, ETH_P_IPV6)
        _attach_na_filter(sock)
        match = nd_answer
    try:
        found = _exchange(
            sock, dict(zip(addresses, frames, strict=True)), match, timeout=timeout, pacer=pacer
        )
    finally:
        sock.close()
    return Sweep(str(network), interface, method, found, asked=len(addresses))


def _kernel_table(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, addresses: Sequence[str], interface: str
) -> dict[str, str]:
    wanted = set(addresses)
    if network.version == 4:
        table = neighbours.arp_table(interface=interface)
    else:
        table = neighbours.ipv6_neighbours(interface)
    return {a: table[a] for a in addresses if a in table and a in wanted}
