"""session.idle-timeout against real SSH servers (Debian bookworm), through the whole scan
with the profile's test account, a temporary local user, and a limit of 8 s idle judged at
1 s resolution: a shell still open after 9 s fails.

The daemons (tests/interop/expiry_daemons.py; this suite owns 127.0.74.0/24):
- dropbear 2022.83 with `-I 4`, which ends a connection after 4 s without a packet either
  way, and dropbear without it, which never ends an idle one;
- OpenSSH 9.2 with `ChannelTimeout session:*=5s` (new in 9.2), which closes a session
  channel after 5 s without traffic on it, and `UnusedConnectionTimeout 1s`, which then
  ends the connection, the login, once it has had no channel for 1 s: the whole idle
  session ends. sshd_config(5) pairs the two; `ChannelTimeout` alone closes the shell but
  keeps the connection logged in, and a new shell opens on it without a password;
- OpenSSH 9.2 with `ClientAliveInterval`/`ClientAliveCountMax`, often configured as the
  "SSH idle timeout", which only ends clients that stop answering.

And the commonest failure, a server with no timeout and no session limit at all (dropbear
as Debian ships it), measured for all three limits at once with a job_timeout shorter than
any of the waits: each must read `fail` with the time waited, the waits side by side
within the deadline the profile's limits give the job.

The probe's shell sends nothing after the login (no keystroke, no SSH keepalive) and the
server sends nothing after the prompt, so the shell is idle both ways from the prompt on.
Both servers keep time in whole seconds, so a timeout of T s fires after T - 1 < t ≤ T s of
real idleness: within the 1 s resolution of T.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from probes.registry import all_checks
from probes.session_expiry import (
    AbsoluteParams,
    ConcurrentParams,
    IdleParams,
    SessionExpiry,
    expiry_seconds,
)
from scanner.credential_lists import CredentialCatalog
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.judging.profiles import load_profile
from scanner.model import Target, Verdict
from scanner.net import Limits
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store
from tests.interop import expiry_daemons, lockout_daemons
from tests.interop.scanning import scan_daemon
from tests.interop.tls_daemons import DaemonFailed, MissingBinary

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path

    from scanner.model import JSONValue, Result
    from tests.interop.lockout_daemons import Daemon, LocalUser

pytestmark = [pytest.mark.interop, pytest.mark.slow]

#: The profile names this variable; the `user` fixture puts the password in it.
PASSWORD_ENV = "SHINSA_INTEROP_EXPIRY"
MAX_IDLE = 8
RESOLUTION = 1
DROPBEAR_IDLE = 4
CHANNEL_TIMEOUT = 5
UNUSED_CONNECTION_TIMEOUT = 1
#: What each server logs when it ends an idle session itself.
DROPBEAR_IDLE_LOG = "Idle timeout"
SSHD_CHANNEL_LOG = f"closing after {CHANNEL_TIMEOUT} seconds of inactivity"
SSHD_CLIENT_ALIVE_LOG = "Timeout, client not responding"


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
def idle_dropbear(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    del user  # dropbear logs in every local user with a shell: the account must exist
    yield from _up(
        lockout_daemons.dropbear(
            expiry_daemons.IDLE_DROPBEAR_ADDRESS, tmp_path, idle_timeout=DROPBEAR_IDLE
        )
    )


@pytest.fixture
def dropbear(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    del user
    yield from _up(lockout_daemons.dropbear(expiry_daemons.DROPBEAR_ADDRESS, tmp_path))


@pytest.fixture
def channel_timeout_sshd(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    """OpenSSH that closes an idle shell's channel, then the connection left without one."""
    yield from _up(
        lockout_daemons.plain_sshd(
            expiry_daemons.CHANNEL_TIMEOUT_SSHD_ADDRESS,
            tmp_path,
            user,
            f"ChannelTimeout session:*={CHANNEL_TIMEOUT}s\n"
            f"UnusedConnectionTimeout {UNUSED_CONNECTION_TIMEOUT}s\n",
        )
    )


