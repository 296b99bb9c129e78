"""The migrations make the schema of scanner/service/schema.py, on SQLite and PostgreSQL;
upgrading is idempotent; a database made by `create_all` is adopted; one that is not at the
head is refused with what to run."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from scanner.errors import ConfigError
from scanner.service import migrate, schedules, schema
from scanner.service.db import open_db

if TYPE_CHECKING:
    from pathlib import Path


def _differences(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, schema.metadata))


def _indexes(engine: sa.Engine) -> set[tuple[str, str, tuple[str, ...]]]:
    inspector = sa.inspect(engine)
    return {
        (table, str(ix["name"]), tuple(str(c) for c in ix["column_names"]))
        for table in inspector.get_table_names()
        for ix in inspector.get_indexes(table)
    }


def test_upgrade_makes_exactly_the_schema(db_url: str) -> None:
    engine = open_db(db_url)
    try:
        assert migrate.current(engine) is None
        with pytest.raises(ConfigError, match="shinsa db upgrade"):
            migrate.require_head(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head() == "0003"
        migrate.require_head(engine)
        tables = set(sa.inspect(engine).get_table_names())
        assert tables == set(schema.metadata.tables) | {"alembic_version"}
        # autogenerate's own comparison: columns, types, nullability, keys, indexes
        assert _differences(engine) == []
        want = {
            (table.name, str(ix.name), tuple(c.name for c in ix.columns))
            for table in schema.metadata.tables.values()
            for ix in table.indexes
        }
        assert want  # the schema has indexes (the fleet overview depends on them)
        assert want <= _indexes(engine)
    finally:
        engine.dispose()


def test_upgrading_twice_changes_nothing(db_url: str) -> None:
    engine = open_db(db_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                schema.audit_log.insert().values(
                    at=sa.func.now(), actor="cli", action="test", detail={}
                )
            )
        before = _indexes(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        assert _indexes(engine) == before
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(schema.audit_log)).scalar() == 1
            )
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        assert [v[0] for v in versions] == [migrate.head()]
    finally:
        engine.dispose()


UPGRADER = """
import sys, time
from scanner.service import migrate
from scanner.service.db import open_db
engine = open_db(sys.argv[1])
while time.time() < float(sys.argv[2]):
    time.sleep(0.002)
migrate.upgrade(engine)
print(migrate.current(engine))
engine.dispose()
"""


def test_upgrades_started_together_do_not_collide(db_url: str) -> None:
    """`shinsa serve` and `shinsa db upgrade` on a new database at once: each waits for the
    other, none fails, the schema is made once."""
    go = time.time() + 3  # every process started and waiting by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADER, db_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-500:] for _, err in outcomes]
    assert [out.strip() for out, _ in outcomes] == [migrate.head()] * 4
    engine = open_db(db_url)
    try:
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_database_made_by_create_all_is_adopted(db_url: str) -> None:
    engine = open_db(db_url)
    try:
        schema.metadata.create_all(engine)
        with pytest.raises(ConfigError, match="no shinsa schema"):
            migrate.require_head(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_database_with_part_of_the_tables_is_refused(tmp_path: Path) -> None:
    engine = open_db(f"sqlite:///{tmp_path / 'part.sqlite'}")
    try:
        schema.runs.metadata.create_all(engine, tables=[schema.users, schema.audit_log])
        with pytest.raises(ConfigError, match="some of shinsa's tables but not all"):
            migrate.upgrade(engine)
        assert migrate.current(engine) is None
    finally:
        engine.dispose()


def test_a_revision_this_shinsa_does_not_know_is_refused(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigError, match="newer than this shinsa knows"):
        migrate.require_head(engine)


def test_0002_gives_existing_schedules_the_defaults(db_url: str) -> None:
    # a database of the first release, with a schedule in it, upgraded to today's
    engine = open_db(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(migrate._config(conn), "0001")
            conn.execute(
                sa.text(
                    "INSERT INTO schedules (name, cron, tz, site, definition, alerts, "
                    "drift_kinds, windows, jitter, paused, created, created_by) VALUES "
                    "('old', '0 2 * * *', 'UTC', 'default', '{\"targets\": [\"127.0.93.10\"]}', "
                    "'[]', '[]', '[]', 0, :f, :now, 'cli')"
                ),
                {"f": False, "now": datetime(2026, 12, 1, tzinfo=UTC)},
            )
        assert migrate.current(engine) == "0001"
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        found = schedules.get(engine, "old")
        assert found is not None
        assert (found.baseline, found.drift_persist) == ("default", 2)
        assert _differences(engine) == []
    finally:
        engine.dispose()
