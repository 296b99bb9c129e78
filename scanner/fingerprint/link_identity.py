"""A device's MAC address and its vendor, as facts and identity rows.

The MAC comes from a link-layer sweep when one ran (scanner/discovery/link.py: the ARP or
Neighbor Discovery answer), else from the kernel's neighbour table after the scan talked
to the device (scanner/discovery/neighbours.py). Its vendor is the IEEE registry's name for
the prefix (scanner/fingerprint/oui.py). Both are kept as identity rows ("link", "mac")
and ("link", "mac_vendor"): the service follows a device by its MAC; and the vendor is
published as the `LINK` fact, which the credential selection reads as one more vendor
the device states (`credential_lists.device_text`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.discovery import neighbours
from scanner.facts import LINK, LinkIdentity
from scanner.fingerprint.oui import vendor_of

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from scanner.facts import Facts


def link_identity(
    address: str,
    facts: Facts,
    *,
    swept: Mapping[str, str] | None = None,
    table: Path = neighbours.ARP_TABLE,
) -> list[tuple[str, str, str]]:
    """The identity rows (protocol, kind, text) of `address`'s MAC and vendor, [] when the
    MAC is not known; publishes `LINK` in `facts` when it is."""
    mac = (swept or {}).get(address, "") or neighbours.mac_of(address, table=table)
    if not mac:
        return []
    mac = mac.lower()
    vendor = vendor_of(mac)
    facts.put(LINK, LinkIdentity(mac, vendor))
    rows = [("link", "mac", mac)]
    if vendor:
        rows.append(("link", "mac_vendor", vendor))
    return rows
