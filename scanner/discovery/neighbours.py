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
import re
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
        wanted = ipaddress.IPv4Address(address)
    except ValueError:
        return ""
    try:
        with table.open("rb") as f:
            text = f.read(MAX_TABLE_BYTES).decode("ascii", "replace")
    except OSError:
        return ""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        try:
            if ipaddress.IPv4Address(fields[0]) != wanted or not int(fields[2], 16) & _COMPLETE:
                continue
        except ValueError:
            continue
        mac = fields[3].lower()
        if _MAC.fullmatch(mac) and mac != "00:00:00:00:00:00":
            return mac
    return ""
