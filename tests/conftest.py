"""Suite-wide rules for markers."""

from __future__ import annotations

import os

import pytest

from scanner import plugin_data, plugins
from scanner.cli import settings
from scanner.cli.app import build_parser
from scanner.discovery.syn import syn_available

# A developer's own defaults (~/.config/shinsa/config.yaml, SHINSA_PROFILE, ...) must not
# change what the suite's commands do, in this process or the ones it starts
# (scanner/cli/settings.py): no config file where the suite looks, no setting variables.
os.environ["XDG_CONFIG_HOME"] = "/nonexistent/shinsa-tests-read-no-config"
for _key in [settings.CONFIG_VARIABLE, *map(settings.env_name, settings.settable(build_parser()))]:
    os.environ.pop(_key, None)


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
