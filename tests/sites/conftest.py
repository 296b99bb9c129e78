"""Fixtures of the sites layer: a real Redis, the central database, workers, lab devices.

Addresses: 127.0.98.0/24 (Redis .1, lab devices from .10); the network-namespace tests use
10.250.8x.0/24 inside namespaces they make and remove."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner.cli.app import main
from tests.sites.cluster import RedisServer, Workers, redis_server, workers

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def central_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'central.sqlite'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    return url


@pytest.fixture
def site_workers(broker: RedisServer, central_db: str, tmp_path: Path) -> Iterator[Workers]:
    with workers(broker.url, central_db, tmp_path / "workers") as pool:
        yield pool
