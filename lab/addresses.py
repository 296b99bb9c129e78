"""Which loopback addresses lab devices use.

Linux routes all of 127.0.0.0/8 to `lo`, so every device gets its own address with no setup.
Demo labs live in 127.0.10.0/24; test runs in 127.0.20.0/24 .. 127.0.29.0/24, one /24 per
pytest-xdist worker so parallel workers never collide.
"""

from __future__ import annotations

import os
import re
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

DEMO_NETWORK = IPv4Network("127.0.10.0/24")
_TEST_FIRST_OCTET = 20
_TEST_NETWORKS = 10  # 127.0.20 .. 127.0.29
_WORKER = re.compile(r"gw(\d+)\Z")


def demo_network() -> IPv4Network:
    return DEMO_NETWORK


def test_network(worker: str | None) -> IPv4Network:
    """The /24 for a pytest-xdist worker ("gw3" -> 127.0.23.0/24).

    With no worker given, PYTEST_XDIST_WORKER is read; a run without xdist is worker 0.
    """
    name = worker if worker is not None else os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    match = _WORKER.match(name)
    if not match:
        raise ValueError(f"not a pytest-xdist worker name: {name!r} (expected gwN)")
    n = int(match.group(1))
    if n >= _TEST_NETWORKS:
        # Wrapping around would silently share addresses between workers.
        raise ValueError(f"worker {name}: only {_TEST_NETWORKS} test networks (gw0..gw9) exist")
    return IPv4Network(f"127.0.{_TEST_FIRST_OCTET + n}.0/24")


# pytest would otherwise collect `test_network` as a test wherever it is imported by name.
test_network.__test__ = False  # type: ignore[attr-defined]


def host_addresses(network: IPv4Network, first: int = 1) -> Iterator[IPv4Address]:
    """Host addresses of `network` starting at offset `first` (127.0.10.1, .2, ...)."""
    start = int(network.network_address) + first
    for value in range(start, int(network.broadcast_address)):
        yield IPv4Address(value)


def consecutive(first: str, count: int) -> list[str]:
    """`count` addresses from `first` upward, refusing to leave 127.0.0.0/8."""
    try:
        base = IPv4Address(first)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 address: {first!r}") from exc
    addresses = [IPv4Address(int(base) + i) for i in range(count)]
    loopback = IPv4Network("127.0.0.0/8")
    if any(a not in loopback for a in addresses):
        # The lab serves deliberately weak devices: they must never be reachable off the host.
        raise ValueError(f"{count} addresses from {first} leave 127.0.0.0/8 (loopback)")
    return [str(a) for a in addresses]
