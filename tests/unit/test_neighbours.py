"""Reading a device's MAC from the kernel's neighbour table (scanner/discovery/neighbours.py).
The real table in a network namespace is read in tests/root/test_mac_on_link.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.discovery.neighbours import arp_table, mac_of

if TYPE_CHECKING:
    from pathlib import Path

HEADER = "IP address       HW type     Flags       HW address            Mask     Device\n"


def _table(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "arp"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    return path


def test_a_complete_entry_gives_its_mac_and_nothing_else_does(tmp_path: Path) -> None:
    table = _table(
        tmp_path,
        "10.250.0.2       0x1         0x2         A6:ED:96:17:6A:3E     *        eth0",
        "10.250.0.3       0x1         0x0         00:00:00:00:00:00     *        eth0",
        "10.250.0.4       0x1         0x6         02:00:00:00:00:04     *        eth0",
        "10.250.0.5       0x1         0x2         00:00:00:00:00:00     *        eth0",
        "garbage line",
        "10.250.0.6 0x1 0xzz 02:00:00:00:00:06 * eth0",
        "10.250.0.7 0x1 0x2 <script> * eth0",
    )
    assert mac_of("10.250.0.2", table=table) == "a6:ed:96:17:6a:3e"
    assert mac_of("10.250.0.3", table=table) == ""  # incomplete: the ARP request went unanswered
    assert mac_of("10.250.0.4", table=table) == "02:00:00:00:00:04"  # permanent and complete
    assert mac_of("10.250.0.5", table=table) == ""
    assert mac_of("10.250.0.6", table=table) == ""
    assert mac_of("10.250.0.7", table=table) == ""
    assert mac_of("10.250.0.9", table=table) == ""  # not on the link
    assert mac_of("fe80::1", table=table) == ""  # IPv6: not in this table
    assert mac_of("not an address", table=table) == ""
    assert mac_of("10.250.0.2", table=tmp_path / "missing") == ""


def test_the_whole_table_by_interface_for_the_sweep_fallback(tmp_path: Path) -> None:
    table = _table(
        tmp_path,
        "10.250.0.2       0x1         0x2         A6:ED:96:17:6A:3E     *        eth0",
        "10.250.0.3       0x1         0x0         00:00:00:00:00:00     *        eth0",
        "10.250.1.2       0x1         0x2         02:00:00:00:01:02     *        eth1",
    )
    assert arp_table(table, interface="eth0") == {"10.250.0.2": "a6:ed:96:17:6a:3e"}
    assert arp_table(table) == {
        "10.250.0.2": "a6:ed:96:17:6a:3e",
        "10.250.1.2": "02:00:00:00:01:02",
    }
    assert arp_table(tmp_path / "missing") == {}
