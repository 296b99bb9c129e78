"""Suite-wide rules for markers."""

from __future__ import annotations

import os

import pytest

from scanner.discovery.syn import syn_available


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Raw-socket tests need root. On a developer's machine without it they are skipped with
    # the reason; in CI (which runs as root) a missing capability is a failure, not a skip.
    if item.get_closest_marker("root") is not None and not syn_available():
        if os.environ.get("CI"):
            pytest.fail("root test in CI without raw sockets: CI must run as root")
        pytest.skip("needs root (raw sockets) for the SYN scan")
