"""The probe contract the engine enforces, and the registry's integrity."""

from __future__ import annotations

import asyncio
import pkgutil
import re
from typing import TYPE_CHECKING

import probes
from probes.exposed_services import ExposedServices
from probes.registry import REGISTRY, all_checks
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, _run_job, ready_jobs
from scanner.facts import VALID_CREDENTIALS, Facts
from scanner.judging.profiles import load_profile
from scanner.model import Result, Service, Target, Verdict
from scanner.net import Network
from scanner.plan import Job, plan
from scanner.probe import Check, Phase, ProbeContext, ServiceProbe
from scanner.scope import Scope
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path

ADDR = "127.0.10.1"
SVC = Service("tcp", 22, "ssh")
A = Check("test.a", "A holds", "m")
B = Check("test.b", "B holds", "m")


class Raises(ServiceProbe):
    checks = (A, B)
    protocols = frozenset({"ssh"})

    async def run(self, ctx, service):
        raise ConnectionResetError("peer reset")


class Hangs(ServiceProbe):
    checks = (A,)
    protocols = frozenset({"ssh"})

    async def run(self, ctx, service):
        await asyncio.sleep(60)
        return []


class Forgets(ServiceProbe):
    checks = (A, B)
    protocols = frozenset({"ssh"})

    async def run(self, ctx, service):
        return [ctx.result(A, Verdict.PASS, "A seen", service=service)]


class Strays(ServiceProbe):
    checks = (A,)
    protocols = frozenset({"ssh"})

    async def run(self, ctx, service):
        return [ctx.result(B, Verdict.PASS, "B seen", service=service)]


class Intrusive(ServiceProbe):
    checks = (A,)
    protocols = frozenset({"ssh"})
    intrusive = True

    async def run(self, ctx, service):
        return [ctx.result(A, Verdict.PASS, "ran", service=service)]


async def run_one(probe: ServiceProbe, timeout: float = 5.0) -> list[Result]:
    profile = load_profile("base", all_checks())
    request = ScanRequest(
        (Target(ADDR),), Scope.of([ADDR]), PortSet((22,), ()), profile, (), job_timeout=timeout
    )
    net = Network(request.scope).device(ADDR)
    ctx = ProbeContext(Target(ADDR), net, Facts())
    landed: list[Result] = []
    await _run_job(request, ctx, Job(probe, SVC), landed.append, [SVC])
    return landed


async def test_an_exception_becomes_error_for_every_check():
    landed = await run_one(Raises())
    assert [(r.check_id, r.verdict) for r in landed] == [
        ("test.a", Verdict.ERROR),
        ("test.b", Verdict.ERROR),
    ]
    assert "ConnectionResetError" in landed[0].reason


async def test_a_timeout_becomes_error_never_pass():
    landed = await run_one(Hangs(), timeout=0.2)
    assert [r.verdict for r in landed] == [Verdict.ERROR]
    assert "did not finish within 0.2 s" in landed[0].reason
    assert landed[0].duration is not None
    assert landed[0].duration < 2


async def test_a_forgotten_check_becomes_error():
    landed = await run_one(Forgets())
    assert {r.check_id: r.verdict for r in landed} == {
        "test.a": Verdict.PASS,
        "test.b": Verdict.ERROR,
    }


async def test_an_undeclared_check_is_a_probe_bug_that_costs_only_its_own_checks():
    # tests/unit/test_probe_contract_breach.py: every other breach, and the device's other jobs
    landed = await run_one(Strays())
    assert [(r.check_id, r.verdict) for r in landed] == [("test.a", Verdict.ERROR)]
    assert "broke the probe contract: it returned undeclared check 'test.b'" in landed[0].reason


async def test_intrusive_probe_is_skipped_unless_allowed():
    landed = await run_one(Intrusive())
    assert [r.verdict for r in landed] == [Verdict.SKIPPED]


def test_plan_skips_jobs_whose_checks_are_all_done():
    services = [Service("tcp", 22, "ssh"), Service("tcp", 23, "telnet")]
    registry = (ExposedServices,)
    jobs = plan(registry, services, address=ADDR)
    assert len(jobs) == 2
    done = {(ADDR, "tcp/22", c.id) for c in ExposedServices.checks}
    assert [j.service for j in plan(registry, services, address=ADDR, done=done)] == [services[1]]


