"""The scanner against a lab of simulated devices: exactly the oracle's findings."""

from __future__ import annotations

import re
import resource
from typing import TYPE_CHECKING

import pytest

from lab.oracle import expected_creds, expected_results, expected_web
from lab.oracle_banners import expected_banners
from lab.oracle_expiry import expected_expiry
from lab.oracle_lockout import expected_lockout
from lab.oracle_session import expected_reflection, expected_session
from lab.oracle_ssh import expected_ssh
from lab.oracle_tls import expected_tls
from lab.personality import load_builtin
from probes.exposed_services import ExposedServices
from probes.registry import all_checks
from scanner.judging.profiles import load_profile
from scanner.model import Result, Verdict
from scanner.probe import Check, ServiceProbe
from scanner.reporter import Reporter
from scanner.store import Store
from tests.integration.conftest import all_personalities, scan_lab

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


async def test_a_lab_of_twenty_devices_yields_exactly_the_oracles_findings(start_lab, tmp_path):
    # Given every built-in personality twice (more than 20 devices, faults included)
    lab = await start_lab(all_personalities(2))
    assert len(lab.devices) >= 20
    with Store(tmp_path / "s.sqlite") as store:
        # When the whole lab is scanned with the base profile
        scanned = await scan_lab(lab, store)
        results = scanned.results()
        for device in lab.devices:
            # Then every service is found and identified, and nothing else
            found = {(s.transport, s.port, s.protocol) for s in scanned.services(device.address)}
            planted = {(s.transport, s.port, s.protocol) for s in device.services}
            assert found == planted, device.name
            # and the results are the oracle's, no misses and no extras
            ports = {(s.transport, s.port): s.port for s in device.services}
            expected = expected_results(device.personality, ports)
            expected |= expected_creds(device.personality, ports)
            expected |= expected_ssh(device.personality, ports)
            expected |= expected_web(device.personality, ports)
            expected |= expected_session(device.personality, ports)
            expected |= expected_reflection(device.personality, ports)
            expected |= expected_tls(device.personality, ports)
            expected |= expected_banners(device.personality, ports)
            expected |= expected_lockout(device.personality, ports)
            expected |= expected_expiry(device.personality, ports)
            mine = [r for r in results if r.target == device.address]
            got = {(r.service_key, r.check_id): r.verdict for r in mine}
            assert got == expected, (device.name, mismatches(expected, mine))
        # and every result, as stored, says why in Japanese too, and every evidence what it is
        assert_japanese(results)


def mismatches(
    expected: dict[tuple[str, str], Verdict], results: list[Result]
) -> list[tuple[str, str, str, str, str]]:
    """(service, check, expected, got, the result's reason) where the two differ: a load-
    dependent miss says which read or wait it was."""
    got = {(r.service_key, r.check_id): r for r in results}
    return [
        (service, check, str(expected.get((service, check))), str(r.verdict) if r else "-",
         r.reason if r else "")
        for service, check in sorted(expected.keys() | got.keys())
        if (r := got.get((service, check))) is None or expected.get((service, check)) != r.verdict
    ]  # fmt: skip


def assert_japanese(results: list[Result]) -> None:
    """Every built-in result carries its reason in Japanese and every evidence its summary
    (CJK text, not an empty or copied English string)."""
    assert results
    missing = [
        (r.check_id, r.target, r.service_key, r.reason)
        for r in results
        if not _CJK.search(r.reason_ja)
    ]
    missing += [
        (r.check_id, r.target, e.kind, e.summary)
        for r in results
        for e in r.evidence
        if not _CJK.search(e.summary_ja)
    ]
    assert missing == []


