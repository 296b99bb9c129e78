"""Suite-wide rules for markers."""

from __future__ import annotations

import os

import pytest

from scanner import plugin_data, plugins
from scanner.discovery.syn import syn_available

#: the layers that run against real daemons and programs: with `-n 2 --dist loadgroup`
#: (make test) they run on one worker while the rest of the suite runs on the other. Their
#: addresses are their own (127.0.55-60, .70.20-29, .71.1-2, .72, .73, .74, .77.90-99), so
#: the two workers never bind or probe the same address; within a worker tests run one at
#: a time, as without xdist.
DAEMON_LAYERS = ("corpus", "interop")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        layer = "daemons" if any(p in DAEMON_LAYERS for p in parts) else "local"
        item.add_marker(pytest.mark.xdist_group(layer))


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Raw-socket tests need root. On a developer's machine without it they are skipped with
    # the reason; in CI (which runs as root) a missing capability is a failure, not a skip.
    if item.get_closest_marker("root") is not None and not syn_available():
        if os.environ.get("CI"):
            pytest.fail("root test in CI without raw sockets: CI must run as root")
        pytest.skip("needs root (raw sockets) for the SYN scan")


@pytest.fixture(autouse=True)
def _plugins_as_in_a_fresh_process():
    """A command a test runs in-process (`cli.main`) loads the installed plugins once per
    process and registers their profiles and frameworks (scanner.plugin_data); the next
    test starts as a new process does, without them, whatever ran before it. (With the
    example plugin installed, a later test judging shinsa's own files with shinsa's own
    checks would otherwise read the plugin's framework too, by test order.)"""
    yield
    plugins.installed.cache_clear()
    plugin_data.register([], [], [])
