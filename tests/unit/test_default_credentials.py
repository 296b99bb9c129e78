"""The default-credentials judgement, over fake login clients (no sockets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pytest

from probes.default_credentials import HTTP, LoginBudget, _DefaultLogin
from scanner.credential_lists import AttemptLedger, load_catalog
from scanner.credentials import Attempt, Credential, LoginRun, Outcome
from scanner.facts import VALID_CREDENTIALS, Facts
from scanner.model import Result, Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import Sequence

ADDR = "127.0.10.1"
SVC = Service("tcp", 80, "http")


class Fake(_DefaultLogin):
    """Answers from a script: the password decides the outcome."""

    check = HTTP
    checks = (HTTP,)
    family = "http"
    protocols = frozenset({"http"})
    script: ClassVar[dict[str, Outcome]] = {}
    control: ClassVar[Outcome | None] = Outcome.REJECTED
    seen: ClassVar[list[list[str]]] = []

    async def login(self, ctx, service, creds: Sequence[Credential], budget) -> LoginRun:
        type(self).seen.append([c.password for c in creds])
        attempts = []
        for cred in creds:
            outcome = self.script.get(cred.password, Outcome.REJECTED)
            attempts.append(Attempt(cred, outcome, f"answer to {cred.masked()}", 0.01))
            if outcome is not Outcome.REJECTED:
                break
        ctrl = (
            Attempt(Credential("shinsa-x", "y"), self.control, "control", 0.01)
            if self.control
            else None
        )
        return LoginRun("http form POST /login", tuple(attempts), ctrl)


def ctx(ledger: AttemptLedger | None = None, budget: LoginBudget | None = None) -> ProbeContext:
    net = Network(Scope.of([ADDR])).device(ADDR)
    params = {"creds.default.http": budget} if budget else {}
    return ProbeContext(
        Target(ADDR), net, Facts(), params, load_catalog(), ledger or AttemptLedger()
    )


async def judge(
    script: dict[str, Outcome],
    control: Outcome | None = Outcome.REJECTED,
    context: ProbeContext | None = None,
) -> tuple[Result, ProbeContext]:
    Fake.script, Fake.control, Fake.seen = script, control, []
    context = context or ctx()
    (result,) = await Fake().run(context, SVC)
    return result, context


async def test_a_factory_login_accepted_fails_and_is_published_masked():
    result, context = await judge({"admin": Outcome.ACCEPTED})
    assert result.verdict is Verdict.FAIL
    assert "admin/••••" in result.reason
    found = context.facts.get(VALID_CREDENTIALS)
    assert found is not None
    assert found[0].credential.password == "admin"
    assert "admin" not in str(result.evidence[0].details["attempts"]).replace("admin/", "")


async def test_a_device_that_accepts_a_bogus_login_is_inconclusive_not_fail():
    result, _ = await judge({"admin": Outcome.ACCEPTED}, control=Outcome.ACCEPTED)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "random bogus login" in result.reason


@pytest.mark.parametrize("stop", [Outcome.LOCKED, Outcome.THROTTLED])
async def test_lock_or_throttle_is_inconclusive_never_pass(stop):
    result, _ = await judge({"1234": stop})
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "not a pass" in result.reason


async def test_all_rejected_within_budget_passes_only_when_nothing_was_skipped():
    budget = LoginBudget(lockout_threshold=50, max_pairs=50)
    result, _ = await judge({}, context=ctx(budget=budget))
    assert result.verdict is Verdict.PASS
    result, _ = await judge({})  # default budget (2 per account) covers the built-in list
    assert result.verdict is Verdict.PASS
    result, _ = await judge({}, context=ctx(budget=LoginBudget(lockout_threshold=2)))
    assert result.verdict is Verdict.INCONCLUSIVE  # one try per account: admin/1234 skipped
    assert "stay below the lockout threshold" in result.reason


async def test_default_budget_never_sends_the_third_failure_for_an_account():
    await judge({})
    tried = Fake.seen[0]
    catalog = load_catalog().for_protocol("http", {})
    admin_tried = [c for c in catalog if c.username == "admin" and c.password in tried]
    assert len(admin_tried) == 2  # a device that locks at 3 failures is never locked


async def test_the_budget_is_shared_by_every_service_of_a_device():
    ledger = AttemptLedger()
    await judge({}, context=ctx(ledger))
    second, _ = await judge({}, context=ctx(ledger))
    assert "admin" not in [p for p in Fake.seen[-1] if p == "admin"]
    assert ledger.failures("admin") == 2
    assert second.verdict is Verdict.INCONCLUSIVE


async def test_a_success_gives_its_budget_back():
    ledger = AttemptLedger()
    await judge({"admin": Outcome.ACCEPTED}, context=ctx(ledger))
    assert ledger.failures("admin") == 0


async def test_errors_only_is_error_and_mixed_is_inconclusive():
    result, _ = await judge({"admin": Outcome.ERROR})
    assert result.verdict is Verdict.ERROR
    result, _ = await judge({"1234": Outcome.ERROR})  # admin/admin rejected, then an error
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "could not complete" in result.reason


def test_budget_parameters_are_validated():
    assert LoginBudget().per_account == 2
    assert LoginBudget(lockout_threshold=5, safety_margin=1).per_account == 3
    with pytest.raises(Exception, match="lockout_threshold"):
        LoginBudget(lockout_threshold=0)


async def test_a_delay_spreads_attempts_one_at_a_time_and_stops_at_the_first_non_rejection():
    budget = LoginBudget(delay_seconds=0.01)
    result, _ = await judge({"root": Outcome.ACCEPTED}, context=ctx(budget=budget))
    assert all(len(call) == 1 for call in Fake.seen)  # one pair per client call
    assert [c[0] for c in Fake.seen] == ["admin", "1234", "root"]
    assert result.verdict is Verdict.FAIL


def test_named_and_missing_credential_lists():
    from scanner.credential_lists import load_list, resolve_list
    from scanner.errors import ConfigError

    assert len(load_list(resolve_list("mirai-2016"))[0].pairs) > 50
    with pytest.raises(ConfigError, match="mirai-2016"):
        resolve_list("no-such-list")


class StopsEarly(Fake):
    async def login(self, ctx, service, creds: Sequence[Credential], budget) -> LoginRun:
        first = Attempt(creds[0], Outcome.REJECTED, "refused", 2.5)
        return LoginRun("http basic", (first,), None, "progressive delay")


async def test_a_run_stopped_early_is_inconclusive_never_pass():
    (result,) = await StopsEarly().run(ctx(), SVC)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "progressive delay" in result.reason
