"""The default-credentials judgement, over fake login clients (no sockets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from probes import default_credentials
from probes._login.common import Pace
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


#: The list these tests use, whatever the shipped data set holds: three admin passwords,
#: then root and guest (generic entries, no match).
LIST = """format: shinsa-credentials/1
credentials:
  - vendor: generic
    protocols: [http]
    pairs: [[admin, admin], [admin, "1234"], [root, root], [admin, password], [guest, guest]]
    source: test list
"""


@pytest.fixture(autouse=True)
def test_list(tmp_path, monkeypatch):
    path = tmp_path / "test-list.yaml"
    path.write_text(LIST)
    monkeypatch.setattr(
        "tests.unit.test_default_credentials.CATALOG", load_catalog([path], builtin=False)
    )


CATALOG = load_catalog()  # replaced by the test list for every test


def ctx(ledger: AttemptLedger | None = None, budget: LoginBudget | None = None) -> ProbeContext:
    net = Network(Scope.of([ADDR])).device(ADDR)
    params = {"creds.default.http": budget} if budget else {}
    return ProbeContext(Target(ADDR), net, Facts(), params, CATALOG, ledger or AttemptLedger())


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
    # The default budget (2 failures per account) cannot reach the third admin password:
    # an honest report names what was left, distinguishably but masked.
    result, _ = await judge({})
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "1 of the 5 candidates" in result.reason
    assert "admin/p•••••••" in result.reason
    assert "stay below the lockout threshold" in result.reason
    listed = result.evidence[0].details["list"]
    assert listed == {
        "name": CATALOG.select("http", {}, generic_top=25).list_name,
        "candidates": 5,
        "tried": 4,
        "untried": 1,
        "untried_logins": ["admin/p•••••••"],
    }
    result, _ = await judge({}, context=ctx(budget=LoginBudget(lockout_threshold=2)))
    assert result.verdict is Verdict.INCONCLUSIVE  # one try per account: admin/1234 skipped
    assert "stay below the lockout threshold" in result.reason


async def test_default_budget_never_sends_the_third_failure_for_an_account():
    await judge({})
    tried = Fake.seen[0]
    catalog = CATALOG.select("http", {}, generic_top=25).pairs
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


async def test_an_unconfirmed_surface_is_inconclusive_never_pass():
    class Unconfirmed(Fake):
        async def login(self, ctx, service, creds, budget) -> LoginRun:
            control = Attempt(Credential("shinsa-x", "y"), Outcome.ERROR, "HTTP 404", 0.01)
            return LoginRun("http json POST /auth/login", (), control, "", "got HTTP 404")

    (result,) = await Unconfirmed().run(ctx(), SVC)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "got HTTP 404" in result.reason
    assert result.evidence[0].details["unconfirmed"] == "got HTTP 404"


def test_hints_tell_candidates_apart_without_showing_them():
    assert Credential("admin", "password").hint() == "admin/p•••••••"
    assert Credential("admin", "").hint() == "admin/(empty)"
    assert Credential("admin", "password").masked() == "admin/••••"


class Locking(Fake):
    """A device that locks an account after `threshold` failures for `seconds`, saying so
    on every attempt while locked; the right password is 'password'."""

    threshold: ClassVar[int] = 2
    seconds: ClassVar[float] = 0.2
    failures: ClassVar[dict[str, int]] = {}
    locked_until: ClassVar[dict[str, float]] = {}
    calls: ClassVar[list[tuple[float, list[str]]]] = []
    right: ClassVar[str] = "password"

    async def login(self, ctx, service, creds, budget) -> LoginRun:
        import time

        cls = type(self)
        cls.calls.append((time.monotonic(), [c.password for c in creds]))
        attempts = []
        for cred in creds:
            now = time.monotonic()
            if cls.locked_until.get(cred.username, 0) > now:
                attempts.append(Attempt(cred, Outcome.LOCKED, "account locked", 0.01))
                break
            if cred.password == cls.right:
                attempts.append(Attempt(cred, Outcome.ACCEPTED, "in", 0.01))
                break
            cls.failures[cred.username] = cls.failures.get(cred.username, 0) + 1
            if cls.failures[cred.username] >= cls.threshold:
                cls.locked_until[cred.username] = now + cls.seconds
                cls.failures[cred.username] = 0
            attempts.append(Attempt(cred, Outcome.REJECTED, "wrong", 0.01))
        control = Attempt(Credential("shinsa-x", "y"), Outcome.REJECTED, "control", 0.01)
        return LoginRun("http form POST /login", tuple(attempts), control)


@pytest.fixture
def locking(monkeypatch):
    monkeypatch.setattr("probes.default_credentials.FIRST_LOCK_POLL", 0.05)
    Locking.failures, Locking.locked_until, Locking.calls = {}, {}, []
    Locking.right, Locking.seconds = "password", 0.2
    return Locking


async def test_whole_list_learns_a_visible_lock_and_finds_the_login_behind_it(locking):
    """The bench unit: the budget would stop at two admin passwords; whole-list pacing meets
    the lock, learns it by polling, waits it out and reaches admin/password (4th)."""
    budget = LoginBudget(pacing="whole-list")
    (result,) = await locking().run(ctx(budget=budget), SVC)
    assert result.verdict is Verdict.FAIL
    assert "admin/••••" in result.reason
    waits = result.evidence[0].details["lock_waits"]
    assert waits["locks"] == 1
    assert waits["learned_threshold"] == 2
    assert waits["waited_seconds"] > 0
    # the lock was polled with the candidate it stopped, never skipped over
    tried = [a["login"] for a in result.evidence[0].details["attempts"]]
    assert tried == ["admin/••••", "admin/••••", "root/••••", "admin/••••", "guest/••••"]


async def test_whole_list_reports_every_account_that_still_has_its_factory_login():
    budget = LoginBudget(pacing="whole-list")
    result, context = await judge(
        {"root": Outcome.ACCEPTED, "password": Outcome.ACCEPTED}, context=ctx(budget=budget)
    )
    assert result.verdict is Verdict.FAIL
    assert "2 factory logins (root/••••, admin/••••)" in result.reason
    found = context.facts.get(VALID_CREDENTIALS)
    assert found is not None
    assert sorted(f.credential.username for f in found) == ["admin", "root"]


async def test_whole_list_with_a_known_lock_waits_between_chunks_and_at_the_end(locking):
    """Lock known from the profile: chunks of `lockout_threshold` failures per account,
    each lock waited out before the account is tried again, and the last one too."""
    import time

    budget = LoginBudget(pacing="whole-list", lockout_threshold=2, lockout_seconds=0.2)
    t0 = time.monotonic()
    (result,) = await locking().run(ctx(budget=budget), SVC)
    assert result.verdict is Verdict.FAIL  # admin/password reached without one LOCKED answer
    assert all(a["outcome"] != "locked" for a in result.evidence[0].details["attempts"])
    assert result.evidence[0].details["lock_waits"]["waited_seconds"] >= 0.2
    assert time.monotonic() - t0 >= 0.2


async def test_whole_list_all_rejected_passes_and_leaves_nothing_locked(locking):
    import time

    locking.right = "not-in-the-list"
    budget = LoginBudget(pacing="whole-list", lockout_threshold=2, lockout_seconds=0.2)
    (result,) = await locking().run(ctx(budget=budget), SVC)
    assert result.verdict is Verdict.PASS
    assert "every one of the 5 candidates" in result.reason, result.reason
    assert "waited" in result.reason
    locked_after = [u for u, t in Locking.locked_until.items() if t > time.monotonic()]
    assert locked_after == []  # the final lock was waited out before the check ended


async def test_whole_list_gives_up_when_waiting_would_pass_max_wait(locking):
    locking.seconds = 60.0
    budget = LoginBudget(pacing="whole-list", max_wait_seconds=0.3)
    (result,) = await locking().run(ctx(budget=budget), SVC)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "max_wait_seconds" in result.reason
    assert "admin/p•••••••" in result.reason  # what was left, named


class SideBySide(Locking):
    """Two connections at once: on the first call the lock shows on admin/1234 while the
    other connection's root/root was answered and admin/password, in flight, was dropped
    (never recorded); the lock lasts 0.2 s."""

    async def login(self, ctx, service, creds, budget) -> LoginRun:
        import time

        cls = type(self)
        first = not cls.calls
        cls.calls.append((time.monotonic(), [c.password for c in creds]))
        if first:
            cls.locked_until["admin"] = time.monotonic() + cls.seconds
            by = {c.password: c for c in creds}
            attempts = (
                Attempt(by["admin"], Outcome.REJECTED, "wrong", 0.01),
                Attempt(by["1234"], Outcome.LOCKED, "account locked", 0.01),
                Attempt(by["root"], Outcome.REJECTED, "wrong", 0.01),
            )
            control = Attempt(Credential("shinsa-x", "y"), Outcome.REJECTED, "control", 0.01)
            return LoginRun("http form POST /login", attempts, control)
        return await super().login(ctx, service, creds, budget)


async def test_whole_list_side_by_side_keeps_answers_and_retries_what_was_in_flight(locking):
    """Answers that came in beside a lock count; the locked candidate is polled; the one
    in flight when the lock showed is tried later, never skipped, never counted."""
    SideBySide.calls = []
    budget = LoginBudget(pacing="whole-list", connections=2)
    (result,) = await SideBySide().run(ctx(budget=budget), SVC)
    assert result.verdict is Verdict.FAIL
    details: Any = result.evidence[0].details
    hints = [(a["login"], a["outcome"]) for a in details["attempts"]]
    assert hints.count(("root/••••", "rejected")) == 1  # answered beside the lock, kept
    assert ("admin/••••", "accepted") in hints  # admin/password: in flight, tried later
    tried_passwords = [p for _, ps in SideBySide.calls for p in ps]
    assert tried_passwords.count("root") == 1  # never sent twice
    assert "password" in tried_passwords[3:]  # after the first call
    assert details["lock_waits"]["locks"] == 1


def test_connections_are_validated():
    from scanner.errors import ConfigError

    with pytest.raises(ConfigError, match="connections"):
        LoginBudget(connections=0)
    with pytest.raises(ConfigError, match="connections"):
        LoginBudget(connections=17)


def test_pacing_is_validated():
    with pytest.raises(Exception, match="pacing"):
        LoginBudget(pacing="fast")


def test_the_deadline_follows_the_list_and_the_lock_waits():
    """A whole-list run may wait max_wait_seconds for locks on top of every attempt; the
    engine's 600 s must not cut it (issue 10: measurements end in a verdict)."""
    from scanner.facts import SERVICES

    budget = LoginBudget(pacing="whole-list", max_wait_seconds=900, timeout_seconds=10)
    context = ctx(budget=budget)
    context.facts.put(SERVICES, (SVC, Service("tcp", 22, "ssh")))
    needed = Fake().time_needed(context, SVC)
    assert needed == 2 * (2 * 5 * 10 + 900)  # two login services take turns
    assert Fake().time_needed(ctx(), SVC) == 2 * 5 * 10  # budget pacing: no lock waits


@pytest.mark.parametrize(
    "probe",
    [
        c
        for c in vars(default_credentials).values()
        if isinstance(c, type)
        and issubclass(c, default_credentials._DefaultLogin)
        and hasattr(c, "family")
    ],
    ids=lambda c: c.__name__,
)
async def test_every_protocol_client_gets_the_profiles_connections(
    probe: type[_DefaultLogin], monkeypatch: pytest.MonkeyPatch
):
    """The HTTP client was called without `connections`: acceptance's 4 side by side ran
    one at a time (a Digest login with lighttpd's 2 s failure delay: 163 s instead of 50)."""
    seen: dict[str, object] = {}

    async def client(*args: object, **kwargs: object) -> LoginRun:
        seen.update(kwargs)
        return LoginRun(method="test")

    monkeypatch.setitem(default_credentials._CLIENTS, probe.family, client)
    monkeypatch.setattr("probes._login.http.try_logins", client)
    service = Service("tcp", 80, protocol=next(iter(probe.protocols)))
    await probe().login(ctx(), service, [], LoginBudget(connections=3, timeout_seconds=7.0))
    assert seen.get("pace") == Pace(timeout=7.0, connections=3)
