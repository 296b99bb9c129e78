"""Fixtures of the service's tests: a database made for each test.

`engine` is an embedded SQLite database with the current schema (scanner/service/schema.py).
The migrations and the PostgreSQL fixture (being built: issue 14) take it over."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner.service import schema
from scanner.service.db import open_db

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import sqlalchemy as sa


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_db(f"sqlite:///{tmp_path / 'service.sqlite'}")
    schema.metadata.create_all(eng)
    yield eng
    eng.dispose()
