"""The MAC address as a strong identity key (scanner/service/identity.py); the real link is
tests/service/test_mac_on_link.py."""

from __future__ import annotations

from scanner.service import identity
from scanner.store import IdentityRow

MAC = "5a:8a:6e:4d:c7:af"


def test_a_mac_row_is_a_strong_key_and_the_inventory_mac() -> None:
    s = identity.signals("10.250.41.2", [], [], [IdentityRow("link", "mac", MAC)])
    assert ("mac", MAC) in s.strong
    assert identity.inventory(s)["mac"] == MAC


def test_a_malformed_mac_is_not_a_key() -> None:
    for value in ("5A:8A:6E:4D:C7:AF", "5a-8a-6e-4d-c7-af", "<script>", "5a:8a:6e:4d:c7"):
        s = identity.signals("10.250.41.2", [], [], [IdentityRow("link", "mac", value)])
        assert not s.strong, value
        assert s.mac == ""


def test_one_mac_at_two_addresses_names_no_device() -> None:
    # a router answering ARP for others (proxy ARP), or one interface with two addresses
    a = identity.signals("10.250.41.2", [], [], [IdentityRow("link", "mac", MAC)])
    b = identity.signals("10.250.41.3", [], [], [IdentityRow("link", "mac", MAC)])
    shared = identity.shared_keys([a, b])
    assert ("mac", MAC) in shared
    assert identity.usable_keys(a, shared) == frozenset()
