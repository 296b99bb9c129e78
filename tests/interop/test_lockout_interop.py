"""auth.lockout against real OpenSSH and dropbear (Debian bookworm), through the whole
intrusive scan with the profile's test account, a temporary local user.

The daemons (tests/interop/lockout_daemons.py; this suite owns 127.0.74.0/24):
- OpenSSH 9.2 with PAM and pam_faillock (deny=3, unlock_time=5): a real account lock,
  measured exactly (OpenSSH's own PerSourcePenalties only came in 9.8);
- OpenSSH with `MaxAuthTries 2` and no PAM: it ends a connection after two failures, and
  that is no lockout, because a new connection starts the count again;
- dropbear, which has no lockout at all;
- mosquitto with `allow_anonymous true`, which lets every login in: there is nothing to
  lock, so the check is not applicable (and so is the broker's keep-alive check).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from probes._login import ssh
from scanner.credentials import Credential, Outcome
from scanner.model import Service, Verdict
from scanner.net import Network
from scanner.scope import Scope
from tests.interop import lockout_daemons
from tests.interop.scanning import scan_daemon
from tests.interop.tls_daemons import DaemonFailed, MissingBinary

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path

    from scanner.model import JSONValue, Result
    from tests.interop.lockout_daemons import Daemon, LocalUser

pytestmark = pytest.mark.interop

#: The profile names this variable; the `user` fixture puts the password in it.
PASSWORD_ENV = "SHINSA_INTEROP_LOCK"
MAX_ATTEMPTS = 5
DENY = 3
UNLOCK_SECONDS = 5


def _up(manager: AbstractContextManager[Daemon]) -> Iterator[Daemon]:
    try:
        with manager as daemon:
            yield daemon
    except (MissingBinary, DaemonFailed) as exc:
        pytest.fail(str(exc))


@pytest.fixture
def user(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalUser]:
    """The test account: a local user with a random password, deleted at teardown."""
    try:
        with lockout_daemons.local_user() as account:
            monkeypatch.setenv(PASSWORD_ENV, account.password)
            yield account
    except (MissingBinary, DaemonFailed) as exc:
        pytest.fail(str(exc))


@pytest.fixture
def faillock_sshd(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    yield from _up(
        lockout_daemons.faillock_sshd(
            lockout_daemons.FAILLOCK_SSHD_ADDRESS,
            tmp_path,
            user,
            deny=DENY,
            unlock_time=UNLOCK_SECONDS,
        )
    )


@pytest.fixture
def maxauthtries_sshd(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    yield from _up(
        lockout_daemons.plain_sshd(
            lockout_daemons.MAXAUTHTRIES_SSHD_ADDRESS, tmp_path, user, "MaxAuthTries 2\n"
        )
    )


@pytest.fixture
def dropbear(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    del user  # dropbear logs in every local user with a shell: the account must exist
    yield from _up(lockout_daemons.dropbear(lockout_daemons.DROPBEAR_ADDRESS, tmp_path))


async def scan_lockout(daemon: Daemon, user: LocalUser, tmp_path: Path) -> Result:
    """An intrusive scan of the daemon's port 22 with `user` as the profile's test account;
    its auth.lockout result."""
    results = await scan_daemon(
        tmp_path,
        address=daemon.address,
        label=daemon.name,
        profile_yaml="profile: interop-lockout\nextends: base\nallow_intrusive: true\n"
        f"test_account: {{username: {user.name}, password_env: {PASSWORD_ENV}}}\n"
        "params:\n"
        f"  auth.lockout: {{max_attempts: {MAX_ATTEMPTS}, max_wait_seconds: 30}}\n",
        tcp=(daemon.port,),
        job_timeout=60.0,
    )
    (result,) = (r for r in results if r.check_id == "auth.lockout")
    assert result.service_key == f"tcp/{daemon.port}", result
    return result


def details(result: Result) -> dict[str, JSONValue]:
    (evidence,) = (e for e in result.evidence if e.kind == "timing")
    return dict(evidence.details)


def timeline(result: Result) -> list[tuple[object, object, object]]:
    """(user, password, outcome) of every attempt, in order."""
    rows = details(result)["timeline"]
    assert isinstance(rows, list)
    return [(r["user"], r["password"], r["outcome"]) for r in rows if isinstance(r, dict)]


def explain(result: Result, daemon: Daemon) -> str:
    rows = details(result).get("timeline")
    lines = [f"{result.verdict.value}: {result.reason}"]
    lines += [str(row) for row in rows] if isinstance(rows, list) else []
    return "\n".join([*lines, daemon.log_tail()])


async def login(daemon: Daemon, user: LocalUser) -> Outcome:
    dev = Network(Scope.of([daemon.address])).device(daemon.address)
    run = await ssh.try_logins(
        dev, Service("tcp", daemon.port, "ssh"), [Credential(user.name, user.password, "test")]
    )
    assert run.attempts, run.note
    return run.attempts[0].outcome


RIGHT_OK = ("account", "right", "accepted")
WRONG = ("account", "wrong", "rejected")
RIGHT_REFUSED = ("account", "right", "rejected")


@pytest.mark.slow
async def test_pam_faillock_lock_is_measured_threshold_duration_and_scope(
    faillock_sshd: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    # Given OpenSSH whose PAM stack locks an account for 5 s after 3 failures
    # When an intrusive scan measures lockout with that account
    result = await scan_lockout(faillock_sshd, user, tmp_path)
    # Then it passes, with pam_faillock's own figures
    info = explain(result, faillock_sshd)
    assert result.verdict is Verdict.PASS, info
    facts = details(result)
    assert facts["reaction"] == "lock", info
    assert facts["threshold"] == DENY, info
    assert facts["scope"] == "account", info  # failures of an unknown user lock nobody
    # unlocked once time(NULL) > last counted failure + 5 (whole seconds): 5-6 s after the
    # third failure, timed from the fifth and polled at a quarter of the time waited
    duration = facts["duration"]
    assert isinstance(duration, float)
    assert UNLOCK_SECONDS - 1 <= duration <= UNLOCK_SECONDS + 4, info
    assert "left_locked" not in facts, info
    # and the timeline shows how: the right password works, 5 wrong ones are refused (all
    # alike: `silent` hides the lock), then the right one is refused until the lock ends
    rows = timeline(result)
    assert rows[: 2 + MAX_ATTEMPTS] == [RIGHT_OK, *[WRONG] * MAX_ATTEMPTS, RIGHT_REFUSED], info
    assert all(outcome in ("accepted", "rejected") for _, _, outcome in rows), info
    # and the account is left unlocked: no failure recorded, and the login works
    tally = lockout_daemons.faillock_tally(faillock_sshd, user).splitlines()
    assert tally[0] == f"{user.name}:", tally
    assert len(tally) == 2, tally  # the name and the column header, no failure rows
    assert await login(faillock_sshd, user) is Outcome.ACCEPTED, faillock_sshd.log_tail()


@pytest.mark.parametrize("fixture", ["maxauthtries_sshd", "dropbear"])
async def test_a_server_without_lockout_fails_even_when_it_ends_connections(
    request: pytest.FixtureRequest, user: LocalUser, tmp_path: Path, fixture: str
) -> None:
    # Given OpenSSH that drops a connection after 2 failures (MaxAuthTries 2, no PAM), or
    # dropbear: neither ever refuses the right password
    daemon: Daemon = request.getfixturevalue(fixture)
    # When an intrusive scan measures lockout with the account
    result = await scan_lockout(daemon, user, tmp_path)
    # Then it fails: 5 wrong passwords (one per connection), and the right one still works
    info = explain(result, daemon)
    assert result.verdict is Verdict.FAIL, info
    assert f"max_attempts ({MAX_ATTEMPTS})" in result.reason, info
    assert "no lock" in result.reason, info
    assert details(result)["reaction"] == "none", info
    assert timeline(result) == [RIGHT_OK, *[WRONG] * MAX_ATTEMPTS, RIGHT_OK], info


@pytest.fixture
def anonymous_mosquitto(tmp_path: Path) -> Iterator[Daemon]:
    yield from _up(
        lockout_daemons.anonymous_mosquitto(lockout_daemons.ANONYMOUS_MOSQUITTO_ADDRESS, tmp_path)
    )


def mosquitto_pub_with_a_random_login(daemon: Daemon) -> subprocess.CompletedProcess[bytes]:
    """Ground truth: Debian's own client publishes with a login nobody planted."""
    binary = shutil.which("mosquitto_pub")
    if binary is None:
        pytest.fail("mosquitto_pub not found: install the Debian package mosquitto-clients")
    return subprocess.run(
        [
            *(binary, "-h", daemon.address, "-p", str(daemon.port)),
            *("-u", f"nobody-{secrets.token_hex(4)}", "-P", secrets.token_urlsafe(12)),
            *("-t", "shinsa/ground-truth", "-m", "hello", "-q", "1"),
        ],
        capture_output=True,
        timeout=15,
        check=False,
    )


