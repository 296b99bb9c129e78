"""`shinsa diff` and `--fail-on` as a user runs them: scan a lab, change one device's
personality, scan again, and compare the runs."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from lab import addresses, control
from lab.personality import load_builtin
from scanner.judging.assess import FAIL_ON_NAMES
from tests.integration.conftest import CLOSED_PORTS

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

SHINSA = [sys.executable, "-m", "scanner"]
KEPT, BEFORE, AFTER = "legacy-plc", "hardened-gateway", "weak-camera"


def shinsa(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHINSA, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _ports(*names: str) -> str:
    services = [s for n in names for s in load_builtin(n).services]
    tcp = sorted({s.port for s in services if s.transport == "tcp"} | set(CLOSED_PORTS))
    udp = sorted({s.port for s in services if s.transport == "udp"})
    return "T:" + ",".join(map(str, tcp)) + ",U:" + ",".join(map(str, udp))


def _scan(personalities: list[str], lab_dir: Path, out: Path, first: str) -> tuple[str, int]:
    """Start a lab of these personalities, scan it into `out`, stop it: (run ID, exit code)."""
    state = control.up(personalities, len(personalities), lab_dir, first_address=first)
    try:
        before = {p.name for p in out.glob("*") if p.is_dir() and not p.is_symlink()}
        run = shinsa(
            "scan",
            *state.addresses,
            "--ports",
            _ports(KEPT, BEFORE, AFTER),
            "--out",
            str(out),
            "-q",
        )
    finally:
        control.down(lab_dir)
    assert run.returncode in (0, 1, 3), run.stderr
    (run_id,) = {p.name for p in out.glob("*") if p.is_dir() and not p.is_symlink()} - before
    return run_id, run.returncode


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, str]:
    # offsets 130-149 of the worker's /24 belong to integration tests but not to the blocks
    # tests/integration/conftest.py hands out, so this module-wide lab collides with none
    first = str(addresses.test_network(None).network_address + 140)
    tmp = tmp_path_factory.mktemp("diff")
    out = tmp / "out"
    run_a, _ = _scan([KEPT, BEFORE], tmp / "lab", out, first)
    run_b, _ = _scan([KEPT, AFTER], tmp / "lab", out, first)
    return out, run_a, run_b, first


def test_diff_lists_the_changed_device_its_ports_and_new_failures(two_runs):
    out, run_a, run_b, first = two_runs
    changed = str(ipaddress.ip_address(first) + 1)
    text = shinsa("diff", run_a, run_b, "--out", str(out))
    assert text.returncode == 1, text.stderr  # something changed, as diff(1) says
    lines = text.stdout.splitlines()
    assert lines[0] == f"shinsa diff {run_a} -> {run_b} (profile base)"
    assert changed in lines  # scanned by address: no label
    assert "  port opened: tcp/23 telnet" in lines
    assert "  port closed: tcp/22 ssh" in lines
    assert any(line.startswith("  new failure: creds.default.telnet") for line in lines)
    assert any(line.startswith("  requirement ") for line in lines)
    assert first not in lines  # the unchanged device is not listed
    report = json.loads(shinsa("diff", run_a, run_b, "--out", str(out), "--json").stdout)
    (device,) = report["devices"]
    assert device["address"] == changed
    assert {"transport": "tcp", "port": 23, "protocol": "telnet"} in device["opened"]


def test_a_run_diffed_with_itself_exits_0(two_runs):
    out, run_a, _, _ = two_runs
    same = shinsa("diff", run_a, run_a, "--out", str(out))
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[-1] == "no changes"


def test_an_unknown_run_id_exits_2_with_a_message(two_runs):
    out, run_a, _, _ = two_runs
    bad = shinsa("diff", run_a, "20990101-000000-dead", "--out", str(out))
    assert bad.returncode == 2
    assert "run '20990101-000000-dead' is not in" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_fail_on_sets_the_report_exit_code_from_the_names_present(two_runs):
    out, _, run_b, _ = two_runs
    summary = json.loads((out / run_b / "report.json").read_text())["summary"]
    present = set(summary["results"]) | set(summary["requirements"])
    absent = [n for n in FAIL_ON_NAMES if n not in present]
    assert "not_satisfied" in present  # the weak camera accepts its factory login
    assert absent
    hit = shinsa("report", run_b, "--out", str(out), "--fail-on", "not_satisfied")
    assert hit.returncode == 1, hit.stderr
    miss = shinsa("report", run_b, "--out", str(out), "--fail-on", ",".join(absent))
    assert miss.returncode == 0, miss.stderr
    # the camera's factory login is a critical finding; nothing is above critical
    gate = shinsa("report", run_b, "--out", str(out), "--fail-on", "severity>=critical")
    assert gate.returncode == 1, gate.stderr
    bad = shinsa("report", run_b, "--out", str(out), "--fail-on", "red")
    assert bad.returncode == 2
    assert "--fail-on: unknown status or verdict red" in bad.stderr
