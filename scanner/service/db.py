"""Opening the service's database from a URL (`--db`, `SHINSA_DB`).

`sqlite:///PATH` is the embedded default; `postgresql://USER@HOST/DB` is turned into the
psycopg 3 dialect. `open_db` never creates or upgrades the schema by itself: `shinsa db
upgrade` (and `shinsa serve`, which upgrades at start) do, through the migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from scanner.errors import ConfigError


def normalise_url(url: str) -> str:
    """The SQLAlchemy URL for a `--db` value; a clear error for anything else."""
    if url.startswith("sqlite:///"):
        return url
    for plain in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    raise ConfigError(
        f"--db {mask_url(url)!r}: give sqlite:///PATH or postgresql://USER@HOST[:PORT]/DB"
    )


def mask_url(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.split("@")[-1]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # first: a connection that meets a lock waits for it (switching a new file to WAL takes
    # one) instead of failing at once with "database is locked"
    cur.execute("PRAGMA busy_timeout=10000")
    # WAL: the dashboard reads while a scan's import writes; foreign keys: cascades work
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_db(url: str) -> sa.Engine:
    """An engine for `url` (see `normalise_url`)."""
    engine = sa.create_engine(normalise_url(url), future=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime from what the database gave (SQLite drops the zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)