async def test_fault_devices_end_inconclusive_with_a_reason_never_pass(start_lab, tmp_path):
    faults = ["fault-hang", "fault-reset", "fault-garbage", "fault-huge-banner", "fault-silent"]
    lab = await start_lab([load_builtin(n) for n in faults])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store)
        for device in lab.devices:
            fault_ports = {f"tcp/{s.port}" for s in device.services if s.protocol == "unknown"}
            assert fault_ports, device.name
            for r in scanned.results():
                if r.target == device.address and r.service_key in fault_ports:
                    assert r.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR), r
                    assert r.service is not None, r
                    assert r.service.note, r
        assert_japanese(scanned.results())
        # A 1 MiB banner is read only up to the bound, and only a bounded excerpt is kept.
        huge = next(d for d in lab.devices if d.name == "fault-huge-banner")
        (flood,) = (s for s in scanned.services(huge.address) if not s.identified)
        assert "exceeded 64 KiB" in flood.note
        assert len(flood.banner) <= 512
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 32 * 1024


async def test_a_narrow_device_profile_fails_every_service_it_does_not_allow(start_lab, tmp_path):
    lab = await start_lab([load_builtin("weak-camera")])
    # acme-cam-200's allow-list on the permissive base (acme-cam-200 itself extends the
    # acceptance profile, whose behavioural checks wait minutes on a device that never
    # ends a session)
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text(
        "profile: narrow\nextends: base\nparams:\n  services.unexpected:\n"
        '    allowed: ["tcp/443 https", "tcp/22 ssh", "tcp/554 rtsp"]\n'
    )
    profile = load_profile(str(narrow), all_checks())
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
        verdicts = {
            r.service_key: r.verdict
            for r in scanned.results()
            if r.check_id == "services.unexpected"
        }
    # acme-cam-200 allows https/443, ssh/22 and rtsp/554 only
    rtsp = next(s for s in lab.devices[0].services if s.protocol == "rtsp")
    assert verdicts.pop(rtsp.key) is Verdict.PASS
    assert verdicts
    assert set(verdicts.values()) == {Verdict.FAIL}


def test_store_file_is_wal(tmp_path: Path):
    with Store(tmp_path / "s.sqlite") as store:
        mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


@pytest.mark.root
async def test_syn_discovery_finds_the_same_services_as_connect(start_lab, tmp_path):
    lab = await start_lab([load_builtin("home-router"), load_builtin("legacy-plc")])
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store, syn=True)
        for device in lab.devices:
            found = {(s.transport, s.port, s.protocol) for s in scanned.services(device.address)}
            assert found == {(s.transport, s.port, s.protocol) for s in device.services}


class _BrokenOnTelnet(ServiceProbe):
    """A probe with a bug outside its jobs: planning a Telnet service raises. (A bug inside
    a job, such as an undeclared check, costs only the job's checks:
    tests/unit/test_probe_contract_breach.py.)"""

    checks = (Check("test.broken", "never", "m"),)
    protocols = frozenset({"telnet"})

    def applies_to(self, service):
        if service.protocol == "telnet":
            raise LookupError("bug in applies_to")
        return False

    async def run(self, ctx, service):
        return [ctx.result(self.checks[0], Verdict.PASS, "never planned", service=service)]


class _Notices(Reporter):
    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, message: str) -> None:
        self.notices.append(message)


async def test_one_devices_failure_is_recorded_and_the_scan_goes_on(start_lab, tmp_path):
    lab = await start_lab([load_builtin("weak-camera"), load_builtin("hardened-gateway")])
    camera, gateway = lab.devices
    reporter = _Notices()
    with Store(tmp_path / "s.sqlite") as store:
        await scan_lab(lab, store, registry=(ExposedServices, _BrokenOnTelnet), reporter=reporter)
        states = {addr: state for addr, _, state in store.targets("run")}
        results = store.results("run")
        failures = store.failures("run")
    # failed, with the reason, and retried by --resume (which redoes every state but done)
    assert states == {camera.address: "failed", gateway.address: "done"}
    assert "LookupError: bug in applies_to" in failures[camera.address]
    assert any(camera.address in n and "LookupError" in n for n in reporter.notices)
    assert {r.target for r in results} >= {gateway.address}
