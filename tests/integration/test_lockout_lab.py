"""auth.lockout against lab devices with short timers: threshold exactly, duration within
the probe's resolution, scope, and every verdict equal to the oracle."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from lab.oracle_lockout import expected_lockout
from lab.personality import load_builtin
from probes.registry import all_checks
from scanner.judging.profiles import load_profile
from scanner.model import Verdict
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def first_address() -> str:
    """The lab's first address, in this suite's own block (127.0.74.0/24, shared with the
    interop daemons at .1-.20): the worker's 127.0.2x block is shared with other runs."""
    return "127.0.74.150"


#: lock after 3 for 4 s (account), lock after 4 for 3 s (source), growing delay, lock only
#: after 10 (too late), 1 s per failure with a 1.5 s lock (pam_faillock-like)
DEVICES = (
    "lockout-camera",
    "source-lock-gateway",
    "slow-down-router",
    "late-lock-switch",
    "pam-like-switch",
)
PASSWORD_ENV = "SHINSA_TEST_QA"


def _profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, account: bool = True):
    monkeypatch.setenv(PASSWORD_ENV, "Qa-lab-2026!")
    text = "profile: lockout-test\nextends: base\nallow_intrusive: true\n"
    if account:
        text += f"test_account: {{username: qa, password_env: {PASSWORD_ENV}}}\n"
    path = tmp_path / "lockout.yaml"
    path.write_text(text)
    return load_profile(str(path), all_checks())


async def test_lockout_measured_on_every_surface_equals_the_oracle(
    start_lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given devices that lock, lock per source, slow down, and lock too late
    lab = await start_lab([load_builtin(n) for n in DEVICES])
    profile = _profile(tmp_path, monkeypatch)
    with Store(tmp_path / "s.sqlite") as store:
        # When an intrusive scan with the test account runs
        started = time.monotonic()
        scanned = await scan_lab(lab, store, profile=profile)
        wall = time.monotonic() - started
        results = [r for r in scanned.results() if r.check_id == "auth.lockout"]
    got = {(r.target, r.service_key): r for r in results}
    expected = {}
    for device in lab.devices:
        ports = {(s.transport, s.port): s.port for s in device.services}
        for (key, _), verdict in expected_lockout(
            device.personality, ports, intrusive=True, test_account=True
        ).items():
            expected[(device.address, key)] = verdict
    # Then every verdict is the oracle's
    assert {k: r.verdict for k, r in got.items()} == expected, {k: r.reason for k, r in got.items()}
    # and the measured figures are the planted ones
    by_name = {d.name: d for d in lab.devices}
    for name, key in (("lockout-camera", "tcp/80"), ("lockout-camera", "tcp/22")):
        details = got[(by_name[name].address, key)].evidence[0].details
        lock = by_name[name].personality.auth.lockout
        assert lock is not None
        assert details["threshold"] == lock.after, details
        assert details["scope"] == "account"
        assert lock.seconds * 0.8 <= float(str(details["duration"])) <= lock.seconds * 1.5
    for key in ("tcp/23", "tcp/80"):
        details = got[(by_name["source-lock-gateway"].address, key)].evidence[0].details
        assert details["threshold"] == 4, details
        assert details["scope"] == "source"
    # a lock shorter than the slow failures that follow it is still found, from below
    pam = got[(by_name["pam-like-switch"].address, "tcp/22")].evidence[0].details
    assert pam["threshold"] == 3, pam
    slow = got[(by_name["slow-down-router"].address, "tcp/80")]
    assert slow.evidence[0].details["reaction"] == "delay"
    late = got[(by_name["late-lock-switch"].address, "tcp/22")]
    assert "no lock" in late.reason
    # and no account is left locked
    for device in lab.devices:
        assert not device.auth.is_locked("qa"), device.name
    # and the waits of the four devices overlapped (each measures for 10-20 s)
    assert wall < 60, wall


async def test_without_the_intrusive_switch_nothing_is_sent(start_lab, tmp_path: Path):
    lab = await start_lab([load_builtin("lockout-camera")])
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store)
        results = [r for r in scanned.results() if r.check_id == "auth.lockout"]
    assert {r.verdict for r in results} == {Verdict.SKIPPED}
    (device,) = lab.devices
    assert device.auth.failures("qa") == 0
