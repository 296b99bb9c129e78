"""Which interface a subnet is on, when it is on one of the scanner's own links, read from
the kernel's routing tables (/proc/net/route, /proc/net/ipv6_route).

A link-layer sweep (scanner/discovery/link.py) only makes sense where the subnet's
addresses are reached without a router: ARP and Neighbor Discovery never cross one. So a
subnet is on-link when the most specific route covering all of it names an interface and no
gateway, and no narrower route sends part of it elsewhere (through a gateway, another
interface, or nowhere: a reject route). Loopback is no link. Anything else is refused with a
ConfigError that says which route decided.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

IPV4_ROUTES = Path("/proc/net/route")
IPV6_ROUTES = Path("/proc/net/ipv6_route")
#: a routing table is a line per route; one larger than this is read in part
MAX_TABLE_BYTES = 4 << 20
_RTF_UP, _RTF_GATEWAY, _RTF_REJECT = 0x0001, 0x0002, 0x0200
_RTF_LOCAL = 0x80000000  # IPv6: one of this host's own addresses (the local table)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Route:
    network: IPNetwork
    interface: str
    gateway: bool  # reached through a router
    reject: bool  # unreachable, prohibit, blackhole
    metric: int

    def __str__(self) -> str:
        how = "unreachable" if self.reject else "via a gateway" if self.gateway else "on-link"
        return f"{self.network} dev {self.interface} ({how})"


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return f.read(MAX_TABLE_BYTES).decode("ascii", "replace")
    except OSError:
        return ""


def parse_ipv4_routes(text: str) -> list[Route]:
    """/proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ..., the
    addresses in hex in the host's (little-endian) byte order."""
    routes: list[Route] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            dest = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
            flags, metric = int(fields[3], 16), int(fields[6])
            network = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        except ValueError:
            continue
        if flags & _RTF_UP:
            routes.append(
                Route(
                    network,
                    fields[0],
                    bool(flags & _RTF_GATEWAY),
                    bool(flags & _RTF_REJECT),
                    metric,
                )
            )
    return routes


def parse_ipv6_routes(text: str) -> list[Route]:
    """/proc/net/ipv6_route: dest plen src splen nexthop metric refcnt use flags iface."""
    routes: list[Route] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            dest = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            network = ipaddress.IPv6Network(f"{dest}/{int(fields[1], 16)}", strict=False)
            metric, flags = int(fields[5], 16), int(fields[8], 16)
        except ValueError:
            continue
        if flags & _RTF_UP and not flags & _RTF_LOCAL:  # our own address is never swept
            gateway = bool(flags & _RTF_GATEWAY) or int(fields[4], 16) != 0
            routes.append(Route(network, fields[9], gateway, bool(flags & _RTF_REJECT), metric))
    return routes


def _overlaps(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


def on_link_interface(subnet: IPNetwork, routes: list[Route]) -> str:
    """The interface every address of `subnet` is directly reached on; ConfigError when
    none is."""
    covering = [
        r
        for r in routes
        if r.network.version == subnet.version
        and r.network.prefixlen <= subnet.prefixlen
        and _overlaps(r.network, subnet)
    ]
    if not covering:
        raise ConfigError(f"{subnet} is on no link of this host: no route covers it")
    best = min(covering, key=lambda r: (-r.network.prefixlen, r.metric))
    if best.reject or best.gateway or best.interface == "lo":
        raise ConfigError(
            f"{subnet} is not on a local link (route {best}): link-layer discovery does not "
            "cross a router; scan it from a worker on that link"
        )
    for r in routes:
        narrower = r.network.prefixlen > best.network.prefixlen and _overlaps(r.network, subnet)
        if narrower and (r.gateway or r.reject or r.interface != best.interface):
            raise ConfigError(
                f"part of {subnet} is not on {best.interface}'s link (route {r}); "
                "sweep the on-link part only"
            )
    return best.interface


def interface_of(subnet: IPNetwork) -> str:
    """`on_link_interface` against this host's own routing tables."""
    if subnet.version == 4:
        return on_link_interface(subnet, parse_ipv4_routes(_read(IPV4_ROUTES)))
    return on_link_interface(subnet, parse_ipv6_routes(_read(IPV6_ROUTES)))


def link_networks(addresses: Iterable[str], routes: list[Route] | None = None) -> list[IPNetwork]:
    """The on-link networks (a route naming an interface and no gateway; not loopback)
    the `addresses` are on, each once, in the order first met: what a link-layer sweep of
    those devices asks. An address reached through a router is on none of them."""
    found: dict[IPNetwork, None] = {}
    table = routes
    if table is None:
        table = parse_ipv4_routes(_read(IPV4_ROUTES)) + parse_ipv6_routes(_read(IPV6_ROUTES))
    for text in addresses:
        address = ipaddress.ip_address(text)
        covering = [
            r for r in table if r.network.version == address.version and address in r.network
        ]
        if not covering:
            continue
        best = min(covering, key=lambda r: (-r.network.prefixlen, r.metric))
        if not (best.gateway or best.reject or best.interface == "lo"):
            found.setdefault(best.network)
    return list(found)