def test_every_probe_module_is_registered_and_check_ids_are_unique_and_well_formed():
    modules = {
        m.name
        for m in pkgutil.iter_modules(probes.__path__)
        if not m.name.startswith("_") and m.name != "registry"
    }
    registered = {cls.__module__.rsplit(".", 1)[1] for cls in REGISTRY}
    assert modules <= registered
    ids = [c.id for cls in REGISTRY for c in cls.checks]
    assert len(ids) == len(set(ids))
    assert all(re.match(r"^[a-z0-9]+(\.[a-z0-9-]+)+$", i) for i in ids)


def test_store_keeps_final_results_and_replaces_retryable_ones(tmp_path: Path):
    with Store(tmp_path / "s.sqlite") as store:
        store.start_run(
            "r1",
            profile_id="base",
            profile_digest="d",
            scanner_version="0",
            request={},
            targets=[(ADDR, "")],
        )
        err = Result("test.a", ADDR, SVC, Verdict.ERROR, "timeout")
        store.add_result("r1", err)
        assert store.done("r1") == set()
        ok = Result("test.a", ADDR, SVC, Verdict.PASS, "fine")
        store.add_result("r1", ok)
        store.add_result("r1", Result("test.a", ADDR, SVC, Verdict.FAIL, "late duplicate"))
        assert [r.verdict for r in store.results("r1")] == [Verdict.PASS]
        assert store.done("r1") == {(ADDR, "tcp/22", "test.a")}
        assert store.results("r1")[0].service == SVC


class Provides(ServiceProbe):
    checks = (A,)
    protocols = frozenset({"ssh"})
    provides = frozenset({VALID_CREDENTIALS})

    async def run(self, ctx, service):
        return []


class Uses(ServiceProbe):
    checks = (B,)
    protocols = frozenset({"ssh"})
    uses = frozenset({VALID_CREDENTIALS})

    async def run(self, ctx, service):
        return []


def test_a_job_that_uses_a_fact_waits_for_its_providers_but_not_for_the_fact():
    provider, user = Job(Provides(), SVC), Job(Uses(), SVC)
    assert ready_jobs([provider, user], Facts()) == [provider]
    # The provider ran and found nothing: the user runs anyway, without the fact.
    assert ready_jobs([user], Facts()) == [user]


def test_a_job_that_uses_what_it_provides_does_not_wait_for_itself():
    class Both(Provides):
        uses = frozenset({VALID_CREDENTIALS})

    job = Job(Both(), SVC)
    assert ready_jobs([job], Facts()) == [job]


def test_a_phase_starts_when_every_job_of_the_earlier_phases_has_ended():
    class Observe(ServiceProbe):
        checks = (A,)
        protocols = frozenset({"ssh"})

        async def run(self, ctx, service):
            return []

    class Login(Observe):
        phase = Phase.LOGIN

    class Intrusive(Observe):
        phase = Phase.INTRUSIVE

    observe, login, intrusive = Job(Observe(), SVC), Job(Login(), SVC), Job(Intrusive(), SVC)
    assert ready_jobs([intrusive, login, observe], Facts()) == [observe]
    # an observation still running holds the logins back, however long it takes
    assert ready_jobs([intrusive, login], Facts(), busy=[observe]) == []
    assert ready_jobs([intrusive, login], Facts()) == [login]
    assert ready_jobs([intrusive], Facts(), busy=[login]) == []
    assert ready_jobs([intrusive], Facts()) == [intrusive]


def test_the_registry_observes_before_it_logs_in_and_locks_last():
    from probes.registry import REGISTRY

    phases = {p.__name__: p.phase for p in REGISTRY}
    assert phases["SshConfig"] < phases["DefaultSshLogin"] < phases["WebSessionChecks"]
    assert phases["WebSessionChecks"] < phases["SessionExpiry"] < phases["AccountLockout"]
    assert all(p.phase == Phase.INTRUSIVE for p in REGISTRY if p.intrusive)
