"""Web session hygiene and access control against lab devices, verdicts from the oracle.

Without a profile test account the checks stand on the factory login the scan finds;
with one (password from an environment variable) they also reach the careful devices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lab.oracle_session import SESSION_CHECKS, expected_reflection, expected_session
from lab.personality import load_builtin
from probes.registry import all_checks
from scanner.judging.profiles import load_profile
from scanner.model import Verdict
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

DEVICES = ("leaky-portal", "https-only-camera", "weak-camera", "home-router", "json-api-hub")


def _session_results(scanned) -> dict[tuple[str, str, str], Verdict]:
    return {
        (r.target, r.service_key, r.check_id): r.verdict
        for r in scanned.results()
        if r.check_id in SESSION_CHECKS
    }


def _expected(lab, *, test_account: bool) -> dict[tuple[str, str, str], Verdict]:
    out = {}
    for device in lab.devices:
        ports = {(s.transport, s.port): s.port for s in device.services}
        expected = expected_session(device.personality, ports, test_account=test_account)
        for (key, check), verdict in expected.items():
            out[(device.address, key, check)] = verdict
    return out


async def test_session_checks_on_found_factory_logins_equal_the_oracle(start_lab, tmp_path: Path):
    lab = await start_lab([load_builtin(n) for n in DEVICES])
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store)
        assert _session_results(scanned) == _expected(lab, test_account=False)


async def test_a_profile_test_account_opens_the_careful_device(
    start_lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given the HTTPS-only camera, whose only account is not a factory default
    personality = load_builtin("https-only-camera")
    lab = await start_lab([personality])
    (account,) = personality.accounts
    profile_file = tmp_path / "ic9.yaml"
    profile_file.write_text(
        "profile: ic9-acceptance\nextends: base\n"
        f"test_account: {{username: {account.username}, password_env: SHINSA_TEST_IC9}}\n"
    )
    monkeypatch.setenv("SHINSA_TEST_IC9", account.password)
    profile = load_profile(str(profile_file), all_checks())
    with Store(tmp_path / "s.sqlite") as store:
        # When it is scanned with the profile's test account
        scanned = await scan_lab(lab, store, profile=profile)
        results = _session_results(scanned)
    # Then every session check passes there, as the oracle says
    assert results == _expected(lab, test_account=True)
    https = {check: v for (_, key, check), v in results.items() if key == "tcp/443"}
    assert set(https.values()) == {Verdict.PASS}, https


async def test_an_unset_password_variable_is_inconclusive_not_pass(
    start_lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    lab = await start_lab([load_builtin("https-only-camera")])
    profile_file = tmp_path / "ic9.yaml"
    profile_file.write_text(
        "profile: ic9\nextends: base\n"
        "test_account: {username: operator, password_env: SHINSA_TEST_UNSET}\n"
    )
    monkeypatch.delenv("SHINSA_TEST_UNSET", raising=False)
    profile = load_profile(str(profile_file), all_checks())
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
        https = [
            r
            for r in scanned.results()
            if r.check_id in SESSION_CHECKS and r.service_key == "tcp/443"
        ]
    assert {r.verdict for r in https} == {Verdict.INCONCLUSIVE}
    assert all("test_account" in r.reason for r in https)


async def test_reflected_xss_equals_the_oracle_and_shows_where(start_lab, tmp_path: Path):
    lab = await start_lab([load_builtin(n) for n in DEVICES])
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store)
        results = [r for r in scanned.results() if r.check_id == "web.xss.reflected"]
    got = {(r.target, r.service_key): r.verdict for r in results}
    expected = {}
    for device in lab.devices:
        ports = {(s.transport, s.port): s.port for s in device.services}
        for (key, _), verdict in expected_reflection(device.personality, ports).items():
            expected[(device.address, key)] = verdict
    assert got == expected
    (leak,) = [r for r in results if r.verdict is Verdict.FAIL]
    assert "/search ?q" in leak.reason
    # the escaped search page was really tested, not skipped
    careful = next(r for r in results if r.service_key == "tcp/443")
    assert "/search ?q" in str(careful.evidence[0].details["tested"])
