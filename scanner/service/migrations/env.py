"""Alembic's environment for the service's database.

`scanner.service.migrate` hands it an open connection (`config.attributes["connection"]`);
the `alembic` command line (developers writing a revision, see alembic.ini) gets one from
`SHINSA_DB`. Offline mode (`--sql`) is not offered: shinsa upgrades the database itself.
"""

from __future__ import annotations

import os

from alembic import context

from scanner.errors import ConfigError
from scanner.service import schema
from scanner.service.db import open_db


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=schema.metadata,
        # SQLite alters a table by copying it: Alembic's batch mode does that for it
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise ConfigError("the service's migrations run against a database, not as SQL text")
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = os.environ.get("SHINSA_DB", "")
    if not url:
        raise ConfigError("set SHINSA_DB to the database the alembic command works on")
    engine = open_db(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


main()
