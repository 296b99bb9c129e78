"""Retention: runs older than N days go with everything that hangs off them, except runs a
baseline names; devices stay and point at their newest remaining run; the pruned runs'
store directories under the data directory go too; the space freed is measured (SQLite
file size around a VACUUM, PostgreSQL relation sizes around a VACUUM FULL)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from scanner.cli.app import main
from scanner.service import schema as t
from scanner.service.db import open_db
from scanner.service.importer import import_run
from scanner.service.retention import prune
from tests.service.store_runs import Seen, write_run

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=40)
FLEET = 60  # devices in every run: enough rows that deleting two runs frees pages


def _fleet(extra: list[Seen]) -> list[Seen]:
    return [
        Seen(
            f"10.1.0.{i}",
            cert=f"{i:02x}" * 32,
            udn=f"uuid:00000000-0000-0000-0000-{i:012x}",
            sys_descr=f"Cam model {i % 3} firmware 1.{i}",
        )
        for i in range(1, FLEET + 1)
    ] + extra


def _run(engine: sa.Engine, where: Path, run_id: str, day: int, extra: list[Seen]) -> Path:
    store = where / run_id / "shinsa.sqlite"
    write_run(store, run_id, _fleet(extra), started=T0 + timedelta(days=day))
    import_run(engine, store, run_id)
    return store


def _dir_size(path: Path) -> int:
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, files in os.walk(path) for f in files)


def _ids(engine: sa.Engine, table: sa.Table) -> set[str]:
    with engine.connect() as conn:
        return {str(r) for r in conn.execute(sa.select(table.c.run_id).distinct()).scalars()}


def test_prune_keeps_baselines_and_says_what_it_freed(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    runs = data / "runs" / "nightly"
    elsewhere = tmp_path / "imported-out"  # a user's own scan output: never deleted
    only_old = Seen("10.1.9.1", cert="c0" * 32)  # seen in the pruned runs alone
    back_to_base = Seen("10.1.9.2", udn="uuid:11111111-2222-3333-4444-555555555555")
    _run(any_engine, runs, "r0", 0, [back_to_base])
    r1 = _run(any_engine, runs, "r1", 1, [only_old])
    r2 = _run(any_engine, elsewhere, "r2", 2, [only_old, back_to_base])
    _run(any_engine, runs, "r3", 20, [])
    _run(any_engine, runs, "r4", 39, [])
    with any_engine.begin() as conn:
        conn.execute(
            t.baselines.insert().values(
                name="default", site="default", run_id="r0", accepted=T0, accepted_by="test"
            )
        )
        devices_before = conn.execute(sa.select(sa.func.count()).select_from(t.devices)).scalar()
    r1_size = _dir_size(r1.parent)
    assert r1_size > 0

    pruned = prune(any_engine, 30, data_dir=data, now=NOW)

    assert pruned.runs == 2
    assert sorted(pruned.run_ids) == ["r1", "r2"]
    assert pruned.kept_for_baselines == 1
    with any_engine.connect() as conn:
        assert set(conn.execute(sa.select(t.runs.c.id)).scalars()) == {"r0", "r3", "r4"}
        devices_after = conn.execute(sa.select(sa.func.count()).select_from(t.devices)).scalar()
        latest = dict(
            conn.execute(
                sa.select(t.devices.c.address, t.devices.c.last_run_id).where(
                    t.devices.c.address.in_([only_old.address, back_to_base.address])
                )
            ).all()
        )
    for table in (t.run_devices, t.results, t.services, t.requirement_status):
        assert _ids(any_engine, table) == {"r0", "r3", "r4"}, table.name
    assert devices_after == devices_before  # identity and inventory outlive old runs
    assert latest == {only_old.address: None, back_to_base.address: "r0"}
    # the pruned run's directory under the data directory went; the one outside stayed
    assert not r1.parent.exists()
    assert r2.is_file()
    assert (runs / "r0" / "shinsa.sqlite").is_file()
    assert pruned.files_bytes == r1_size
    assert pruned.database_bytes > 0
    assert pruned.bytes_freed == pruned.database_bytes + pruned.files_bytes

    again = prune(any_engine, 30, data_dir=data, now=NOW)
    assert (again.runs, again.bytes_freed, again.kept_for_baselines) == (0, 0, 1)


def test_prune_measures_the_sqlite_file(engine: sa.Engine, tmp_path: Path) -> None:
    for i in range(3):
        _run(engine, tmp_path / "stores", f"r{i}", i, [])
    path = str(engine.url.database)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = os.path.getsize(path)
    pruned = prune(engine, 30, data_dir=None, now=NOW)
    assert pruned.runs == 3
    assert pruned.files_bytes == 0  # no data directory given: no file touched
    assert (tmp_path / "stores" / "r0" / "shinsa.sqlite").is_file()
    assert before - os.path.getsize(path) == pruned.database_bytes > 0


def test_prune_refuses_negative_days(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        prune(engine, -1, data_dir=None)


def test_the_prune_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    monkeypatch.chdir(tmp_path)  # the default data directory is ./shinsa-service
    assert main(["db", "prune", "--older-than", "1", "--db", url]) == 2
    assert "shinsa db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade", "--db", url]) == 0
    capsys.readouterr()
    engine = open_db(url)
    try:
        store = _run(engine, tmp_path / "shinsa-service" / "runs" / "s", "r0", 0, [])
        _run(engine, tmp_path / "shinsa-service" / "runs" / "s", "r1", 1, [])
        with engine.begin() as conn:  # the second run is today's
            conn.execute(t.runs.update().where(t.runs.c.id == "r1").values(started=sa.func.now()))
    finally:
        engine.dispose()
    monkeypatch.setenv("SHINSA_DB", url)
    assert main(["db", "prune", "--older-than", "3650"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "runs deleted: 0"
    assert main(["db", "prune", "--older-than", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "runs deleted: 1"
    assert lines[1].startswith("bytes freed: ")
    freed = int(lines[1].split()[2])
    assert freed > 0
    assert not store.parent.exists()


def test_the_prune_command_with_a_data_directory_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    data = tmp_path / "var" / "shinsa"
    monkeypatch.chdir(tmp_path)  # no ./shinsa-service here
    assert main(["db", "upgrade", "--db", url]) == 0
    engine = open_db(url)
    try:
        store = _run(engine, data / "runs" / "s", "r0", 0, [])
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["db", "prune", "--older-than", "1", "--db", url, "--data", "nowhere"]) == 2
    assert "--data nowhere: no such directory" in capsys.readouterr().err
    assert store.is_file()  # a refusal deletes nothing
    assert main(["db", "prune", "--older-than", "1", "--db", url, "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "runs deleted: 1" in out
    assert "run stores 0)" not in out  # the store's bytes were counted
    assert not store.parent.exists()
