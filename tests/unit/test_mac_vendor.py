"""The MAC vendor registry (scanner/fingerprint/oui.py, data from tools/oui_data.py), the
link identity rows and fact (scanner/fingerprint/link_identity.py), and the credential
selection reading the MAC's vendor like any other vendor the device states."""

from __future__ import annotations

import gzip
from importlib import resources
from typing import TYPE_CHECKING

from scanner.credential_lists import device_text, load_catalog
from scanner.facts import LINK, Facts, LinkIdentity
from scanner.fingerprint.link_identity import link_identity
from scanner.fingerprint.oui import parse_registry, registry, vendor_of

if TYPE_CHECKING:
    from pathlib import Path

SMALL = parse_registry(
    "# IEEE Registration Authority public listing: MA-L (test)\n"
    "# date: 2022-08-27\n"
    "# licence: ...\n"
    "0050C2\tIEEE Registration Authority\n"
    "0050C27D5\tDEUTA-WERKE GmbH\n"
    "70B3D5\tIEEE Registration Authority\n"
    "741AE0\tIEEE Registration Authority\n"
    "741AE09\tPrivate\n"
    "2857BE\tHangzhou Hikvision Digital Technology Co.,Ltd.\n"
    "garbage without a tab\n"
    "12345\tfive digits is no size\n"
)


def test_the_longest_assignment_names_the_vendor() -> None:
    assert vendor_of("00:50:c2:7d:51:23", SMALL) == "DEUTA-WERKE GmbH"  # MA-S inside an MA-L
    assert vendor_of("00:50:c2:11:22:33", SMALL) == "IEEE Registration Authority"
    assert vendor_of("28:57:BE:01:02:03", SMALL) == "Hangzhou Hikvision Digital Technology Co.,Ltd."
    assert vendor_of("28-57-be-01-02-03", SMALL).startswith("Hangzhou Hikvision")
    assert vendor_of("2857be010203", SMALL).startswith("Hangzhou Hikvision")


def test_no_vendor_for_what_no_vendor_owns() -> None:
    assert vendor_of("74:1a:e0:91:00:00", SMALL) == ""  # MA-M registered as "Private"
    assert vendor_of("74:1a:e0:80:00:00", SMALL) == "IEEE Registration Authority"
    assert vendor_of("2a:57:be:01:02:03", SMALL) == ""  # locally administered
    assert vendor_of("29:57:be:01:02:03", SMALL) == ""  # group address
    assert vendor_of("ff:ff:ff:ff:ff:ff", SMALL) == ""
    assert vendor_of("12:34:56:78:9a:bc", SMALL) == ""
    assert vendor_of("04:05:06:07:08:09", SMALL) == ""  # unassigned here
    for bad in ("", "28:57:be:01:02", "28:57:be:01:02:03:04", "28:57-be:01:02:03", "zz" * 6):
        assert vendor_of(bad, SMALL) == "", bad


def test_the_shipped_registry_has_its_date_and_the_three_sizes() -> None:
    shipped = registry()
    assert shipped.date == "2022-08-27"
    assert "MA-L" in shipped.source
    assert "ieee-data" in shipped.source
    sizes = {len(p) for p in shipped.prefixes}
    assert sizes == {6, 7, 9}
    assert len(shipped.prefixes) > 40_000
    assert vendor_of("b8:27:eb:00:00:01") == "Raspberry Pi Foundation"
    assert vendor_of("00:50:c2:7d:51:00") == "DEUTA-WERKE GmbH"  # IAB
    assert vendor_of("70:b3:d5:f2:f0:01") == "TELEPLATFORMS"  # MA-S
    assert vendor_of("00:1b:1b:00:00:01") == "Siemens AG,"  # MA-L, as the registry spells it


def test_the_shipped_file_is_what_the_tool_writes_deterministically() -> None:
    data = resources.files("scanner").joinpath("data", "oui.tsv.gz").read_bytes()
    assert data[4:8] == bytes(4)  # gzip mtime 0: regenerating the same input changes nothing
    lines = gzip.decompress(data).decode().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert body == sorted(body)
    assert lines[2].startswith("# licence: IEEE does not assert copyright")


def _arp(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "arp"
    header = "IP address       HW type     Flags       HW address            Mask     Device\n"
    path.write_text(header + line + "\n")
    return path


def test_link_identity_keeps_the_mac_and_its_vendor(tmp_path: Path) -> None:
    table = _arp(tmp_path, "10.250.60.2      0x1         0x2         28:57:BE:0A:0B:0C     *  eth0")
    facts = Facts()
    rows = link_identity("10.250.60.2", facts, table=table)
    vendor = "Hangzhou Hikvision Digital Technology Co.,Ltd."
    assert rows == [("link", "mac", "28:57:be:0a:0b:0c"), ("link", "mac_vendor", vendor)]
    assert facts.get(LINK) == LinkIdentity("28:57:be:0a:0b:0c", vendor)


def test_a_swept_mac_comes_first_and_no_mac_gives_nothing(tmp_path: Path) -> None:
    table = _arp(tmp_path, "10.250.60.2      0x1         0x2         28:57:BE:0A:0B:0C     *  eth0")
    facts = Facts()
    rows = link_identity("10.250.60.2", facts, swept={"10.250.60.2": "02:00:00:00:00:02"})
    assert rows == [("link", "mac", "02:00:00:00:00:02")]  # locally administered: no vendor
    assert facts.get(LINK) == LinkIdentity("02:00:00:00:00:02", "")
    empty = Facts()
    assert link_identity("10.250.60.9", empty, table=table) == []
    assert empty.get(LINK) is None
    assert link_identity("fd00:250:60::2", empty, swept={"fd00:250:60::2": "00:1B:1B:00:00:01"})
    assert empty.get(LINK) == LinkIdentity("00:1b:1b:00:00:01", "Siemens AG,")


def test_the_mac_vendor_selects_the_vendor_list() -> None:
    catalog = load_catalog()
    facts = Facts()
    facts.put(LINK, LinkIdentity("00:15:6d:00:00:01", vendor_of("00:15:6d:00:00:01")))
    assert "Ubiquiti" in facts.get(LINK).vendor  # type: ignore[union-attr]
    text = device_text(facts)
    assert "Ubiquiti" in text["vendor"]
    chosen = catalog.select("ssh", text, generic_top=10)
    assert chosen.list_name.startswith("vendor list:")
    assert any("ubiquiti" in label.lower() for label in chosen.identified)
    assert ("ubnt", "ubnt") in {(c.username, c.password) for c in chosen.pairs}
    # a locally administered MAC names nobody: the generic selection, as without a MAC
    anonymous = Facts()
    anonymous.put(LINK, LinkIdentity("02:00:00:00:00:01", ""))
    assert catalog.select("ssh", device_text(anonymous), generic_top=10).identified == ()
