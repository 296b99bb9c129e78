"""`shinsa` as a user runs it: scope refusal, exit codes, SIGKILL mid-scan and --resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from lab import control
from lab.oracle import expected_creds, expected_results, expected_web
from lab.oracle_banners import expected_banners
from lab.oracle_expiry import expected_expiry
from lab.oracle_lockout import expected_lockout
from lab.oracle_session import expected_reflection, expected_session
from lab.oracle_ssh import expected_ssh
from lab.oracle_tls import expected_tls
from lab.personality import load_builtin
from reports import FORMATS
from scanner import plugins
from scanner.cli.commands import DEMO_FORMATS
from scanner.model import Service
from scanner.probe import ServiceProbe
from tests.integration.conftest import CLOSED_PORTS
from tests.report_validation import validate_files

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

SHINSA = [sys.executable, "-m", "scanner"]


def shinsa(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHINSA, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_target_outside_the_allow_list_is_refused_before_any_packet(tmp_path: Path):
    # 127.0.11.5 is outside the allow-list; nothing listens there, and nothing may be sent.
    out = shinsa(
        "scan", "127.0.11.5", "--allow", "127.0.10.0/24,127.0.12.0/24", "--out", str(tmp_path), "-q"
    )
    assert out.returncode == 2
    assert "127.0.11.5 is outside the allow-list (127.0.10.0/24, 127.0.12.0/24)" in out.stderr
    assert not (tmp_path / "shinsa.sqlite").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["127.0.10.1", "--ports", "1-70000"], "65535"),
        (["127.0.10.1", "--profile", "nope"], "profile 'nope' not found"),
        (["127.0.10.1", "--format", "pdf"], "unknown report format"),
        (["--resume", "nope"], "no shinsa store at"),  # nothing scanned into --out yet
    ],
)
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, args, message):
    out = shinsa("scan", *args, "--out", str(tmp_path), "-q")
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_resuming_a_run_the_store_does_not_hold_names_the_latest(tmp_path: Path):
    first = shinsa("scan", "127.0.10.250", "--ports", "9", "--out", str(tmp_path), "-q")
    assert first.returncode == 0, first.stderr
    out = shinsa("scan", "--resume", "nope", "--out", str(tmp_path), "-q")
    assert out.returncode == 2
    assert "run 'nope' is not in" in out.stderr
    assert "Traceback" not in out.stderr


def test_validate_and_checks_commands():
    assert shinsa("validate").returncode == 0
    listing = shinsa("checks").stdout
    assert "services.unexpected" in listing
    assert "iec-62443-4-2 CR 7.7" in listing
    lockout = listing[listing.index("auth.lockout\n") :].split("\n\n")[0]
    assert "  severity: high\n" in lockout
    assert "  remediation: Lock the account, or delay further attempts," in lockout
    assert "  references: CWE-307, NIST SP 800-53 AC-7\n" in lockout


@pytest.fixture
def background_lab(tmp_path: Path, first_address: str):
    names = ["fault-silent", "weak-camera", "fault-hang", "home-router", "legacy-plc"]
    state = control.up(names, len(names), tmp_path / "lab", first_address=first_address)
    yield state
    control.down(tmp_path / "lab")


def _ports(state) -> str:
    tcp = sorted(
        {s.port for d in state.devices for s in d.services if s.transport == "tcp"}
        | set(CLOSED_PORTS)
    )
    udp = sorted({s.port for d in state.devices for s in d.services if s.transport == "udp"})
    return "T:" + ",".join(map(str, tcp)) + ",U:" + ",".join(map(str, udp))


def _plugin_rows(state) -> int:
    """Results the installed plugins' checks add to a scan of `state` (`shinsa scan` runs
    the installed registry; the oracles know shinsa's own checks): one per check of each
    plugin probe, per service it applies to or per device."""
    registry = plugins.load()
    extra = [p for p in registry.probes if p not in registry.builtin]
    rows = 0
    for device in state.devices:
        services = [Service(s.transport, s.port, s.protocol, tls=s.tls) for s in device.services]
        for probe in extra:
            if issubclass(probe, ServiceProbe):
                rows += len(probe.checks) * sum(probe().applies_to(s) for s in services)
            else:
                rows += len(probe.checks)
    return rows


def _rows(db: Path) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(address, service, check) -> (verdict, when written)."""
    with sqlite3.connect(db) as conn:
        return {
            (a, s, c): (v, w)
            for a, s, c, v, w in conn.execute(
                "SELECT address, service_key, check_id, verdict, written FROM results"
            )
        }