@pytest.fixture
def channel_only_sshd(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    """OpenSSH that closes an idle shell's channel and keeps the connection logged in."""
    yield from _up(
        lockout_daemons.plain_sshd(
            expiry_daemons.CHANNEL_ONLY_SSHD_ADDRESS,
            tmp_path,
            user,
            f"ChannelTimeout session:*={CHANNEL_TIMEOUT}s\n",
        )
    )


@pytest.fixture(params=[1, 0], ids=["ClientAliveCountMax-1", "ClientAliveCountMax-0"])
def client_alive_sshd(
    request: pytest.FixtureRequest, tmp_path: Path, user: LocalUser
) -> Iterator[Daemon]:
    """OpenSSH with `ClientAliveInterval 2` and `ClientAliveCountMax` 1 or 0."""
    count_max: int = request.param
    address = {
        1: expiry_daemons.CLIENT_ALIVE_SSHD_ADDRESS,
        0: expiry_daemons.CLIENT_ALIVE_OFF_SSHD_ADDRESS,
    }[count_max]
    extra = f"ClientAliveInterval 2\nClientAliveCountMax {count_max}\n"
    yield from _up(lockout_daemons.plain_sshd(address, tmp_path, user, extra))


async def scan_idle(daemon: Daemon, user: LocalUser, tmp_path: Path) -> Result:
    """A scan of the daemon's port 22 with `user` as the profile's test account and an idle
    limit of 8 s at 1 s resolution; its session.idle-timeout result."""
    profile_yaml = (
        "profile: interop-expiry\nextends: base\n"
        f"test_account: {{username: {user.name}, password_env: {PASSWORD_ENV}}}\n"
        "params:\n"
        "  session.idle-timeout: "
        f"{{max_idle_seconds: {MAX_IDLE}, resolution_seconds: {RESOLUTION}}}\n"
    )
    scanned = await scan_daemon(
        tmp_path,
        address=daemon.address,
        label=daemon.name,
        profile_yaml=profile_yaml,
        tcp=(daemon.port,),
        job_timeout=60.0,
    )
    results = {r.check_id: r for r in scanned}
    # The profile sets no absolute or concurrent limit: nothing else was waited for.
    for other in ("session.absolute-timeout", "session.concurrent-limit"):
        assert results[other].verdict is Verdict.SKIPPED, results[other]
    result = results["session.idle-timeout"]
    assert result.service_key == f"tcp/{daemon.port}", result
    return result


def details(result: Result) -> dict[str, JSONValue]:
    (evidence,) = (e for e in result.evidence if e.kind == "session_expiry")
    return dict(evidence.details)


def seconds(result: Result, name: str) -> float:
    value = details(result)[name]
    assert isinstance(value, float), details(result)
    return value


def explain(result: Result, daemon: Daemon) -> str:
    evidence = [dict(e.details) for e in result.evidence]
    return f"{result.verdict.value}: {result.reason}\n{evidence}\n{daemon.log_tail()}"


async def test_dropbear_idle_timeout_ends_the_idle_shell_and_its_time_is_measured(
    idle_dropbear: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    # Given dropbear started with `-I 4`
    # When a scan lets a shell idle with a limit of 8 s
    result = await scan_idle(idle_dropbear, user, tmp_path)
    # Then it passes: dropbear ended the shell itself, 4 s after the prompt (measured by
    # hand with a silent asyncssh client: 4.01 s, twice)
    info = explain(result, idle_dropbear)
    assert result.verdict is Verdict.PASS, info
    assert "closed an idle shell after" in result.reason, info
    closed = seconds(result, "closed_after")
    assert DROPBEAR_IDLE - RESOLUTION <= closed <= DROPBEAR_IDLE + RESOLUTION, info
    assert details(result)["max_idle_seconds"] == MAX_IDLE, info
    assert DROPBEAR_IDLE_LOG in idle_dropbear.log_tail(), info


async def test_dropbear_without_idle_timeout_fails_after_the_limit_and_resolution(
    dropbear: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    # Given dropbear without -I: it keeps an idle shell forever
    # When a scan lets a shell idle with a limit of 8 s
    result = await scan_idle(dropbear, user, tmp_path)
    # Then it fails once the shell was still open after 8 + 1 s, and dropbear ended nothing
    info = explain(result, dropbear)
    assert result.verdict is Verdict.FAIL, info
    assert "still open after" in result.reason, info
    open_after = seconds(result, "open_after")
    assert MAX_IDLE + RESOLUTION <= open_after < MAX_IDLE + RESOLUTION + 2, info
    assert DROPBEAR_IDLE_LOG not in dropbear.log_tail(), info


async def test_openssh_channel_timeout_ends_the_idle_shell_and_its_time_is_measured(
    channel_timeout_sshd: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    # Given OpenSSH 9.2 with `ChannelTimeout session:*=5s` and `UnusedConnectionTimeout 1s`
    # When a scan lets a shell idle with a limit of 8 s
    result = await scan_idle(channel_timeout_sshd, user, tmp_path)
    # Then it passes: sshd closed the shell's channel after 5 s without traffic on it (by
    # hand, after the prompt: 4.0-4.8 s, as sshd's clocks count whole seconds; the
    # connection followed exactly 1 s later, "terminating inactive connection"). The probe
    # times the channel and hangs up at once; timing the connection would be as right.
    info = explain(result, channel_timeout_sshd)
    assert result.verdict is Verdict.PASS, info
    closed = seconds(result, "closed_after")
    latest = CHANNEL_TIMEOUT + UNUSED_CONNECTION_TIMEOUT + RESOLUTION
    assert CHANNEL_TIMEOUT - RESOLUTION <= closed <= latest, info
    assert SSHD_CHANNEL_LOG in channel_timeout_sshd.log_tail(), info


async def test_openssh_channel_timeout_alone_keeps_the_login_so_it_fails(
    channel_only_sshd: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    """`ChannelTimeout session:*=5s` without `UnusedConnectionTimeout` closes the idle
    shell's channel after 5 s, but sshd_config(5) warns that this "does not necessarily
    close the SSH connection, nor does it prevent a client from requesting another channel
    of the same type". By hand (asyncssh, silent client): the channel closed 4.4-4.6 s
    after the prompt ("closing after 5 seconds of inactivity" in the log), the connection
    was still open 16.5 s after the prompt, and a new shell opened on it 3 s after the
    close without any password. The remote session, the authenticated connection, never
    ended, so a careful reviewer fails this device at any idle limit."""
    # Given OpenSSH 9.2 with `ChannelTimeout session:*=5s` only
    # When a scan lets a shell idle with a limit of 8 s
    result = await scan_idle(channel_only_sshd, user, tmp_path)
    # Then it fails: the login was still usable after 8 + 1 s, though the channel closed
    info = explain(result, channel_only_sshd)
    assert result.verdict is Verdict.FAIL, info
    assert SSHD_CHANNEL_LOG in channel_only_sshd.log_tail(), info


async def test_openssh_client_alive_keeps_an_idle_healthy_client_so_it_fails(
    client_alive_sshd: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    """`ClientAliveInterval 2` makes sshd send a `keepalive@openssh.com` request (on the
    session channel, wanting a reply) whenever it heard nothing from the client for 2 s,
    and `ClientAliveCountMax N` disconnects once N of them went unanswered. That ends a
    client that died or lost its network, not an idle one: asyncssh, like every live
    client, answers each request (a channel failure), which resets the count, however idle
    the user is. With N = 0, sshd_config(5) of 9.2 says termination is disabled outright.
    By hand (asyncssh debug log, 15 s, N = 1): a keepalive request about every 4 s, each
    answered, and the shell still open at the end. So neither configuration is an idle
    timeout, and the probe is right to fail it."""
    # Given OpenSSH 9.2 with ClientAliveInterval 2 and ClientAliveCountMax 1 or 0
    # When a scan lets a shell idle with a limit of 8 s
    result = await scan_idle(client_alive_sshd, user, tmp_path)
    # Then it fails: the shell was still open after 8 + 1 s, and sshd never timed it out
    info = explain(result, client_alive_sshd)
    assert result.verdict is Verdict.FAIL, info
    open_after = seconds(result, "open_after")
    assert MAX_IDLE + RESOLUTION <= open_after < MAX_IDLE + RESOLUTION + 2, info
    assert SSHD_CLIENT_ALIVE_LOG not in client_alive_sshd.log_tail(), info


#: The three limits of the no-timeout test: each wait is 8 + 1 s, far above job_timeout.
WAIT_LIMIT = 8
MAX_SESSIONS = 2
SHORT_JOB_TIMEOUT = 3.0
LIMITS = Limits(connect_timeout=2.0, read_timeout=5.0)


@pytest.fixture
def no_timeout_dropbear(tmp_path: Path, user: LocalUser) -> Iterator[Daemon]:
    del user
    yield from _up(lockout_daemons.dropbear(expiry_daemons.NO_TIMEOUT_DROPBEAR_ADDRESS, tmp_path))


def ssh_sessions_idle_past(
    daemon: Daemon, user: LocalUser, seconds: int, n: int
) -> list[subprocess.Popen[bytes]]:
    """Ground truth by OpenSSH's own client: `n` logins at once, each idle on the server
    (`sleep`: nothing sent either way) for `seconds`, then asked to answer."""
    ssh = shutil.which("ssh")
    sshpass = shutil.which("sshpass")
    if ssh is None or sshpass is None:
        pytest.fail("ssh or sshpass not found: install openssh-client and sshpass")
    argv = [
        *(sshpass, "-e", ssh, "-p", str(daemon.port)),
        *("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"),
        *("-o", "PubkeyAuthentication=no", "-o", "ServerAliveInterval=0"),
        f"{user.name}@{daemon.address}",
        f"sleep {seconds}; echo still-logged-in",
    ]
    env = {"SSHPASS": user.password, "PATH": "/usr/bin:/bin"}
    return [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(n)
    ]


async def scan_expiry_only(
    daemon: Daemon, user: LocalUser, tmp_path: Path
) -> tuple[list[Result], float]:
    """A scan of port 22 by the session-expiry probe alone (no login guessing beside it),
    with all three limits and a job_timeout below every wait; its results and wall time."""
    profile_file = tmp_path / "no-timeout.yaml"
    profile_file.write_text(
        "profile: interop-no-timeout\nextends: base\n"
        f"test_account: {{username: {user.name}, password_env: {PASSWORD_ENV}}}\n"
        "params:\n"
        f"  session.idle-timeout: {{max_idle_seconds: {WAIT_LIMIT}, resolution_seconds: 1}}\n"
        f"  session.absolute-timeout: {{max_session_seconds: {WAIT_LIMIT}, "
        "resolution_seconds: 1}\n"
        f"  session.concurrent-limit: {{max_sessions: {MAX_SESSIONS}}}\n"
    )
    profile = load_profile(str(profile_file), all_checks())
    request = ScanRequest(
        targets=(Target(daemon.address, daemon.name),),
        scope=Scope.of([daemon.address]),
        ports=PortSet((daemon.port,), ()),
        profile=profile,
        limits=LIMITS,
        job_timeout=SHORT_JOB_TIMEOUT,
        registry=(SessionExpiry,),
        credentials=CredentialCatalog(),  # no login is guessed: the profile names the account
    )
    with Store(tmp_path / "scan.sqlite") as store:
        store.start_run(
            "r",
            profile_id=profile.id,
            profile_digest=profile.digest,
            scanner_version="test",
            request={},
            targets=[(daemon.address, daemon.name)],
        )
        started = time.monotonic()
        await scan(request, store, "r", Reporter())
        took = time.monotonic() - started
        return store.results("r"), took


async def test_a_server_without_any_timeout_fails_all_three_waits_side_by_side(
    no_timeout_dropbear: Daemon, user: LocalUser, tmp_path: Path
) -> None:
    daemon = no_timeout_dropbear
    idle = IdleParams(max_idle_seconds=WAIT_LIMIT, resolution_seconds=1)
    absolute = AbsoluteParams(max_session_seconds=WAIT_LIMIT, resolution_seconds=1)
    # Given dropbear without -I, which (ground truth: OpenSSH's client, three logins at
    # once, each idle past the limit and its resolution) keeps every session
    truth = ssh_sessions_idle_past(daemon, user, int(idle.top) + 1, MAX_SESSIONS + 1)
    # When the profile limits idle time and session time to 8 s and sessions to 2, and the
    # engine's job_timeout (3 s) is shorter than either wait
    results, took = await scan_expiry_only(daemon, user, tmp_path)
    by_check = {r.check_id: r for r in results}
    for proc in truth:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (err, daemon.log_tail())
        assert out.strip() == b"still-logged-in", (out, err)
    infos = {c: explain(r, daemon) for c, r in by_check.items()}
    # Then each check fails, none an error: the job got the deadline the limits need
    assert {c: r.verdict for c, r in by_check.items()} == {
        "session.idle-timeout": Verdict.FAIL,
        "session.absolute-timeout": Verdict.FAIL,
        "session.concurrent-limit": Verdict.FAIL,
    }, infos
    # with the time waited in the reason and the evidence
    idle_result = by_check["session.idle-timeout"]
    assert "an idle shell was still open after" in idle_result.reason, infos
    assert f"(limit {WAIT_LIMIT} s)" in idle_result.reason, infos
    assert idle.top <= seconds(idle_result, "open_after") < idle.top + 2, infos
    busy = by_check["session.absolute-timeout"]
    assert "still open" in busy.reason, infos
    assert f"(limit {WAIT_LIMIT} s)" in busy.reason, infos
    rows = details(busy)["timeline"]
    assert isinstance(rows, list), infos
    last = rows[-1]
    assert isinstance(last, dict), infos
    age = last["age"]
    assert isinstance(age, float), infos
    assert age >= absolute.top, infos
    many = by_check["session.concurrent-limit"]
    assert f"{MAX_SESSIONS + 1} sessions of one account were open at once" in many.reason, infos
    # and the two waits ran side by side: the job took about one wait, not two, and
    # longer than job_timeout, within the deadline the limits give it
    for check in ("session.idle-timeout", "session.absolute-timeout"):
        schedule = details(by_check[check])["schedule"]
        assert isinstance(schedule, str), infos[check]
        assert schedule.startswith("side by side"), infos[check]
    duration = idle_result.duration
    assert duration is not None
    deadline = expiry_seconds(
        idle,
        absolute,
        ConcurrentParams(max_sessions=MAX_SESSIONS),
        web=False,
        request_seconds=LIMITS.connect_timeout + 3 * LIMITS.read_timeout,
    )
    assert SHORT_JOB_TIMEOUT < idle.top <= duration < idle.top + absolute.top, (duration, infos)
    assert duration < deadline, (duration, deadline)
    assert took < deadline, (took, deadline)
