"""The allow-list and the exclusions: nothing outside the one or inside the other is
contacted, not even by a redirect. Every connection, datagram and discovery packet passes
`Scope.check` (or `admits`) before it leaves, so an excluded address is refused where an
address outside the allow-list is."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.errors import ConfigError, ScopeError

if TYPE_CHECKING:
    from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_network(text: str, option: str = "--allow") -> IPNetwork:
    """One `--allow` entry: an address or a CIDR."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r} is not an IP address or CIDR network") from exc


def range_ends(text: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The first and last address of a range written a.b.c.d-e (the last octet) or
    a.b.c.d-e.f.g.h, the one range syntax of targets and `--exclude`; ValueError when `text`
    is not one (each caller words its own error)."""
    first_s, _, last_s = text.partition("-")
    first = ipaddress.IPv4Address(first_s)
    if "." in last_s:
        return first, ipaddress.IPv4Address(last_s)
    return first, ipaddress.IPv4Address(f"{first_s.rsplit('.', 1)[0]}.{int(last_s)}")


def parse_exclusion(text: str, option: str = "--exclude") -> list[IPNetwork]:
    """One `--exclude` entry: an address, a CIDR or a range (a.b.c.d-e or a.b.c.d-e.f.g.h),
    as the few networks it covers."""
    text = text.strip()
    if "-" not in text:
        return [parse_network(text, option)]
    try:
        first, last = range_ends(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: expected an address, a CIDR or a range a.b.c.d-e"
        ) from None
    if int(last) < int(first):
        raise ConfigError(f"{option} {text!r}: the range ends before it starts")
    return list(ipaddress.summarize_address_range(first, last))


def _admitted(ip: IPAddress, hosts: frozenset[IPAddress], blocks: tuple[IPNetwork, ...]) -> bool:
    return ip in hosts or any(ip.version == n.version and ip in n for n in blocks)


@dataclass(frozen=True, slots=True)
class Scope:
    """The networks a scan may touch, minus those it must not (`--exclude`)."""

    networks: tuple[IPNetwork, ...]
    excluded: tuple[IPNetwork, ...] = ()
    # Single addresses (a target list, nmap XML) looked up in a set, the rest scanned: an
    # allow-list of 65,536 /32s made every check scan them all, quadratic over a scan.
    _hosts: frozenset[IPAddress] = field(init=False, repr=False, compare=False)
    _blocks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    _out_hosts: frozenset[IPAddress] = field(init=False, repr=False, compare=False)
    _out_blocks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for prefix, nets in (("", self.networks), ("_out", self.excluded)):
            single = frozenset(n.network_address for n in nets if n.num_addresses == 1)
            object.__setattr__(self, f"{prefix}_hosts", single)
            object.__setattr__(
                self, f"{prefix}_blocks", tuple(n for n in nets if n.num_addresses != 1)
            )

    @classmethod
    def of(cls, entries: Iterable[str], excluded: Iterable[str] = ()) -> Scope:
        return cls(
            tuple(parse_network(e) for e in entries),
            tuple(n for e in excluded for n in parse_exclusion(e)),
        )

    def _ip(self, address: str) -> IPAddress | None:
        try:
            return ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return None  # a host name is never in scope: resolve first, then ask

    def excludes(self, address: str) -> bool:
        """`address` is inside an exclusion (whatever the allow-list says)."""
        ip = self._ip(address)
        return ip is not None and _admitted(ip, self._out_hosts, self._out_blocks)

    def admits(self, address: str) -> bool:
        ip = self._ip(address)
        return (
            ip is not None
            and _admitted(ip, self._hosts, self._blocks)
            and not _admitted(ip, self._out_hosts, self._out_blocks)
        )

    def check(self, address: str, what: str = "target") -> None:
        """Raise ScopeError unless `address` is inside the allow-list and outside every
        exclusion."""
        if self.excludes(address):
            raise ScopeError(f"{what} {address} is excluded (--exclude)")
        if not self.admits(address):
            allowed = ", ".join(str(n) for n in self.networks) or "nothing"
            raise ScopeError(f"{what} {address} is outside the allow-list ({allowed})")

    def __str__(self) -> str:
        allowed = ", ".join(str(n) for n in self.networks)
        if not self.excluded:
            return allowed
        return f"{allowed} except {', '.join(str(n) for n in self.excluded)}"
