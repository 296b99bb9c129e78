"""`shinsa --help` and `shinsa discover` load only what they need (issue 11 #12).

They once took 0.8-1.0 s because the command line imported every probe, asyncssh, httpx and
the report renderers. Each case runs the CLI in a fresh interpreter and lists the modules
it ended with; discover scans one closed port on 127.0.75.90 (never 2024).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Loaded by a scan, never by these commands.
HEAVY = (
    "asyncssh",
    "httpx",
    "jinja2",
    "cryptography",
    "paramiko",
    "scapy",
    "yaml",
    "sqlite3",
    "scanner.cli.commands",
    "scanner.engine",
    "scanner.judging.profiles",
    "probes",
    "reports.html",
    "reports.json_report",
    "reports.junit",
)

_PROBE = """
import contextlib, io, json, sys
from scanner.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(loaded)


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("discover", "--help"),
        ("discover", "127.0.75.90", "--ports", "20001", "--timeout", "0.5", "--json"),
    ],
    ids=["help", "discover-help", "discover-tcp"],
)
def test_the_command_line_loads_no_scanner_machinery(argv: tuple[str, ...]) -> None:
    loaded = _modules_after(*argv)
    assert "scanner.cli" in loaded  # the probe ran the real entry point
    assert _heavy(loaded) == []


def test_a_tcp_only_discovery_runs_without_an_event_loop() -> None:
    loaded = _modules_after("discover", "127.0.75.90", "--ports", "20001", "--json")
    assert "scanner.discovery.tcp" in loaded
    assert "asyncio" not in loaded
    assert "scanner.discovery.udp" not in loaded
