"""The allow-list: nothing outside it is contacted, not even by a redirect."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.errors import ConfigError, ScopeError

if TYPE_CHECKING:
    from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_network(text: str) -> IPNetwork:
    """One `--allow` entry: an address or a CIDR."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise ConfigError(f"--allow {text!r} is not an IP address or CIDR network") from exc


@dataclass(frozen=True, slots=True)
class Scope:
    """The networks a scan may touch."""

    networks: tuple[IPNetwork, ...]
    # Single addresses (a target list, nmap XML) looked up in a set, the rest scanned: an
    # allow-list of 65,536 /32s made every check scan them all, quadratic over a scan.
    _hosts: frozenset[IPAddress] = field(init=False, repr=False, compare=False)
    _blocks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        single = [n for n in self.networks if n.num_addresses == 1]
        object.__setattr__(self, "_hosts", frozenset(n.network_address for n in single))
        object.__setattr__(self, "_blocks", tuple(n for n in self.networks if n.num_addresses != 1))

    @classmethod
    def of(cls, entries: Iterable[str]) -> Scope:
        return cls(tuple(parse_network(e) for e in entries))

    def admits(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False  # a host name is never in scope: resolve first, then ask
        return ip in self._hosts or any(ip.version == n.version and ip in n for n in self._blocks)

    def check(self, address: str, what: str = "target") -> None:
        """Raise ScopeError unless `address` is inside the allow-list."""
        if not self.admits(address):
            allowed = ", ".join(str(n) for n in self.networks) or "nothing"
            raise ScopeError(f"{what} {address} is outside the allow-list ({allowed})")

    def __str__(self) -> str:
        return ", ".join(str(n) for n in self.networks)