def test_sigkill_mid_scan_loses_nothing_and_resume_finishes_without_repeating(
    tmp_path: Path, background_lab
):
    out = tmp_path / "out"
    db = out / "shinsa.sqlite"
    # Given a scan killed with SIGKILL once some, but not all, results have landed
    proc = subprocess.Popen(
        [
            *SHINSA,
            "scan",
            *background_lab.addresses,
            "--ports",
            _ports(background_lab),
            "--per-device",
            "1",
            "--out",
            str(out),
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    before: dict[tuple[str, str, str], tuple[str, str]] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not before:
        time.sleep(0.05)
        if db.exists():
            try:
                before = _rows(db)
            except sqlite3.OperationalError:
                continue
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert before, "no result landed within 60 s"
    kept = _rows(db)
    with sqlite3.connect(db) as conn:
        ((run_id, status),) = conn.execute("SELECT id, status FROM runs").fetchall()
    assert status == "running"
    expected_total = sum(
        len(oracle(load_builtin(d.name)))
        for d in background_lab.devices
        for oracle in (
            expected_results,
            expected_creds,
            expected_web,
            expected_ssh,
            expected_session,
            expected_reflection,
            expected_tls,
            expected_banners,
            expected_lockout,
            expected_expiry,
        )
    )
    expected_total += _plugin_rows(background_lab)
    assert len(kept) < expected_total, "the scan finished before it was killed"
    # When the run is resumed
    resumed = shinsa("scan", "--resume", run_id, "--out", str(out), "-q", timeout=180)
    assert resumed.returncode in (1, 3), resumed.stderr
    # Then every finished result is kept as it was, and the rest is done once
    after = _rows(db)
    assert len(after) == expected_total
    # final verdicts are kept as they were; inconclusive and error ones are retried
    final = {k: v for k, v in kept.items() if v[0] in ("pass", "fail", "not_applicable")}
    assert final, "no final result landed before the kill"
    for key, row in final.items():
        assert after[key] == row, key
    report = json.loads((out / run_id / "report.json").read_text())
    assert report["run"]["status"] == "complete"
    assert all(d["finished"] for d in report["devices"])


def test_lab_up_status_down_from_the_cli(tmp_path: Path, first_address: str):
    state_dir = str(tmp_path / "lab")
    common = ["--state-dir", state_dir]
    up = shinsa(
        "lab",
        "up",
        *common,
        "--devices",
        "2",
        "--personality",
        "weak-camera",
        "--personality",
        "legacy-plc",
        "--first-address",
        first_address,
    )
    try:
        assert up.returncode == 0, up.stderr
        assert "weak-camera" in up.stdout
        assert "legacy-plc" in up.stdout
        status = shinsa("lab", "status", *common)
        assert status.returncode == 0
        assert first_address in status.stdout
    finally:
        down = shinsa("lab", "down", *common)
    assert down.returncode == 0
    assert "lab stopped" in down.stdout
    after = shinsa("lab", "status", *common)
    assert after.returncode == 1
    assert "no lab running" in after.stdout


def test_demo_starts_a_lab_scans_it_and_writes_a_report(tmp_path: Path, first_address: str):
    out = tmp_path / "demo"
    run = shinsa("demo", "--out", str(out), "--first-address", first_address, "-q", timeout=240)
    assert run.returncode == 0, run.stderr
    reports = [p for p in out.glob("*/report.json") if not p.parent.is_symlink()]
    assert len(reports) == 1
    assert "json report:" not in run.stdout  # -q: nothing but errors from the scan
    # the HTML report in both languages and every machine format beside it, all valid
    run_dir = reports[0].parent
    for name in DEMO_FORMATS:
        assert (run_dir / FORMATS[name][0]).is_file(), name
    report = validate_files(run_dir)
    assert "適合" in (run_dir / "report.ja.html").read_text(encoding="utf-8")
    assert report["summary"]["devices"] == len(report["devices"]) >= 10
    assert report["summary"]["exit_code"] == 1  # the demo lab plants failures
    assert not (out / ".lab" / "lab.json").exists()  # the lab was stopped


def test_an_ipv6_target_is_scanned_and_identified(tmp_path: Path):
    # Given an HTTP server on ::1 (loopback) on a free port
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    assert port != 2024
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "::1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET6) as s:
                if s.connect_ex(("::1", port)) == 0:
                    break
            time.sleep(0.05)
        # When ::1 is scanned on that port and a closed one
        out = tmp_path / "out"
        run = shinsa("scan", "::1", "--ports", f"T:{port},{port + 1}", "--out", str(out), "-q")
    finally:
        server.terminate()
        server.wait(5)
    # Then exactly the open port is found, as http, and the only failure is true:
    # http.server's "Server: SimpleHTTP/0.6 Python/3.x" discloses its versions
    assert run.returncode == 1, run.stderr
    report = json.loads((out / "latest" / "report.json").read_text())
    fails = [r for r in report["devices"][0]["results"] if r["verdict"] == "fail"]
    assert [r["check_id"] for r in fails] == ["banner.version-disclosure"]
    services = report["devices"][0]["services"]
    assert [(s["address"], s["port"], s["protocol"]) for s in services] == [("::1", port, "http")]
