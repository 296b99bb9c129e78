"""Creating and upgrading the service's database through its migrations
(scanner/service/migrations/, Alembic), for `shinsa db upgrade` and `shinsa serve`.

Alembic is configured here, in code: the installed package carries its migrations and no
alembic.ini has to be found at run time. A database that a test or an early build made
with `schema.metadata.create_all` (every table of revision 0001, but no `alembic_version`)
is adopted: stamped at 0001, then upgraded like any other. A database with some of the
service's tables but not all is refused rather than guessed at.
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from scanner.errors import ConfigError
from scanner.service.db import mask_url

MIGRATIONS = Path(__file__).with_name("migrations")

#: the revision whose tables `create_all` of the first released schema makes
FIRST = "0001"

#: the tables revision 0001 creates (a database holding all of them and no version is one
#: made by `create_all`; a later revision's tables are not needed to recognise it)
FIRST_TABLES = frozenset(
    {
        "alerts",
        "api_tokens",
        "audit_log",
        "baselines",
        "devices",
        "drift",
        "identity_keys",
        "requirement_status",
        "results",
        "run_devices",
        "runs",
        "schedules",
        "services",
        "sessions",
        "users",
    }
)

#: attempts at an upgrade that met a SQLite file locked by another one starting (bounded)
_LOCKED_TRIES = 5

#: an arbitrary constant: the PostgreSQL advisory lock that keeps two upgrades apart
_PG_LOCK = 0x5348494E


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision this version of shinsa knows."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    if found is None:  # the package lost its migrations: a broken install, not user input
        raise RuntimeError(f"no migrations under {MIGRATIONS}")
    return found


def _sqlite_file(engine: sa.Engine) -> Path | None:
    """The file of an embedded database (None: PostgreSQL, or SQLite in memory)."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or name in (None, "", ":memory:"):
        return None
    return Path(str(name))


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at (None: never upgraded, or no file yet: asking makes
    none)."""
    file = _sqlite_file(engine)
    if file is not None and not file.exists():
        return None
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Create the schema, or upgrade it to `head()`; nothing to do is not an error."""
    for attempt in range(_LOCKED_TRIES):
        try:
            _upgrade(engine)
            return
        except sa.exc.OperationalError as exc:
            # SQLite answers "locked" at once, without waiting, to a connection switching a
            # new file to WAL while another holds it: a moment later it is free
            locked = engine.dialect.name == "sqlite" and "locked" in str(exc.orig)
            if not locked or attempt == _LOCKED_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _upgrade(engine: sa.Engine) -> None:
    file = _sqlite_file(engine)
    if file is not None:  # a new embedded database's directory (shinsa-service/) made here
        file.parent.mkdir(parents=True, exist_ok=True)
    # `shinsa serve` and `shinsa db upgrade` (or two services) started together: one waits
    # for the other, then finds nothing to do
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Python's sqlite3 runs DDL outside any transaction unless told: one transaction
            # holding the write lock from the start makes the upgrade atomic and exclusive
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        _adopt(conn, engine)
        command.upgrade(_config(conn), "head")


def _adopt(conn: sa.Connection, engine: sa.Engine) -> None:
    if MigrationContext.configure(conn).get_current_revision() is not None:
        return
    tables = set(sa.inspect(conn).get_table_names())
    ours = tables & FIRST_TABLES
    if not ours:
        return  # an empty database (or someone else's tables only): 0001 creates ours
    if ours != FIRST_TABLES:
        missing = ", ".join(sorted(FIRST_TABLES - ours))
        raise ConfigError(
            f"{mask_url(str(engine.url))} has some of shinsa's tables but not all (missing: "
            f"{missing}) and no migration version: restore it from a backup or use a new "
            "database"
        )
    command.stamp(_config(conn), FIRST)


def require_head(engine: sa.Engine) -> None:
    """Refuse a database that is not at this version's schema (never upgraded, or older,
    or newer than this shinsa): the message says what to run."""
    at = current(engine)
    want = head()
    if at == want:
        return
    where = mask_url(str(engine.url))
    if at is None:
        raise ConfigError(f"{where} has no shinsa schema yet: run `shinsa db upgrade --db URL`")
    known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
    if at not in known:
        raise ConfigError(
            f"{where} is at schema revision {at}, newer than this shinsa knows ({want}): "
            "upgrade shinsa"
        )
    raise ConfigError(
        f"{where} is at schema revision {at}, this shinsa needs {want}: run "
        "`shinsa db upgrade --db URL`"
    )
