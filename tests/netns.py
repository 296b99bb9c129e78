"""Network namespaces for what loopback cannot show (a MAC address, link-layer discovery).

`linked_namespaces`: a scanner host and a device joined by one veth pair.
`bridged_namespaces`: a scanner host with a bridge and N device namespaces on it, each by
its own veth pair, with IPv4 and IPv6 addresses: one Ethernet segment.

The test makes the namespaces, runs the devices' servers in theirs and shinsa in the
scanner's, and removes them all (their veth ends and the bridge go with them). No
namespace has a route beyond its own subnets, and nothing is bound on the machine's own
interfaces: no packet can leave them. Needs root (`ip netns`); tests using them carry the
`root` marker.
"""

from __future__ import annotations

import contextlib
import itertools
import json
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


@dataclass(frozen=True, slots=True)
class Device:
    ns: str
    address: str  # 10.250.SUBNET.(10 + i)
    address6: str  # fd00:250:SUBNET::(10 + i)
    mac: str  # as `ip -j link` shows it inside the device's namespace: the ground truth

    def run(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]


@dataclass(frozen=True, slots=True)
class Segment:
    scanner_ns: str
    bridge: str  # the scanner's interface on the segment
    scanner_address: str  # 10.250.SUBNET.1
    scanner_address6: str  # fd00:250:SUBNET::1
    subnet: str  # 10.250.SUBNET.0/24
    subnet6: str  # fd00:250:SUBNET::/64
    devices: tuple[Device, ...]

    def in_scanner(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.scanner_ns, *argv]


def _mac(ns: str, dev: str) -> str:
    shown = json.loads(_ip("-j", "-n", ns, "link", "show", "dev", dev))
    return str(shown[0]["address"]).lower()


def _remove(namespaces: list[str]) -> None:
    for ns in namespaces:
        # processes still inside keep a namespace's interfaces alive: ended first
        pids = subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@contextlib.contextmanager
def bridged_namespaces(subnet: int, devices: int) -> Iterator[Segment]:
    """A scanner namespace holding a bridge (10.250.SUBNET.1/24, fd00:250:SUBNET::1/64)
    and `devices` device namespaces on it (.10, .11, ...; ::a, ::b, ...). IPv6 addresses
    skip duplicate address detection (`nodad`), so they answer at once; the bridge does not
    snoop multicast, so a solicited-node group reaches every port from the start."""
    if not 1 <= devices <= 40:
        raise ValueError("1 to 40 devices")
    tag = f"{os.getpid() % 100000}{next(_serial)}"
    scanner_ns = f"shinsa-bs{tag}"
    bridge = f"br{tag}"[:15]
    made: list[str] = []
    try:
        _ip("netns", "add", scanner_ns)
        made.append(scanner_ns)
        _ip("-n", scanner_ns, "link", "set", "lo", "up")
        _ip(
            "-n", scanner_ns, "link", "add", bridge, "type", "bridge",
            "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0",
        )  # fmt: skip
        _ip("-n", scanner_ns, "addr", "add", f"10.250.{subnet}.1/24", "dev", bridge)
        _ip("-n", scanner_ns, "addr", "add", f"fd00:250:{subnet}::1/64", "dev", bridge, "nodad")
        _ip("-n", scanner_ns, "link", "set", bridge, "up")
        found: list[Device] = []
        for i in range(devices):
            ns = f"shinsa-bd{tag}-{i}"
            _ip("netns", "add", ns)
            made.append(ns)
            port, inner = f"bp{tag}x{i}"[:15], f"bd{tag}x{i}"[:15]
            _ip(
                "link", "add", port, "netns", scanner_ns,
                "type", "veth", "peer", "name", inner, "netns", ns,
            )  # fmt: skip
            _ip("-n", scanner_ns, "link", "set", port, "master", bridge)
            _ip("-n", scanner_ns, "link", "set", port, "up")
            host = 10 + i
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"10.250.{subnet}.{host}/24", "dev", inner)
            _ip("-n", ns, "addr", "add", f"fd00:250:{subnet}::{host:x}/64", "dev", inner, "nodad")
            _ip("-n", ns, "link", "set", inner, "up")
            found.append(
                Device(
                    ns, f"10.250.{subnet}.{host}", f"fd00:250:{subnet}::{host:x}", _mac(ns, inner)
                )
            )
        yield Segment(
            scanner_ns,
            bridge,
            f"10.250.{subnet}.1",
            f"fd00:250:{subnet}::1",
            f"10.250.{subnet}.0/24",
            f"fd00:250:{subnet}::/64",
            tuple(found),
        )
    finally:
        _remove(made)