@pytest.mark.parametrize("with_account", [False, True], ids=["no-account", "test-account"])
async def test_a_broker_that_lets_everyone_in_has_no_lockout_to_measure(
    anonymous_mosquitto: Daemon,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    with_account: bool,
) -> None:
    # Given mosquitto with allow_anonymous true and no password file, which (ground truth,
    # by its own client) accepts a random user name and password
    daemon = anonymous_mosquitto
    published = mosquitto_pub_with_a_random_login(daemon)
    assert published.returncode == 0, (published.stderr, daemon.log_tail())
    # When an intrusive scan measures lockout on it, with or without a test account
    # (whatever account is named, the broker lets it in), and the keep-alive check is asked
    profile = "profile: interop-lockout-anonymous\nextends: base\nallow_intrusive: true\n"
    if with_account:
        monkeypatch.setenv(PASSWORD_ENV, secrets.token_urlsafe(12))
        profile += f"test_account: {{username: operator, password_env: {PASSWORD_ENV}}}\n"
    profile += (
        f"params:\n  auth.lockout: {{max_attempts: {MAX_ATTEMPTS}, max_wait_seconds: 30}}\n"
        "  session.mqtt-keepalive: {keepalive_seconds: 2}\n"
        "  session.idle-timeout: {max_idle_seconds: 5}\n"
        "  session.absolute-timeout: {max_session_seconds: 5}\n"
        "  session.concurrent-limit: {max_sessions: 2}\n"
    )
    results = await scan_daemon(
        tmp_path,
        address=daemon.address,
        label=daemon.name,
        profile_yaml=profile,
        tcp=(daemon.port,),
        job_timeout=60.0,
    )
    on_broker = {r.check_id: r for r in results if r.service_key == f"tcp/{daemon.port}"}
    # Then auth.lockout is not applicable, saying why, after one wrong login was accepted
    # (no failure was ever counted, so no "fail" for a lock that cannot exist)
    lockout = on_broker["auth.lockout"]
    info = f"{lockout.verdict.value}: {lockout.reason}\n{details(lockout)}\n{daemon.log_tail()}"
    assert lockout.verdict is Verdict.NOT_APPLICABLE, info
    assert "authenticates nobody" in lockout.reason, info
    wrong = [row for row in timeline(lockout) if row[1] == "wrong"]
    assert wrong == [(wrong[0][0], "wrong", "accepted")], info
    # and so is every session check on it: there is no authenticated session to end (the
    # broker's session is the keep-alive one; no result says a limit held or failed)
    sessions = {k: r for k, r in on_broker.items() if k.startswith("session.")}
    assert "session.mqtt-keepalive" in sessions, on_broker
    for check, result in sessions.items():
        assert result.verdict is Verdict.NOT_APPLICABLE, (check, result.reason)
        assert "authenticates nobody" in result.reason, (check, result.reason)
