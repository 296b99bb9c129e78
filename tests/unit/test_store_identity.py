"""The per-run store keeps what each device said about what it is (scanner/store.py
`put_identity` / `identity`): bounded, replaced per device, and nothing (no error) from a
store made before the table existed."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from scanner.store import MAX_IDENTITY_ROWS, MAX_IDENTITY_TEXT, IdentityRow, Store

if TYPE_CHECKING:
    from pathlib import Path

FINGERPRINT = "SHA256:kH0w+oUWf9n2UbuOQr0BASarAjYhggTRiAYB8/bGewE"
A, B = "127.0.75.81", "127.0.75.82"


def _started(store: Store, run_id: str, *addresses: str) -> None:
    store.start_run(
        run_id,
        profile_id="base",
        profile_digest="0" * 64,
        scanner_version="test",
        request={},
        targets=[(a, "") for a in addresses],
    )


def test_identity_round_trip_per_run_and_device(tmp_path: Path) -> None:
    path = tmp_path / "shinsa.sqlite"
    with Store(path) as store:
        _started(store, "r1", A, B)
        _started(store, "r2", A)
        store.put_identity(
            "r1",
            A,
            [
                ("ssh", "ssh_hostkey", FINGERPRINT),
                ("snmp", "snmp_sysname", "core-sw-3F"),
                ("snmp", "snmp_sysname", "core-sw-3F"),  # said twice: kept once
                ("ssdp", "vendor", ""),  # nothing said: not kept
            ],
        )
        store.put_identity("r1", B, [("modbus", "model", "BMX P34 2020")])
        store.put_identity("r2", A, [("ssh", "ssh_hostkey", "SHA256:other")])
    with Store(path, create=False) as store:
        assert store.identity("r1") == {
            A: [
                IdentityRow("ssh", "ssh_hostkey", FINGERPRINT),
                IdentityRow("snmp", "snmp_sysname", "core-sw-3F"),
            ],
            B: [IdentityRow("modbus", "model", "BMX P34 2020")],
        }
        assert store.identity("r2") == {A: [IdentityRow("ssh", "ssh_hostkey", "SHA256:other")]}
        assert store.identity("no-such-run") == {}
        # a resumed run's new reading of a device replaces the earlier one, not the others'
        store.put_identity("r1", A, [("ssh", "ssh_hostkey", "SHA256:rekeyed")])
        assert store.identity("r1")[A] == [IdentityRow("ssh", "ssh_hostkey", "SHA256:rekeyed")]
        assert store.identity("r1")[B] == [IdentityRow("modbus", "model", "BMX P34 2020")]


def test_identity_values_are_bounded_printable_text(tmp_path: Path) -> None:
    with Store(tmp_path / "shinsa.sqlite") as store:
        _started(store, "r1", A)
        store.put_identity(
            "r1",
            A,
            [
                ("ssdp", "model", "M" * 100_000),  # a device that sends a megabyte of model
                ("snmp", "snmp_sysname", "sw\x1b[2J\r\nroot"),  # a terminal escape, a newline
                ("x" * 500, "k" * 500, "v"),
                *(("ssdp", "vendor", f"vendor {i}") for i in range(1000)),
            ],
        )
        rows = store.identity("r1")[A]
    assert len(rows) == MAX_IDENTITY_ROWS
    assert len(rows[0].value) == MAX_IDENTITY_TEXT
    assert rows[0].value.endswith("…")
    assert rows[1].value == "sw\\x1b[2J  root"
    assert (len(rows[2].source), len(rows[2].kind)) == (32, 32)
    assert rows[-1].value == f"vendor {MAX_IDENTITY_ROWS - 4}"  # the first ones kept


#: the store's tables as the version before identity made them
OLD_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,
    profile_id TEXT NOT NULL, profile_digest TEXT NOT NULL, scanner_version TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE TABLE targets (
    run_id TEXT NOT NULL REFERENCES runs(id), address TEXT NOT NULL, label TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', reason_ja TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, address)
);
CREATE TABLE services (
    run_id TEXT NOT NULL REFERENCES runs(id), address TEXT NOT NULL, transport TEXT NOT NULL,
    port INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, address, transport, port)
);
CREATE TABLE results (
    run_id TEXT NOT NULL REFERENCES runs(id), address TEXT NOT NULL,
    service_key TEXT NOT NULL, check_id TEXT NOT NULL, verdict TEXT NOT NULL,
    data TEXT NOT NULL, written TEXT NOT NULL,
    PRIMARY KEY (run_id, address, service_key, check_id)
);
"""


def test_a_store_made_before_identity_was_kept_reads_nothing_and_gains_the_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shinsa.sqlite"
    db = sqlite3.connect(path)
    with db:
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO runs VALUES ('old', '2026-12-06T05:00:00+00:00', "
            "'2026-12-06T05:10:00+00:00', 'complete', 'base', ?, '0', '{}')",
            ("0" * 64,),
        )
        db.execute("INSERT INTO targets VALUES ('old', ?, '', 'done', '', '')", (A,))
    db.close()
    with Store(path, create=False) as store:
        assert store.identity("old") == {}
        assert [t[0] for t in store.targets("old")] == [A]
        # a resumed old run (or a new one in the same store) keeps identity from now on
        store.put_identity("old", A, [("ssh", "ssh_hostkey", FINGERPRINT)])
        assert store.identity("old") == {A: [IdentityRow("ssh", "ssh_hostkey", FINGERPRINT)]}


def test_the_reader_says_nothing_when_the_table_is_missing(tmp_path: Path) -> None:
    # a store whose identity table is not there when read (made by an older version and
    # opened by a reader that could not add it): nothing, not an error
    path = tmp_path / "shinsa.sqlite"
    with Store(path) as store:
        _started(store, "r1", A)
        other = sqlite3.connect(path)
        with other:
            other.execute("DROP TABLE identity")
        other.close()
        assert store.identity("r1") == {}
