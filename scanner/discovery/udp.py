"""UDP discovery with real protocol payloads.

Spoken: the protocols in PROTOCOLS (DNS, TFTP, NTP, SNMP, IPMI (RMCP/ASF), SSDP, mDNS,
CoAP, BACnet/IP and EtherNet/IP), each on its ports; each protocol's requests and reply
parser live in its module in scanner/discovery/udp_protocols/.

A UDP port gives no handshake: an empty datagram is usually dropped, so "no answer" says
nothing. We only probe ports where we can speak the protocol, and count a port as found
only when the reply parses as that protocol (a payload echo or garbage is not a reply).
Ports without a known payload are skipped, not guessed at; `unprobed` names them so the
caller can say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols import (
    bacnet,
    coap,
    dns,
    enip,
    ipmi,
    mdns,
    ntp,
    snmp,
    ssdp,
    tftp,
)
from scanner.pacing import UNPACED, Pacer

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from scanner.discovery.udp_protocols.spec import Request, UdpProtocol

#: Longest datagram we keep; anything past it is ignored rather than buffered.
MAX_DATAGRAM = 64 * 1024
#: Datagrams kept per scan before further ones are dropped: a flood cannot exhaust memory.
MAX_DATAGRAMS = 10_000

#: Every protocol discovery speaks: adding one is a module in udp_protocols/ and a line here.
PROTOCOLS: tuple[UdpProtocol, ...] = (
    dns.PROTOCOL,
    tftp.PROTOCOL,
    ntp.PROTOCOL,
    snmp.PROTOCOL,
    ipmi.PROTOCOL,
    ssdp.PROTOCOL,
    mdns.PROTOCOL,
    coap.PROTOCOL,
    bacnet.PROTOCOL,
    enip.PROTOCOL,
)

#: Port number -> the protocol spoken there.
_BY_PORT: dict[int, UdpProtocol] = {port: p for p in PROTOCOLS for port in p.ports}
#: Port number -> name of the protocol spoken there.
PROTOCOL_BY_PORT: dict[int, str] = {port: p.name for port, p in _BY_PORT.items()}


@dataclass(frozen=True, slots=True)
class UdpReply:
    """One UDP service that answered in its own protocol."""

    port: int
    protocol: str  # a value of PROTOCOL_BY_PORT: "snmp", "dns", "tftp", "bacnet", ...
    request: str  # what was sent, described
    response: str  # bounded summary of what came back (sysDescr, rcode, error message...)
    community: str = ""  # SNMP community that was accepted


# --- the scan ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Probe:
    address: str
    port: int
    protocol: UdpProtocol
    request: Request


def unprobed(ports: Iterable[int]) -> tuple[int, ...]:
    """The ports among `ports` udp_scan sends nothing to (no known payload), sorted.

    For such ports silence would say nothing, so they are skipped; the caller can tell the
    user they were not examined rather than report them closed.
    """
    return tuple(sorted({p for p in ports if p not in PROTOCOL_BY_PORT}))


class _Collector(asyncio.DatagramProtocol):
    """Keeps (source, data) pairs, bounded in size and number, and wakes the scanner."""

    def __init__(self) -> None:
        self.datagrams: list[tuple[str, int, bytes]] = []
        self.arrived = asyncio.Event()
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(self.datagrams) >= MAX_DATAGRAMS:
            self.dropped += 1
            return
        try:
            host = _normal(str(addr[0]))
        except ValueError:
            return
        port = addr[1]
        if isinstance(port, int):
            self.datagrams.append((host, port, data[:MAX_DATAGRAM]))
            self.arrived.set()

    def error_received(self, exc: Exception) -> None:
        # ICMP errors on an unconnected socket say nothing we act on: silence is the result.
        pass


def _normal(address: str) -> str:
    return str(ipaddress.ip_address(address.split("%", 1)[0]))


async def udp_scan(
    addresses: Sequence[str],
    ports: Sequence[int],
    *,
    timeout: float = 1.5,
    retries: int = 1,
    pacer: Pacer = UNPACED,
) -> dict[str, tuple[UdpReply, ...]]:
    """Replies per address from the UDP services we can speak to among `ports`.

    Probed: the ports of the protocols in PROTOCOLS (PROTOCOL_BY_PORT; SNMP with both v1
    and v2c). Ports without a known payload are not probed at all (see `unprobed`): they
    never appear in the result, whatever listens there.

    Each probe is sent up to `1 + retries` times, `timeout` seconds apart; a reply counts
    only if it comes from the probed address and parses as the probed protocol. Every
    address is in the result, with an empty tuple when nothing answered. Each datagram
    takes a slot of `pacer` (--max-rate, --scan-delay) before it leaves.
    """
    # Per-scan random values a reply must echo, so a stale or forged one does not count.
    rng = random.SystemRandom()
    requests = {p.name: p.start(rng) for p in PROTOCOLS}
    unique = list(dict.fromkeys(addresses))
    probes = [
        _Probe(address, port, _BY_PORT[port], request)
        for address in unique
        for port in dict.fromkeys(ports)
        if port in _BY_PORT
        for request in requests[_BY_PORT[port].name](address, port)
    ]
    results: dict[str, dict[tuple[int, str, str], UdpReply]] = {a: {} for a in unique}
    if not probes:
        return dict.fromkeys(unique, ())

    loop = asyncio.get_running_loop()
    by_family: dict[socket.AddressFamily, list[_Probe]] = {}
    for probe in probes:
        family = socket.AF_INET6 if ":" in probe.address else socket.AF_INET
        by_family.setdefault(family, []).append(probe)
    collector = _Collector()
    transports: dict[socket.AddressFamily, asyncio.DatagramTransport] = {}
    # Probes by normalised source address, to match replies from that address.
    by_source: dict[str, list[_Probe]] = {}
    for probe in probes:
        by_source.setdefault(_normal(probe.address), []).append(probe)
    answered: set[tuple[str, int, str]] = set()  # (address, port, label)
    expected = {(p.address, p.port, p.request.label) for p in probes}
    try:
        for family in by_family:
            local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)  # noqa: S104
            transport, _ = await loop.create_datagram_endpoint(
                lambda: collector, local_addr=local, family=family
            )
            transports[family] = transport
        for _attempt in range(1 + max(0, retries)):
            for family, family_probes in by_family.items():
                for probe in family_probes:
                    if (probe.address, probe.port, probe.request.label) not in answered:
                        payload = probe.request.payload
                        await pacer.wait(probe.address)
                        transports[family].sendto(payload, (probe.address, probe.port))
            deadline = loop.time() + timeout
            while answered != expected:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                collector.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(collector.arrived.wait(), remaining)
                _match(collector, by_source, results, answered)
            if answered == expected:
                break
        _match(collector, by_source, results, answered)
    finally:
        for transport in transports.values():
            transport.close()
    return {
        address: tuple(sorted(found.values(), key=lambda r: (r.port, r.request)))
        for address, found in results.items()
    }


def _match(
    collector: _Collector,
    by_source: dict[str, list[_Probe]],
    results: dict[str, dict[tuple[int, str, str], UdpReply]],
    answered: set[tuple[str, int, str]],
) -> None:
    """Attribute each received datagram to the probe it answers, if any."""
    datagrams, collector.datagrams = collector.datagrams, []
    for host, sport, data in datagrams:
        candidates = by_source.get(host, [])
        # Same port first; SSDP and TFTP may answer from another port (any_source_port).
        ordered = [p for p in candidates if p.port == sport] + [
            p for p in candidates if p.port != sport and p.protocol.any_source_port
        ]
        for probe in ordered:
            parsed = probe.request.parse(data)
            if parsed is None:
                continue
            label, summary = parsed
            match = next(
                (p for p in candidates if p.port == probe.port and p.request.label == label),
                probe,
            )
            key = (match.port, match.protocol.name, match.request.label)
            if key not in results[match.address]:
                results[match.address][key] = UdpReply(
                    port=match.port,
                    protocol=match.protocol.name,
                    request=match.request.text,
                    response=summary,
                    community=match.request.community,
                )
            answered.add((match.address, match.port, match.request.label))
            break
