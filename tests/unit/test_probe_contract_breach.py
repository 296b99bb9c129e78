"""A probe that breaks its contract (a plugin's bug) costs its own checks, nothing else: each
declared check of the job becomes `error` naming the probe and the breach, the device's
other jobs finish, and the run says so once per probe."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from probes.registry import all_checks
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, _run_job
from scanner.facts import Facts
from scanner.judging.profiles import load_profile
from scanner.model import Result, Service, Target, Verdict
from scanner.net import Limits, Network
from scanner.plan import Job
from scanner.probe import Check, ProbeContext, ServiceProbe
from scanner.reporter import Reporter
from scanner.scope import Scope
from tests.serving import serving
from tests.stored_scan import stored_scan

if TYPE_CHECKING:
    from pathlib import Path

ADDRESS = "127.0.79.40"
A = Check("test.a", "A holds", "m")
B = Check("test.b", "B holds", "m")


class _Broken(ServiceProbe):
    checks: ClassVar[tuple[Check, ...]] = (A, B)
    protocols: ClassVar[frozenset[str]] = frozenset({"*"})
    #: what the probe returns, given a context and a service (made per class below)
    answer: ClassVar[Any]

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        return type(self).answer(ctx, service)  # type: ignore[no-any-return]


def _ok(ctx: ProbeContext, service: Service, check: Check) -> Result:
    return ctx.result(check, Verdict.PASS, "seen", service=service)


class Undeclared(_Broken):
    answer = staticmethod(
        lambda ctx, svc: [_ok(ctx, svc, A), _ok(ctx, svc, Check("test.zz", "Z", "m"))]
    )


class ReturnsNone(_Broken):
    answer = staticmethod(lambda ctx, svc: None)


class ReturnsDict(_Broken):
    answer = staticmethod(lambda ctx, svc: {"test.a": _ok(ctx, svc, A)})


class Twice(_Broken):
    answer = staticmethod(lambda ctx, svc: [_ok(ctx, svc, A), _ok(ctx, svc, A), _ok(ctx, svc, B)])


class NotResults(_Broken):
    answer = staticmethod(lambda ctx, svc: [_ok(ctx, svc, A), "test.b: pass"])


class OtherTarget(_Broken):
    answer = staticmethod(
        lambda ctx, svc: [
            _ok(ctx, svc, A),
            Result("test.b", "127.0.79.99", svc, Verdict.PASS, "elsewhere"),
        ]
    )


#: a verdict given as text, as a plugin outside mypy's reach may write it
TEXT_VERDICT: Any = "pass"


class BadVerdict(_Broken):
    answer = staticmethod(
        lambda ctx, svc: [
            _ok(ctx, svc, A),
            Result("test.b", ctx.target.address, svc, TEXT_VERDICT, ""),
        ]
    )


class Raises(_Broken):
    @staticmethod
    def answer(ctx: ProbeContext, svc: Service) -> list[Result]:
        raise KeyError("boom")


BREACHES = {
    Undeclared: "undeclared check 'test.zz'",
    ReturnsNone: "returned None, not a list of results",
    ReturnsDict: "returned a dict, not a list of results",
    Twice: "more than one result for test.a",
    NotResults: "returned a str among its results",
    OtherTarget: "test.b for another target, '127.0.79.99'",
    BadVerdict: "result for test.b is malformed",
}


async def _run_one(probe: type[_Broken]) -> tuple[list[Result], list[tuple[str, str]]]:
    profile = load_profile("base", all_checks())
    request = ScanRequest((Target(ADDRESS),), Scope.of([ADDRESS]), PortSet((1,), ()), profile, ())
    ctx = ProbeContext(Target(ADDRESS), Network(request.scope).device(ADDRESS), Facts())
    service = Service("tcp", 1, "unknown")
    landed: list[Result] = []
    told: list[tuple[str, str]] = []
    await _run_job(
        request,
        ctx,
        Job(probe(), service),
        landed.append,
        [service],
        lambda name, breach: told.append((name, breach)),
    )
    return landed, told


@pytest.mark.parametrize(
    ("probe", "breach"), [pytest.param(p, b, id=p.__name__) for p, b in BREACHES.items()]
)
async def test_a_breach_makes_every_declared_check_an_error_naming_probe_and_breach(
    probe: type[_Broken], breach: str
) -> None:
    landed, told = await _run_one(probe)
    assert [(r.check_id, r.verdict) for r in landed] == [
        ("test.a", Verdict.ERROR),
        ("test.b", Verdict.ERROR),
    ]
    for r in landed:
        assert r.target == ADDRESS
        assert r.reason.startswith(f"{probe.__name__} on tcp/1 unknown on {ADDRESS} ")
        assert "broke the probe contract" in r.reason
        assert breach in r.reason, r.reason
        assert [e.kind for e in r.evidence] == ["contract"]
    [(name, said)] = told
    assert name == probe.__name__
    assert breach in said


async def test_an_exception_is_an_error_but_no_contract_breach() -> None:
    landed, told = await _run_one(Raises)
    assert [r.verdict for r in landed] == [Verdict.ERROR, Verdict.ERROR]
    assert "KeyError" in landed[0].reason
    assert told == []


class Good(ServiceProbe):
    checks: ClassVar[tuple[Check, ...]] = (Check("test.good", "Good holds", "m"),)
    protocols: ClassVar[frozenset[str]] = frozenset({"*"})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        await asyncio.sleep(0.2)  # still running when the broken jobs have ended
        return [ctx.result(self.checks[0], Verdict.PASS, "good", service=service)]


def _with_checks(probe: type[_Broken], prefix: str) -> type[_Broken]:
    """The same breach under check IDs of its own (one registry holds them all)."""
    a, b = Check(f"test.{prefix}-a", "A", "m"), Check(f"test.{prefix}-b", "B", "m")

    def answer(ctx: ProbeContext, svc: Service) -> object:
        def swap(r: object) -> object:
            if isinstance(r, Result) and r.check_id in ("test.a", "test.b"):
                return replace(r, check_id=(a if r.check_id == "test.a" else b).id)
            return r

        out = probe.answer(ctx, svc)
        return [swap(r) for r in out] if isinstance(out, list) else out

    return type(probe.__name__, (_Broken,), {"checks": (a, b), "answer": staticmethod(answer)})


class Notices(Reporter):
    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, message: str) -> None:
        self.notices.append(message)


async def test_a_device_with_broken_probes_finishes_its_other_checks(tmp_path: Path) -> None:
    broken = [_with_checks(p, p.__name__.lower()) for p in (*BREACHES, Raises)]

    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")  # identified at once, no fingerprint waits
        await writer.drain()

    async with serving(ADDRESS, banner) as one, serving(ADDRESS, banner) as two:
        assert 2024 not in (one, two)
        request = ScanRequest(
            (Target(ADDRESS),),
            Scope.of([ADDRESS]),
            PortSet((one, two), ()),
            load_profile("base", all_checks()),
            limits=Limits(connect_timeout=0.5, read_timeout=0.5),
            registry=(Good, *broken),
        )
        reporter = Notices()
        run = await stored_scan(request, tmp_path / "s.sqlite", reporter)
        results, states = run.results, run.states
    # the device finished, and every job of it landed one result per check on both services
    assert states == ["done"]
    verdicts = {(r.service_key, r.check_id): r.verdict for r in results}
    assert len(verdicts) == len(results) == 2 * (1 + 2 * len(broken))
    for port in (one, two):
        key = f"tcp/{port}"
        assert verdicts[(key, "test.good")] is Verdict.PASS
        for probe in broken:
            for check in probe.checks:
                assert verdicts[(key, check.id)] is Verdict.ERROR
    # one notice per probe that broke the contract, though it did so on two services
    contract = [n for n in reporter.notices if "broke the probe contract" in n]
    assert sorted(n.split()[1] for n in contract) == sorted(p.__name__ for p in BREACHES)
