"""Fixtures of the service's tests: a database made for each test.

- `engine`: an embedded SQLite database in tmp_path, created by the migrations
  (`scanner.service.migrate.upgrade`), as `shinsa db upgrade` creates one.
- `postgres`: a throwaway PostgreSQL cluster for the session (tests/service/postgres.py),
  started on first use and stopped at the end.
- `db_url`: a new empty database's URL, once for SQLite and once for PostgreSQL;
  `any_engine`: an engine on it, upgraded to the head of the migrations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner.service import migrate
from scanner.service.db import open_db
from tests.service.postgres import Cluster, make_root, remove_root

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import sqlalchemy as sa


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_db(f"sqlite:///{tmp_path / 'service.sqlite'}")
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    root = make_root()
    cluster = Cluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            remove_root(root)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.sqlite'}"
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def postgres_engine(postgres: Cluster) -> Iterator[sa.Engine]:
    """A migrated database of its own on the session's cluster (PostgreSQL only)."""
    name = postgres.create_database()
    eng = open_db(postgres.url(name))
    try:
        migrate.upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        postgres.drop_database(name)


@pytest.fixture
def any_engine(db_url: str) -> Iterator[sa.Engine]:
    eng = open_db(db_url)
    try:
        migrate.upgrade(eng)
        yield eng
    finally:
        eng.dispose()
