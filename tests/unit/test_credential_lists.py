"""Factory-login lists: validated on load, ordered by fingerprint, spent within budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner.credential_lists import (
    AttemptLedger,
    budget_plan,
    device_text,
    load_catalog,
    load_list,
)
from scanner.credentials import Credential
from scanner.errors import ConfigError
from scanner.facts import HTTP_PAGES, SERVICES, Facts, HttpPage
from scanner.model import Service

if TYPE_CHECKING:
    from pathlib import Path


def test_the_shipped_list_loads_and_every_entry_names_its_source():
    catalog = load_catalog()
    assert catalog.entries
    assert all(e.source for e in catalog.entries)
    assert all(c.source for e in catalog.entries for c in e.pairs)


def test_vendor_entries_whose_fingerprint_matches_come_first():
    catalog = load_catalog()
    plain = catalog.for_protocol("http", {})
    hik = catalog.for_protocol("http", {"http": "App-webs/"})
    assert (hik[0].username, hik[0].password) == ("admin", "12345")
    assert (plain[0].username, plain[0].password) == ("admin", "admin")
    # each pair once, even when a vendor entry repeats a generic one
    assert len({(c.username, c.password) for c in hik}) == len(hik)


def test_anonymous_is_tried_first_where_it_exists():
    catalog = load_catalog()
    first = catalog.for_protocol("mqtt", {})[0]
    assert (first.username, first.password) == ("", "")
    assert catalog.for_protocol("ftp", {})[0].username == "anonymous"
    assert [c.password for c in catalog.for_protocol("snmp", {})] == ["public", "private"]


def test_device_text_gathers_http_and_banners():
    facts = Facts()
    ssh = Service("tcp", 22, "ssh", banner="SSH-2.0-ROSSSH")
    web = Service("tcp", 80, "http")
    facts.put(SERVICES, (ssh, web))
    facts.put(
        HTTP_PAGES, (HttpPage(web, "http://x/", 200, server="Hikvision-Webs", title="Login"),)
    )
    text = device_text(facts)
    assert "ROSSSH" in text["ssh"]
    assert "Hikvision-Webs" in text["http"]
    assert "ROSSSH" in text["any"]


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "list.yaml"
    p.write_text("format: shinsa-credentials/1\ncredentials:\n" + body)
    return p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - {protocols: [ssh], pairs: [[a, b]]}\n", "needs a 'source'"),
        ("  - {protocols: [gopher], pairs: [[a, b]], source: s}\n", "protocols must be"),
        ("  - {protocols: [ssh], pairs: [[a]], source: s}\n", r"pairs\[0\] must be"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, match: {http: '('}}\n", "bad regular"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, colour: red}\n", "unknown field"),
    ],
)
def test_bad_lists_get_a_message_naming_file_and_entry(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_list(write(tmp_path, body))


def test_user_lists_come_before_the_built_in_one(tmp_path):
    mine = write(tmp_path, "  - {protocols: [ssh], pairs: [[op, 'S3cret!']], source: site list}\n")
    first = load_catalog([mine]).for_protocol("ssh", {})[0]
    assert (first.username, first.password) == ("op", "S3cret!")
    assert "S3cret!" not in repr(first)
    assert "S3cret!" not in str(first)


def test_budget_is_per_account_per_device_and_shared_across_services():
    ledger = AttemptLedger()
    pairs = [Credential("admin", p) for p in ("admin", "1234", "12345")] + [Credential("root", "r")]
    chosen, skipped = budget_plan(pairs, ledger, per_account=2, max_pairs=10)
    assert [c.password for c in chosen] == ["admin", "1234", "r"]
    assert [c.password for c in skipped] == ["12345"]
    # a second service of the same device finds admin's budget spent
    chosen2, skipped2 = budget_plan(pairs, ledger, per_account=2, max_pairs=10)
    assert [c.password for c in chosen2] == ["r"]
    assert len(skipped2) == 3
    ledger.release("admin")  # e.g. a login that succeeded costs nothing
    assert ledger.failures("admin") == 1
