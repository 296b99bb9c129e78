"""Two network namespaces joined by a veth pair: a scanner host and a device on one link.

For what loopback cannot show (a MAC address, link-layer discovery): the test makes both
namespaces, runs the device's server in one and shinsa in the other, and removes both
(their veth ends go with them). Neither namespace has a route beyond its own /24, and
nothing is bound on the machine's own interfaces: no packet can leave the pair.
Needs root (`ip netns`); tests using it carry the `root` marker.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

_serial = itertools.count()


@dataclass(frozen=True, slots=True)
class Link:
    scanner_ns: str
    device_ns: str
    scanner_address: str
    device_address: str
    device_mac: str  # as `ip link` reports the device end: the ground truth

    def in_scanner(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.scanner_ns, *argv]

    def in_device(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.device_ns, *argv]


def _ip(*argv: str) -> str:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def linked_namespaces(subnet: int) -> Iterator[Link]:
    """A scanner namespace (10.250.SUBNET.1) and a device namespace (10.250.SUBNET.2) on one
    veth link; `subnet` keeps tests that run side by side apart."""
    tag = f"{os.getpid() % 100000}{next(_serial)}"
    scanner_ns, device_ns = f"shinsa-s{tag}", f"shinsa-d{tag}"
    made: list[str] = []
    try:
        for ns in (scanner_ns, device_ns):
            _ip("netns", "add", ns)
            made.append(ns)
        scanner_if, device_if = f"vs{tag}"[:15], f"vd{tag}"[:15]
        _ip(
            "link", "add", scanner_if, "netns", scanner_ns,
            "type", "veth", "peer", "name", device_if, "netns", device_ns,
        )  # fmt: skip
        addresses = {scanner_ns: (scanner_if, 1), device_ns: (device_if, 2)}
        for ns, (dev, host) in addresses.items():
            _ip("-n", ns, "addr", "add", f"10.250.{subnet}.{host}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        shown = _ip("-n", device_ns, "link", "show", device_if)
        found = re.search(r"link/ether ([0-9a-f:]{17})", shown)
        if found is None:
            raise RuntimeError(f"no MAC address in: {shown}")
        yield Link(
            scanner_ns,
            device_ns,
            f"10.250.{subnet}.1",
            f"10.250.{subnet}.2",
            found.group(1),
        )
    finally:
        for ns in made:
            # processes still inside keep a namespace's interfaces alive: ended first
            pids = subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
            ).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
