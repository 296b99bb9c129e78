"""A device's MAC address, where it is on the scanner's own link: read from the kernel's
neighbour table after the scan has talked to it, never asked for on the network.

Once a TCP connection or a UDP probe has reached an on-link IPv4 address, Linux holds its
answer to the ARP request in `/proc/net/arp` (flags 0x2: complete). A device behind a router
is not there (the router's MAC would be, under the router's address), so a MAC read here
names the device itself. What the table does not hold yields "" (not on the link, not
Linux, an IPv6 address: the IPv6 neighbour table is not in /proc): a device is then
followed by its other identity signals (scanner/fingerprint/identity.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from pathlib import Path

ARP_TABLE = Path("/proc/net/arp")
#: the table is a line per neighbour; a machine with more than this is read in part
MAX_TABLE_BYTES = 1 << 20
_COMPLETE = 0x2
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def mac_of(address: str, *, table: Path = ARP_TABLE) -> str:
    """The MAC address the kernel resolved for IPv4 `address` ("aa:bb:cc:dd:ee:ff",
    lower case), or "" when it holds none."""
    try:
        wanted = str(ipaddress.IPv4Address(address))
    except ValueError:
        return ""
    return arp_table(table).get(wanted, "")


def arp_table(table: Path = ARP_TABLE, *, interface: str = "") -> dict[str, str]:
    """Every complete IPv4 entry of the kernel's table (on `interface` when given):
    address -> MAC, lower case."""
    try:
        with table.open("rb") as f:
            text = f.read(MAX_TABLE_BYTES).decode("ascii", "replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or (interface and fields[-1] != interface):
            continue
        try:
            address = str(ipaddress.IPv4Address(fields[0]))
            if not int(fields[2], 16) & _COMPLETE:
                continue
        except ValueError:
            continue
        mac = fields[3].lower()
        if _MAC.fullmatch(mac) and mac != "00:00:00:00:00:00":
            found.setdefault(address, mac)
    return found


def ipv6_neighbours(interface: str) -> dict[str, str]:
    """The kernel's IPv6 neighbours on `interface` that have a MAC (address -> MAC), as
    `ip -j -6 neigh` shows them: Linux keeps that table in netlink only, not in /proc.
    Empty when `ip` is missing or fails."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, the interface a route named
            ["ip", "-j", "-6", "neigh", "show", "dev", interface],  # noqa: S607 - iproute2
            capture_output=True,
            timeout=10,
            check=False,
        )
        rows = json.loads(done.stdout[:MAX_TABLE_BYTES] or b"[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    found: dict[str, str] = {}
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, dict):
            continue
        address, mac, state = row.get("dst"), row.get("lladdr"), row.get("state") or []
        if not isinstance(address, str) or not isinstance(mac, str) or "FAILED" in state:
            continue
        mac = mac.lower()
        try:
            address = str(ipaddress.IPv6Address(address))
        except ValueError:
            continue
        if _MAC.fullmatch(mac) and mac != "00:00:00:00:00:00":
            found.setdefault(address, mac)
    return found
