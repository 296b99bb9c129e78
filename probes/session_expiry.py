"""Session expiry, measured after a login with a known credential (IEC 62443-4-2 CR 2.6,
CR 2.5, CR 2.7; NIST SP 800-171 3.1.11, 3.1.10, 3.13.9).

| check                     | parameter (0 = not required: skipped, nothing is waited for) |
|---------------------------|---------------------------------------------------------------|
| session.idle-timeout      | `max_idle_seconds`: an idle session must end by this          |
| session.absolute-timeout  | `max_session_seconds`: a busy session must end by this        |
| session.concurrent-limit  | `max_sessions`: at most this many sessions at once            |
| session.mqtt-keepalive    | `keepalive_seconds` (MqttKeepAlive): a broker ends a silent   |
|                           | client within 1.5 × its keep-alive (MQTT 3.1.1 §3.1.2.10)     |

The limits are the profile's (the installation profile sets `max_idle_seconds: 300`);
the base profile sets none, so a plain scan waits for nothing and reports these checks
`skipped`: not run by choice, which keeps a requirement that needs them from looking
satisfied. A session is judged with `resolution_seconds` (default 10 % of the limit, at least
1 s): a session still open after `limit + resolution` fails; one that ended earlier passes,
and the evidence brackets when it ended (`lo < timeout ≤ hi`) with the whole timeline.

Web (form or JSON login): "alive" means a page that shows its content with the session and
something else without it (as `session.logout` measures it) still shows that content. The
idle timeout is measured in about one timeout window: k sessions are open at once and
session i makes its single check after t_i s idle (a check refreshes only that session), the
t_i spread over (0, limit + resolution] at the resolution; later rounds (at most
`MAX_ROUNDS` in all) split what is left of the bracket. Before that, all sessions are
checked right after their logins: a device that ended the older ones (one session at a
time, CR 2.7) is probed with one session per round, a bounded binary search; a round whose
timeline contradicts itself (dead after 2 s, alive after 5 s) means logins end sessions,
and the search falls back to one session per round too. The absolute timeout keeps one
session busy with a request every `interval` (shorter than the idle timeout found).

SSH and telnet shells: one shell idles until the device closes it (the close time is the
measurement; over SSH the connection must close too — OpenSSH's ChannelTimeout alone
closes the channel but keeps the login, and a new shell opens without a password); the
absolute timeout sends a keystroke every `interval`; the concurrent limit opens
`max_sessions + 1` shells. HTTP Basic/Digest has no session to end: not applicable.

The waits of one service run side by side, each in its own session: the concurrent check
first and alone (short; its extra logins would end, on a device that keeps few sessions,
the sessions the waits are timing, so its sessions are closed before the waits begin), then
the idle and the absolute measurements at the same time, so a service takes about the
longer of the two waits, not their sum. They share a device only when it showed it keeps
both sessions: a web service kept every session opened for the concurrent check and the
idle search plus one for the busy session; a shell service kept more than one shell in the
concurrent check (when it ran) and still has the idle shell open a moment (`SETTLE`) after
the busy shell's login. A device that ends the older session at a login, or refuses the
second, keeps one session at a time: the two run one after the other, which the job's
deadline allows for (`expiry_seconds`: the engine gives the job at least that, however
short its job_timeout). (A device that ended the older shell only seconds after a newer
login would still look like an idle timeout: nothing seen so far does that.) The busy
session then makes a request at least
every `MAX_BUSY_GAP` s (its idle time is not known yet); when the idle measurement shows
the device ends sessions idle for no longer than that gap, an end of the busy session
proves nothing and the absolute check is inconclusive.

A session that never ends fails with the time waited in the reason and the evidence
("still open after 330.0 s (limit 300 s)"): a device without any timeout is the commonest
failure, never an error or inconclusive.

Waiting costs the device nothing: permits are held while connecting and logging in, never
while a session idles, so the waits of every device and session run at the same time.
Never a pass without a session: no credential, a refused login or no page that needs the
session is inconclusive, with the reason. A service that authenticates nobody has no
authenticated session to end, so its checks are not applicable: an SSH or telnet service
that gives a random control login (a user that does not exist) a shell, or an MQTT broker
that accepts one (session.mqtt-keepalive).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncssh
import httpx

from probes._http_exchange import Throttled, exchange, follow
from probes._login import mqtt as mqtt_login
from probes._login import telnet as telnet_login
from probes._login.common import Dropped, NoLoginNeeded, reason_of
from probes._login.http_session import NoSession, open_session
from probes._login.mqtt import connect_packet, parse_connack
from probes._login.ssh import PASSWORD_LOGIN
from probes._web import PASSWORD_INPUT, read_page, same_page
from scanner.credentials import Credential, Outcome
from scanner.errors import ConfigError, ScopeError
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    LOGIN_SURFACES,
    VALID_CREDENTIALS,
    on_service,
)
from scanner.model import Evidence, Verdict
from scanner.net import close_ssh, lenient_tls_context
from scanner.probe import Check, Params, Phase, ServiceProbe
from scanner.redact import mask_url

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from probes._login.http_session import WebSession
    from scanner.model import JSONValue, Result, Service
    from scanner.net import BoundedStream, DeviceNetwork
    from scanner.probe import ProbeContext

#: Sessions one round keeps open at once (devices are small).
MAX_PARALLEL = 12
#: Rounds of the idle search, the first included.
MAX_ROUNDS = 4
#: Pages tried as "needs the session".
MAX_PAGES = 10
#: Login and first prompt of one shell or session.
LOGIN_TIMEOUT = 15.0
#: SSH: how long after a shell's channel closes the connection may take to follow; a
#: connection still open then is asked for a new shell (a channel timeout, not a logout)
CONNECTION_GRACE = 2.0
MAX_REOPENED_CHANNELS = 5
#: After opening the shells of the concurrent check: time for the device to end extra ones.
SETTLE = 1.0
#: Shortest gap between the requests that keep a session busy.
MIN_INTERVAL = 0.5
#: Longest gap between them: a busy session that waited longer between requests could end
#: by idling (its idle timeout unknown while both run side by side).
MAX_BUSY_GAP = 5.0
#: The largest limit a profile may set (an hour): with it, the worst case of one job (see
#: `expiry_seconds`) stays under the engine's ceiling for a declared deadline.
MAX_LIMIT_SECONDS = 3600.0
#: Margin of one job beyond its waits and logins: hang-ups (2 s each) and scheduling.
JOB_MARGIN = 30.0
_LOGOUT_LINK = ("logout", "log out", "log-out", "logoff", "sign out", "signout")


def _seconds(value: object, name: str, *, high: float = MAX_LIMIT_SECONDS) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= high:
        raise ConfigError(f"{name} must be a number of seconds 0-{high:g}, got {value!r}")
    return float(value)


def _resolution(limit: float, given: float) -> float:
    return given or max(1.0, round(limit * 0.1, 3))


@dataclass(frozen=True, slots=True)
class IdleParams(Params):
    """`session.idle-timeout`: 0 = the profile does not require one (skipped)."""

    max_idle_seconds: float = 0.0
    resolution_seconds: float = 0.0  # 0: 10 % of max_idle_seconds, at least 1 s
    max_wait_seconds: float = 0.0  # 0: max_idle + resolution, the wait a verdict needs

    def __post_init__(self) -> None:
        _seconds(self.max_idle_seconds, "max_idle_seconds")
        _seconds(self.resolution_seconds, "resolution_seconds")
        _seconds(self.max_wait_seconds, "max_wait_seconds")

    @property
    def resolution(self) -> float:
        return _resolution(self.max_idle_seconds, self.resolution_seconds)

    @property
    def top(self) -> float:
        """The longest idle time checked: the limit plus the resolution, or the wait bound."""
        full = self.max_idle_seconds + self.resolution
        return min(full, self.max_wait_seconds) if self.max_wait_seconds else full


@dataclass(frozen=True, slots=True)
class AbsoluteParams(Params):
    """`session.absolute-timeout`: 0 = the profile does not require one (skipped)."""

    max_session_seconds: float = 0.0
    resolution_seconds: float = 0.0  # 0: 10 % of max_session_seconds, at least 1 s

    def __post_init__(self) -> None:
        _seconds(self.max_session_seconds, "max_session_seconds")
        _seconds(self.resolution_seconds, "resolution_seconds")

    @property
    def resolution(self) -> float:
        return _resolution(self.max_session_seconds, self.resolution_seconds)

    @property
    def top(self) -> float:
        return self.max_session_seconds + self.resolution


@dataclass(frozen=True, slots=True)
class ConcurrentParams(Params):
    """`session.concurrent-limit`: 0 = the profile sets no limit (skipped)."""

    max_sessions: int = 0

    def __post_init__(self) -> None:
        value: object = self.max_sessions  # from YAML: anything
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_PARALLEL:
            raise ConfigError(f"max_sessions must be an integer 0-{MAX_PARALLEL - 1}")


@dataclass(frozen=True, slots=True)
class KeepAliveParams(Params):
    """`session.mqtt-keepalive`: the keep-alive the probe announces; 0 = skipped."""

    keepalive_seconds: int = 0

    def __post_init__(self) -> None:
        value: object = self.keepalive_seconds  # from YAML: anything
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 600:
            raise ConfigError("keepalive_seconds must be an integer 0-600")


def expiry_seconds(
    idle: IdleParams,
    absolute: AbsoluteParams,
    concurrent: ConcurrentParams,
    *,
    web: bool,
    request_seconds: float,
) -> float:
    """The longest one service's measurements may take: the job's deadline.

    Every wanted measurement one after another, each login bounded by `LOGIN_TIMEOUT`:
    what a device that keeps one session at a time needs (side by side they take about the
    longest wait). Web: the first login and the search for a page that needs the session
    (two requests a candidate), up to `MAX_PARALLEL` logins checked twice, then at most
    `MAX_ROUNDS` idle rounds, each at most `top` long plus a request, the later ones with
    up to `MAX_PARALLEL` fresh logins; then the busy session. Shells: the control login,
    the concurrent check's logins, the idle shell (its channel reopened at most
    `MAX_REOPENED_CHANNELS` times), the busy shell. `request_seconds`: one web request,
    redirects included. 0 when the profile asks for nothing."""
    if not (idle.max_idle_seconds or absolute.max_session_seconds or concurrent.max_sessions):
        return 0.0
    login = LOGIN_TIMEOUT
    total = JOB_MARGIN + login  # the control login (shells) or the first login (web)
    if web:
        total += 2 * MAX_PAGES * request_seconds + MAX_PARALLEL * login + 2 * request_seconds
        if idle.max_idle_seconds:
            total += MAX_ROUNDS * (idle.top + request_seconds)
            total += (MAX_ROUNDS - 1) * MAX_PARALLEL * login
        if absolute.max_session_seconds:
            total += login + absolute.top + 2 * request_seconds
        return total
    if concurrent.max_sessions:
        total += (concurrent.max_sessions + 1) * login + SETTLE
    total += SETTLE  # whether the device keeps the idle and the busy shell at once
    if idle.max_idle_seconds:
        total += login + idle.top + CONNECTION_GRACE * (MAX_REOPENED_CHANNELS + 1)
    if absolute.max_session_seconds:
        total += login + absolute.top + login  # the last keystroke
    return total


IDLE = Check(
    id="session.idle-timeout",
    title="An idle session ends within the profile's limit",
    method=(
        "Logs in with a known credential and lets sessions idle: web sessions are opened "
        "k at a time and each checks a page that needs the session once, after its own "
        "idle time spread over (0, max_idle + resolution]; an SSH or telnet shell idles "
        "until the device closes it. Still open after max_idle + resolution fails."
    ),
    params=IdleParams,
)
ABSOLUTE = Check(
    id="session.absolute-timeout",
    title="A session ends within the profile's limit however busy it is",
    method=(
        "Keeps one session busy (a request or keystroke at short intervals) and fails when "
        "it is still open max_session_seconds + resolution after the login."
    ),
    params=AbsoluteParams,
)
CONCURRENT = Check(
    id="session.concurrent-limit",
    title="No more sessions at once than the profile allows",
    method=(
        "Opens max_sessions + 1 sessions for one account one after another, then checks "
        "them all: more than max_sessions still open fails. A login refused, or an older "
        "session ended by a newer login, shows the limit."
    ),
    params=ConcurrentParams,
)
MQTT_KEEPALIVE = Check(
    id="session.mqtt-keepalive",
    title="The MQTT broker ends a client that stays silent past its keep-alive",
    method=(
        "Connects with keep-alive K = keepalive_seconds and sends nothing more: a broker "
        "that has not closed the connection 1.5 × K (MQTT 3.1.1 §3.1.2.10) plus a grace "
        "second later fails."
    ),
    params=KeepAliveParams,
)


# --- the search, pure -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """One check of one session: `idle` seconds after its last request, alive or not."""

    session: int
    planned: float
    idle: float
    alive: bool

    def row(self) -> dict[str, JSONValue]:
        return {
            "session": self.session,
            "idle": round(self.idle, 2),
            "alive": self.alive,
        }


def bracket(observations: Sequence[Observation]) -> tuple[float, float | None]:
    """(lo, hi): a session lived after `lo` s idle and ended by `hi` (None: none ended)."""
    dead = [o.idle for o in observations if not o.alive]
    hi = min(dead) if dead else None
    alive = [o.idle for o in observations if o.alive and (hi is None or o.idle < hi)]
    return max(alive, default=0.0), hi


def consistent(observations: Sequence[Observation]) -> bool:
    """False when a session lived longer than another that ended: logins end sessions."""
    lo = max((o.idle for o in observations if o.alive), default=0.0)
    return all(o.alive or o.idle > lo for o in observations)


def next_times(
    lo: float, hi: float | None, top: float, parallel: int, resolution: float
) -> list[float]:
    """The idle times the next round checks, one per session; [] when the bracket is
    narrow enough. Before any session ended: `top` (the verdict) and points spread below
    it; then points splitting (lo, hi) into pieces of at most `resolution` (a binary search
    with one session)."""
    if hi is None:
        if lo >= top:
            return []
        n = max(1, min(parallel, math.ceil((top - lo) / resolution - 1e-9)))
        step = (top - lo) / n
        return [round(lo + step * (i + 1), 3) for i in range(n)]
    if hi - lo <= resolution + 1e-9:
        return []
    n = max(1, min(parallel, math.ceil((hi - lo) / resolution - 1e-9) - 1))
    step = (hi - lo) / (n + 1)
    return [round(lo + step * (i + 1), 3) for i in range(n)]


# --- sessions ---------------------------------------------------------------------------


class _Gone(Exception):
    """A session could not be opened; the message says why, `surface` whether a login
    surface exists at all (without one the checks do not apply)."""

    def __init__(self, reason: str, *, surface: bool = True) -> None:
        super().__init__(reason)
        self.surface = surface


@dataclass(slots=True)
class _Page:
    url: str
    status: int
    body: bytes

    @property
    def content(self) -> bool:
        return self.status == 200 and PASSWORD_INPUT.search(self.body) is None


async def _fetch(
    client: httpx.AsyncClient, url: str, address: str, headers: dict[str, str]
) -> _Page | str:
    try:
        chain = await follow(client, await exchange(client, "GET", url, headers=headers), address)
    except Throttled as exc:
        return f"HTTP {exc.status} (throttled)"
    except ScopeError:
        return "the request would leave the device"
    except (httpx.HTTPError, OSError) as exc:
        return type(exc).__name__
    return _Page(str(chain.final.url), chain.final.status, chain.final.body)


@dataclass(slots=True)
class _WebSession:
    """One logged-in web session: its own client and cookie jar."""

    number: int
    client: httpx.AsyncClient
    session: WebSession
    ref: float = field(default_factory=time.monotonic)  # its last request
    login: float = field(default_factory=time.monotonic)

    @property
    def headers(self) -> dict[str, str]:
        token = self.session.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def aclose(self) -> None:
        await self.client.aclose()


class _Web:
    """Opens sessions on one web service and tells whether one is still alive."""

    def __init__(self, ctx: ProbeContext, service: Service, credential: Credential | None):
        self.ctx, self.service, self.credential = ctx, service, credential
        self.opened = 0
        self.url = ""  # a page that needs the session
        self.body = b""  # that page with the session
        self.live: list[_WebSession] = []

    async def open(self) -> _WebSession:
        client = self.ctx.net.http(self.service)
        pages = self.ctx.facts.get(HTTP_PAGES) or ()
        forms = self.ctx.facts.get(LOGIN_FORMS) or ()
        surfaces = [
            s for s in self.ctx.facts.get(LOGIN_SURFACES) or () if s.service.key == self.service.key
        ]
        try:
            opened = await open_session(
                self.ctx.net,
                client,
                self.service,
                self.credential,
                pages=pages,
                forms=forms,
                surfaces=surfaces,
            )
        except BaseException:
            await client.aclose()
            raise
        if isinstance(opened, NoSession):
            await client.aclose()
            raise _Gone(opened.reason, surface=opened.surface) from None
        self.opened += 1
        session = _WebSession(self.opened, client, opened)
        self.live.append(session)
        return session

    async def find_page(self, session: WebSession, client: httpx.AsyncClient) -> str | None:
        """Set the page that needs the session; None when found, else why not."""
        links, _ = read_page(session.landing, session.landing_body)
        candidates = [session.page_url]
        if session.landing_by_get:
            candidates.append(session.landing)
        candidates += [
            link.url
            for link in links
            if on_service(link.url, self.service)
            and not any(w in f"{link.url} {link.text}".lower() for w in _LOGOUT_LINK)
        ]
        bearer = {"Authorization": f"Bearer {session.token}"} if session.token else {}
        address = self.ctx.net.address
        async with self.ctx.net.http(self.service) as anonymous:
            for url in list(dict.fromkeys(candidates))[:MAX_PAGES]:
                with_session = await _fetch(client, url, address, bearer)
                if isinstance(with_session, str) or not with_session.content:
                    continue
                without = await _fetch(anonymous, url, address, {})
                if isinstance(without, str):
                    continue
                if not (without.content and same_page(with_session.body, without.body)):
                    self.url, self.body = url, with_session.body
                    return None
        return "no page that shows content only with the session was found"

    async def alive(self, session: _WebSession) -> bool | str:
        """Whether the page still shows its content with the session; a request, so it
        refreshes the session."""
        page = await _fetch(session.client, self.url, self.ctx.net.address, session.headers)
        if isinstance(page, str):
            return page
        session.ref = time.monotonic()
        return page.content and same_page(self.body, page.body)

    async def drop(self, session: _WebSession) -> None:
        if session in self.live:
            self.live.remove(session)
        await session.aclose()

    async def aclose(self) -> None:
        for session in list(self.live):
            await self.drop(session)


@dataclass(slots=True)
class _Shell:
    """An SSH or telnet shell after its login; `closed` is set when the device ends it."""

    number: int
    opened: float
    send: Callable[[], Awaitable[None]]  # a keystroke
    close: Callable[[], Awaitable[None]]
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    closed_at: float | None = None
    watcher: asyncio.Task[None] | None = None
    reopened: int = 0  # SSH: shells opened again on the same login after a channel closed

    def ended(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.closed.set()

    async def aclose(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.watcher
        with contextlib.suppress(Exception):
            await self.close()


async def _ssh_shell(dev: DeviceNetwork, service: Service, cred: Credential, n: int) -> _Shell:
    try:
        async with asyncio.timeout(LOGIN_TIMEOUT):
            # the permit is held while the connection is made, never while the shell idles
            conn = await dev.ssh_connection(
                service.port,
                timeout=LOGIN_TIMEOUT,
                username=cred.username,
                password=cred.password,
                **PASSWORD_LOGIN,  # no keepalives among them: the client must stay silent
            )
            try:
                process = await conn.create_process(term_type="vt100")
                await process.stdout.read(1024)  # the banner or prompt: the shell is there
            except BaseException:
                conn.close()
                raise
    except asyncssh.PermissionDenied:
        raise _Gone(f"the login with {cred} was not accepted") from None
    except (OSError, asyncssh.Error, TimeoutError, EOFError) as exc:
        raise _Gone(f"no SSH shell: {reason_of(exc)}") from None

    current = [process]  # the shell in use: a new one when the device closed only the channel

    async def keystroke() -> None:
        current[0].stdin.write("\n")

    async def close() -> None:
        await close_ssh(conn)

    shell = _Shell(n, time.monotonic(), keystroke, close)

    async def watch() -> None:
        for _ in range(MAX_REOPENED_CHANNELS + 1):
            with contextlib.suppress(Exception):
                while await current[0].stdout.read(4096):
                    pass
            channel_closed = time.monotonic()
            # A closed channel is not a closed session: OpenSSH's ChannelTimeout closes an
            # idle channel but keeps the login, and a new shell opens without a password
            # (sshd_config(5)). The session ended only if the connection goes too.
            try:
                async with asyncio.timeout(CONNECTION_GRACE):
                    await conn.wait_closed()
            except TimeoutError:
                try:
                    current[0] = await conn.create_process(term_type="vt100")
                    await current[0].stdout.read(1024)
                except (asyncssh.Error, OSError, EOFError):
                    pass  # no new channel on this login: the session is over
                else:
                    shell.reopened += 1
                    continue  # the login lives on in a new shell: keep watching
            shell.closed_at = channel_closed
            shell.ended()
            return

    shell.watcher = asyncio.create_task(watch())
    return shell


async def _telnet_shell(dev: DeviceNetwork, service: Service, cred: Credential, n: int) -> _Shell:
    try:
        stream = await dev.idle_tcp(service.port)
    except (OSError, TimeoutError) as exc:
        raise _Gone(f"no telnet connection: {reason_of(exc)}") from None
    try:
        async with dev.permit():
            session = await telnet_login.open_session(stream, LOGIN_TIMEOUT)
            attempt = await session.attempt(cred)
        if attempt.outcome is not Outcome.ACCEPTED:
            raise _Gone(f"the login with {cred} was not accepted: {attempt.detail}")
    except NoLoginNeeded:
        pass  # a shell without a login still has a session to end
    except (Dropped, OSError, TimeoutError) as exc:
        await stream.aclose()
        raise _Gone(f"no telnet shell: {reason_of(exc)}") from None
    except BaseException:
        await stream.aclose()
        raise

    async def keystroke() -> None:
        await stream.write(b"\r\n")

    shell = _Shell(n, time.monotonic(), keystroke, stream.aclose)

    async def watch() -> None:
        with contextlib.suppress(Exception):
            while True:
                try:
                    if not await stream.read_some(timeout=3600.0):
                        break
                except TimeoutError:
                    continue
        shell.ended()

    shell.watcher = asyncio.create_task(watch())
    return shell


# --- the probes -------------------------------------------------------------------------


def _credential(ctx: ProbeContext, service: Service) -> Credential | None:
    if ctx.test_account is not None:
        return ctx.test_account.credential()
    found = [
        f
        for f in ctx.facts.get(VALID_CREDENTIALS) or ()
        if f.service.port == service.port and f.service.transport == service.transport
    ]
    return found[0].credential if found else None


async def _accepts_anyone(open_as: Callable[[Credential], Awaitable[_Shell]], what: str) -> str:
    """Why the service authenticates nobody ("" when it refused a random control login, or
    the control could not be judged): a shell for a user that does not exist, or without
    any login, is no authenticated session to end."""
    control = Credential(
        f"shinsa-nobody-{secrets.token_hex(4)}", secrets.token_urlsafe(12), "control"
    )
    try:
        shell = await open_as(control)
    except _Gone:
        return ""
    await shell.aclose()
    return (
        f"the {what} service gave a random control login (user {control.username!r}, "
        "which does not exist) a shell: it authenticates nobody, so there is no "
        "authenticated session to end."
    )


_NO_CREDENTIAL = (
    "no valid credential is known for this login (none of the default credentials worked; "
    "set test_account in the profile)"
)


@dataclass(slots=True)
class _Report:
    """The results of one service, built as the measurements land."""

    ctx: ProbeContext
    service: Service
    where: str
    results: dict[str, Result] = field(default_factory=dict)
    #: how the idle and absolute waits ran (side by side, or one after the other and why)
    schedule: str = ""

    def add(
        self,
        check: Check,
        verdict: Verdict,
        reason: str,
        details: dict[str, JSONValue] | None = None,
    ) -> None:
        if details and self.schedule and check in (IDLE, ABSOLUTE):
            details = {**details, "schedule": self.schedule}
        evidence = (Evidence("session_expiry", check.title, details),) if details else ()
        self.results[check.id] = self.ctx.result(
            check, verdict, f"{self.where}: {reason}", *evidence, service=self.service
        )

    def all(self, checks: Sequence[Check], verdict: Verdict, reason: str) -> None:
        for check in checks:
            if check.id not in self.results:
                self.add(check, verdict, reason)


class SessionExpiry(ServiceProbe):
    """Idle and absolute timeouts and the concurrent-session limit of a login's sessions."""

    checks = (IDLE, ABSOLUTE, CONCURRENT)
    protocols = frozenset({"http", "https", "ssh", "telnet"})
    # after the web session checks; a JavaScript app's recorded login when there is one
    phase = Phase.MEASURE  # after the web session checks: their logins never overlap
    uses = frozenset({VALID_CREDENTIALS, LOGIN_SURFACES})

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        web = service is None or service.protocol in ("http", "https")
        return expiry_seconds(
            ctx.params(IDLE, IdleParams),
            ctx.params(ABSOLUTE, AbsoluteParams),
            ctx.params(CONCURRENT, ConcurrentParams),
            web=web,
            # a request and a redirect or two, each with its own read timeout
            request_seconds=ctx.net.limits.connect_timeout + 3 * ctx.net.limits.read_timeout,
        )

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        idle = ctx.params(IDLE, IdleParams)
        absolute = ctx.params(ABSOLUTE, AbsoluteParams)
        concurrent = ctx.params(CONCURRENT, ConcurrentParams)
        report = _Report(ctx, service, f"{service} on {ctx.target.address}")
        unset = {
            IDLE: "max_idle_seconds" if not idle.max_idle_seconds else "",
            ABSOLUTE: "max_session_seconds" if not absolute.max_session_seconds else "",
            CONCURRENT: "max_sessions" if not concurrent.max_sessions else "",
        }
        for check, name in unset.items():
            if name:
                report.add(
                    check,
                    Verdict.SKIPPED,
                    f"the profile sets no {name}, so nothing was measured (it is judged "
                    "against the profile's limit, e.g. an installation profile's).",
                )
        wanted = [c for c in self.checks if c.id not in report.results]
        if not wanted:
            return list(report.results.values())
        credential = _credential(ctx, service)
        if service.protocol in ("http", "https"):
            web = _Web(ctx, service, credential)
            try:
                await _web_checks(report, web, wanted, idle, absolute, concurrent)
            finally:
                await web.aclose()
        else:
            opener = _ssh_shell if service.protocol == "ssh" else _telnet_shell
            counter = iter(range(1, 1000))

            async def open_as(who: Credential) -> _Shell:
                return await opener(ctx.net, service, who, next(counter))

            nobody = await _accepts_anyone(open_as, service.protocol)
            if nobody:
                report.all(wanted, Verdict.NOT_APPLICABLE, nobody)
            elif credential is None:
                report.all(wanted, Verdict.INCONCLUSIVE, f"{_NO_CREDENTIAL}.")
            else:
                account = credential

                async def open_shell() -> _Shell:
                    return await open_as(account)

                await _shell_checks(report, open_shell, wanted, idle, absolute, concurrent)
        return [report.results[c.id] for c in self.checks]


# --- web --------------------------------------------------------------------------------


async def _web_checks(
    report: _Report,
    web: _Web,
    wanted: list[Check],
    idle: IdleParams,
    absolute: AbsoluteParams,
    concurrent: ConcurrentParams,
) -> None:
    try:
        first = await web.open()
    except _Gone as exc:
        verdict = Verdict.INCONCLUSIVE if exc.surface else Verdict.NOT_APPLICABLE
        report.all(wanted, verdict, f"{exc}.")
        return
    if first.session.kind == "auth":
        report.all(
            wanted,
            Verdict.NOT_APPLICABLE,
            "HTTP authentication has no session to end: the browser resends the credential.",
        )
        return
    missing = await web.find_page(first.session, first.client)
    if missing:
        report.all(wanted, Verdict.INCONCLUSIVE, f"{missing}, so no session can be judged.")
        return
    first.ref = time.monotonic()
    planned = len(next_times(0.0, None, idle.top, MAX_PARALLEL, idle.resolution))
    both = IDLE in wanted and ABSOLUTE in wanted
    # One more session than the idle search and the concurrent check need: the busy one.
    n = max(2, planned if IDLE in wanted else 0, concurrent.max_sessions + 1) + both
    held, opened, refused = await _open_many(web, first, min(n, MAX_PARALLEL))
    details: dict[str, JSONValue] = {
        "page": mask_url(web.url),
        "opened": opened,
        "alive_after_all_logins": len(held),
    }
    if refused:
        details["refused"] = refused
    if CONCURRENT in wanted:
        _judge_concurrent(report, concurrent.max_sessions, len(held), opened, refused, details)
    if not held:
        report.all(
            wanted,
            Verdict.INCONCLUSIVE,
            "no session was still open right after the logins, so none can be judged.",
        )
        return
    single = len(held) == 1
    if both and len(held) >= 2 and len(held) == opened and not refused:
        # The device kept every session opened: the busy one is one of them, and the idle
        # search's later logins only replace sessions that ended.
        report.schedule = "side by side with the other wait, each in its own session"
        busy = held.pop()
        interval = _interval(absolute.resolution, idle.max_idle_seconds)
        # A TaskGroup, not gather: a wait that raises ends the other one too.
        async with asyncio.TaskGroup() as tg:
            searched = tg.create_task(_web_idle(report, web, held, idle, details, single=single))
            tg.create_task(_web_busy(report, web, busy, absolute, interval))
        _check_busy_gap(report, interval, searched.result())
        return
    if both:
        report.schedule = (
            "one after the other: the device did not keep every session opened at once"
        )
    idle_lo: float | None = None
    if IDLE in wanted:
        idle_lo = await _web_idle(report, web, held, idle, details, single=single)
    if ABSOLUTE in wanted:
        await _web_absolute(report, web, absolute, idle_lo)


async def _open_many(web: _Web, first: _WebSession, n: int) -> tuple[list[_WebSession], int, str]:
    """n sessions, one login after another, then each checked at once: those still alive,
    how many were opened, and why a login was refused (a limit may refuse it). Two come
    first: when the second login ended the first, the device keeps one at a time."""
    sessions = [first]
    refused = ""
    held: list[_WebSession] = []
    for stage in (2, n):
        while len(sessions) < stage:
            try:
                sessions.append(await web.open())
            except _Gone as exc:
                refused = str(exc)
                break
        checks = await asyncio.gather(*(web.alive(s) for s in sessions))
        held = []
        for session, alive in zip(sessions, checks, strict=True):
            if alive is True:
                held.append(session)
            else:
                await web.drop(session)
        if len(held) < len(sessions) or refused:
            break
        sessions = list(held)
    return held, web.opened, refused


def _judge_concurrent(
    report: _Report,
    limit: int,
    held: int,
    opened: int,
    refused: str,
    details: dict[str, JSONValue],
) -> None:
    facts = dict(details)
    if held > limit:
        verdict, why = Verdict.FAIL, f"{held} sessions of one account were open at once"
    elif held < opened:
        verdict, why = Verdict.PASS, f"after {opened} logins only {held} session(s) stayed open"
    elif refused:
        verdict = Verdict.PASS
        why = f"with {opened} session(s) open the next login was refused ({refused})"
    else:
        verdict, why = Verdict.INCONCLUSIVE, f"only {opened} session(s) were opened"
    report.add(CONCURRENT, verdict, f"{why} (limit {limit}).", facts)


async def _web_idle(
    report: _Report,
    web: _Web,
    held: list[_WebSession],
    params: IdleParams,
    details: dict[str, JSONValue],
    *,
    single: bool,
) -> float | None:
    """The idle search; returns the longest idle time a session was seen to survive.
    `single`: the device kept only one session of those opened at once."""
    parallel = len(held)
    pool = list(held)
    observations: list[Observation] = []
    discarded: list[Observation] = []
    errors: list[str] = []
    notes: list[str] = []
    if single:
        notes.append("the device keeps one session at a time: one session per round")
    rounds = 0
    while rounds < MAX_ROUNDS:
        lo, hi = bracket(observations)
        if any(o.alive and o.planned >= params.top for o in observations):
            break
        times = next_times(lo, hi, params.top, parallel, params.resolution)
        if not times:
            break
        rounds += 1
        seen = await _web_round(web, pool, times, errors)
        if seen is None:
            break
        if parallel > 1 and not consistent(seen):
            # Sessions ended by the logins of this round, not by idling: one at a time.
            notes.append(f"round {rounds} contradicted itself: continuing one session a round")
            discarded += seen
            parallel = 1
            pool = pool[-1:]
            continue
        observations += seen
    lo, hi = bracket(observations)
    timeline: list[JSONValue] = [o.row() for o in sorted(observations, key=lambda o: o.idle)]
    facts: dict[str, JSONValue] = {
        **details,
        "timeline": timeline,
        "rounds": rounds,
        "max_idle_seconds": params.max_idle_seconds,
        "resolution_seconds": params.resolution,
    }
    if discarded:
        facts["discarded"] = [o.row() for o in discarded]
    if notes:
        facts["notes"] = list(notes)
    if errors:
        facts["errors"] = list(errors[:5])
    survived = [o for o in observations if o.alive and o.planned >= params.top]
    if survived:
        waited = max(o.idle for o in survived)
        if params.top >= params.max_idle_seconds + params.resolution:
            report.add(
                IDLE,
                Verdict.FAIL,
                f"a session idle for {waited:.1f} s still opened {mask_url(web.url)} "
                f"(limit {params.max_idle_seconds:g} s).",
                facts,
            )
        else:
            report.add(
                IDLE,
                Verdict.INCONCLUSIVE,
                f"a session idle for {waited:.1f} s (max_wait_seconds) was still open; the "
                f"limit {params.max_idle_seconds:g} s plus resolution was not waited for.",
                facts,
            )
        return lo
    if hi is None:
        why = f": {errors[0]}" if errors else ""
        verdict = Verdict.ERROR if errors else Verdict.INCONCLUSIVE
        report.add(IDLE, verdict, f"no idle session could be judged{why}.", facts)
        return None
    facts["ended_after"] = {"more_than": round(lo, 2), "at_most": round(hi, 2)}
    coarse = "" if hi - lo <= params.resolution + 0.05 else " (coarser than the resolution)"
    report.add(
        IDLE,
        Verdict.PASS,
        f"an idle session ended after {lo:.1f} < t ≤ {hi:.1f} s{coarse} "
        f"(limit {params.max_idle_seconds:g} s).",
        facts,
    )
    return lo


async def _web_round(
    web: _Web, pool: list[_WebSession], times: list[float], errors: list[str]
) -> list[Observation] | None:
    """One round: session i checks once after times[i] s idle. The pool keeps the sessions
    seen alive (their idle clock restarts at the check); dead ones are replaced by logins."""
    while len(pool) < len(times):
        try:
            pool.append(await web.open())
        except _Gone as exc:
            errors.append(str(exc))
            if not pool:
                return None
            times = times[-len(pool) :]
            break
    # The longest wait goes to the session whose clock started first.
    sessions = sorted(pool[: len(times)], key=lambda s: s.ref)
    plan = list(zip(sessions, sorted(times, reverse=True), strict=False))

    async def one(session: _WebSession, after: float) -> Observation | None:
        await asyncio.sleep(max(0.0, session.ref + after - time.monotonic()))
        idle = time.monotonic() - session.ref
        alive = await web.alive(session)
        if isinstance(alive, str):
            errors.append(alive)
            return None
        return Observation(session.number, after, idle, alive)

    seen = await asyncio.gather(*(one(s, t) for s, t in plan))
    for session, observation in zip(sessions, seen, strict=True):
        if observation is None or not observation.alive:
            pool.remove(session)
            await web.drop(session)
    return [o for o in seen if o is not None]


def _interval(resolution: float, idle: float | None) -> float:
    """How often a busy session makes a request: within the resolution and `MAX_BUSY_GAP`,
    and well inside `idle` (the idle time a session was seen to survive, or the profile's
    limit while that is being measured): else idling, not the absolute limit, could end it."""
    gap = min(resolution, MAX_BUSY_GAP)
    if idle:
        gap = min(gap, idle / 2)
    return max(MIN_INTERVAL, gap)


async def _web_absolute(
    report: _Report, web: _Web, params: AbsoluteParams, idle_lo: float | None
) -> None:
    """The busy test on its own, after the others: a fresh login, the others closed."""
    await web.aclose()  # a fresh login: a one-session device ends the others anyway
    try:
        session = await web.open()
    except _Gone as exc:
        report.add(ABSOLUTE, Verdict.INCONCLUSIVE, f"no session for the busy test: {exc}.")
        return
    await _web_busy(report, web, session, params, _interval(params.resolution, idle_lo))


async def _web_busy(
    report: _Report, web: _Web, session: _WebSession, params: AbsoluteParams, interval: float
) -> None:
    """Keeps `session` busy, a request every `interval`, until it ends or `top` passed."""
    rows: list[JSONValue] = []
    last_alive = 0.0
    while True:
        age = time.monotonic() - session.login
        wait = min(interval, max(0.0, params.top - age))
        await asyncio.sleep(wait)
        age = time.monotonic() - session.login
        alive = await web.alive(session)
        rows.append({"age": round(age, 2), "alive": alive})
        if isinstance(alive, str):
            report.add(ABSOLUTE, Verdict.ERROR, f"a request failed: {alive}.", {"timeline": rows})
            return
        if not alive:
            break
        last_alive = age
        if age >= params.top:
            break
    _judge_absolute(report, params, interval, rows, last_alive, alive, age)


def _judge_absolute(
    report: _Report,
    params: AbsoluteParams,
    interval: float,
    rows: list[JSONValue],
    last_alive: float,
    alive: bool,
    age: float,
) -> None:
    facts: dict[str, JSONValue] = {
        "interval": interval,
        "max_session_seconds": params.max_session_seconds,
        "resolution_seconds": params.resolution,
        "timeline": rows[-40:],
    }
    if alive:
        report.add(
            ABSOLUTE,
            Verdict.FAIL,
            f"a session kept busy was still open {age:.1f} s after its login "
            f"(limit {params.max_session_seconds:g} s).",
            facts,
        )
        return
    facts["ended_after"] = {"more_than": round(last_alive, 2), "at_most": round(age, 2)}
    report.add(
        ABSOLUTE,
        Verdict.PASS,
        f"a busy session ended {last_alive:.1f} < t ≤ {age:.1f} s after its login "
        f"(limit {params.max_session_seconds:g} s).",
        facts,
    )


# --- shells -----------------------------------------------------------------------------


async def _shell_checks(
    report: _Report,
    open_shell: Callable[[], Awaitable[_Shell]],
    wanted: list[Check],
    idle: IdleParams,
    absolute: AbsoluteParams,
    concurrent: ConcurrentParams,
) -> None:
    kept: int | None = None  # shells the device kept at once, when the concurrent check ran
    if CONCURRENT in wanted:
        # First and alone: its extra logins could end the shells the waits time.
        kept = await _shell_concurrent(report, open_shell, concurrent.max_sessions)
    if IDLE in wanted and ABSOLUTE in wanted:
        await _shell_waits(report, open_shell, idle, absolute, single=kept == 1)
    elif IDLE in wanted:
        shell = await _open_for(report, IDLE, open_shell)
        if shell is not None:
            await _shell_idle(report, shell, idle)
    elif ABSOLUTE in wanted:
        shell = await _open_for(report, ABSOLUTE, open_shell)
        if shell is not None:
            await _shell_absolute(report, shell, absolute, _interval(absolute.resolution, None))


async def _open_for(
    report: _Report, check: Check, open_shell: Callable[[], Awaitable[_Shell]]
) -> _Shell | None:
    try:
        return await open_shell()
    except _Gone as exc:
        report.add(check, Verdict.INCONCLUSIVE, f"no shell for this measurement: {exc}.")
        return None


async def _shell_waits(
    report: _Report,
    open_shell: Callable[[], Awaitable[_Shell]],
    idle: IdleParams,
    absolute: AbsoluteParams,
    *,
    single: bool,
) -> None:
    """The idle and the absolute measurement side by side, each in its own shell; one after
    the other when the device keeps one session at a time (`single`: the concurrent check
    saw it)."""
    if single:
        report.schedule = "one after the other: the device kept one shell at a time"
        await _shell_one_by_one(report, open_shell, idle, absolute)
        return
    idle_shell = await _open_for(report, IDLE, open_shell)
    if idle_shell is None:
        busy = await _open_for(report, ABSOLUTE, open_shell)
        if busy is not None:
            await _shell_absolute(report, busy, absolute, _interval(absolute.resolution, None))
        return
    try:
        busy_shell: _Shell | None = await open_shell()
    except _Gone:
        busy_shell = None  # refused while the idle shell is open: a limit of one
    if busy_shell is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE):
                await idle_shell.closed.wait()
    if busy_shell is not None and not idle_shell.closed.is_set():
        interval = _interval(absolute.resolution, idle.max_idle_seconds)
        report.schedule = "side by side with the other wait, each in its own shell"
        try:
            async with asyncio.TaskGroup() as tg:  # a wait that raises ends the other one too
                idled = tg.create_task(_shell_idle(report, idle_shell, idle))
                tg.create_task(_shell_absolute(report, busy_shell, absolute, interval))
        finally:
            await idle_shell.aclose()  # (each wait closes its own; this, if it never began)
            await busy_shell.aclose()
        _check_busy_gap(report, interval, idled.result())
        return
    # One session at a time: the second login ended the first, or was refused.
    report.schedule = "one after the other: the device kept one shell at a time"
    await idle_shell.aclose()
    if busy_shell is not None:
        await busy_shell.aclose()
    await _shell_one_by_one(report, open_shell, idle, absolute)


async def _shell_one_by_one(
    report: _Report,
    open_shell: Callable[[], Awaitable[_Shell]],
    idle: IdleParams,
    absolute: AbsoluteParams,
) -> None:
    shell = await _open_for(report, IDLE, open_shell)
    ended = await _shell_idle(report, shell, idle) if shell is not None else None
    busy = await _open_for(report, ABSOLUTE, open_shell)
    if busy is not None:
        await _shell_absolute(report, busy, absolute, _interval(absolute.resolution, ended))


def _check_busy_gap(report: _Report, interval: float, idle_end: float | None) -> None:
    """A busy session that ended proves an absolute limit only if its requests came more
    often than the device's idle timeout: else it may have idled out."""
    result = report.results.get(ABSOLUTE.id)
    if result is None or result.verdict is not Verdict.PASS:
        return
    if idle_end is None or interval < idle_end:
        return
    details: dict[str, JSONValue] = {}
    for evidence in result.evidence:
        details.update(evidence.details)
    details["idle_end"] = round(idle_end, 2)
    report.add(
        ABSOLUTE,
        Verdict.INCONCLUSIVE,
        f"the busy session ended, but this device also ends a session idle for "
        f"{idle_end:.1f} s, not longer than the {interval:g} s between the busy session's "
        "requests: it may have idled out.",
        details,
    )


async def _shell_concurrent(
    report: _Report, open_shell: Callable[[], Awaitable[_Shell]], limit: int
) -> int | None:
    """Opens limit + 1 shells and judges how many stayed open; that number, None when none
    could be opened."""
    shells: list[_Shell] = []
    refused = ""
    try:
        for _ in range(limit + 1):
            try:
                shells.append(await open_shell())
            except _Gone as exc:
                refused = str(exc)
                break
        if not shells:
            report.add(CONCURRENT, Verdict.INCONCLUSIVE, f"no shell could be opened: {refused}.")
            return None
        await asyncio.sleep(SETTLE)
        held = sum(not s.closed.is_set() for s in shells)
        details: dict[str, JSONValue] = {"opened": len(shells), "alive_after_all_logins": held}
        if refused:
            details["refused"] = refused
        _judge_concurrent(report, limit, held, len(shells), refused, details)
        return held
    finally:
        for shell in shells:
            await shell.aclose()


async def _shell_idle(report: _Report, shell: _Shell, params: IdleParams) -> float | None:
    """Lets `shell` idle until the device closes it or `top` passed; how long it lived."""
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, shell.opened + params.top - time.monotonic())):
                await shell.closed.wait()
        waited = time.monotonic() - shell.opened
    finally:
        await shell.aclose()
    facts: dict[str, JSONValue] = {
        "max_idle_seconds": params.max_idle_seconds,
        "resolution_seconds": params.resolution,
    }
    if shell.reopened:
        # The device closed the idle shell's channel but kept the login: a new shell opened
        # on the same connection without a password (OpenSSH ChannelTimeout alone).
        facts["channels_closed_but_login_kept"] = shell.reopened
    if shell.closed_at is None or shell.closed_at - shell.opened > params.top:
        facts["open_after"] = round(waited, 2)
        if params.top >= params.max_idle_seconds + params.resolution:
            report.add(
                IDLE,
                Verdict.FAIL,
                f"an idle shell was still open after {waited:.1f} s "
                f"(limit {params.max_idle_seconds:g} s).",
                facts,
            )
        else:
            report.add(
                IDLE,
                Verdict.INCONCLUSIVE,
                f"an idle shell was still open after {waited:.1f} s (max_wait_seconds); the "
                f"limit {params.max_idle_seconds:g} s plus resolution was not waited for.",
                facts,
            )
        return waited
    ended = shell.closed_at - shell.opened
    facts["closed_after"] = round(ended, 2)
    report.add(
        IDLE,
        Verdict.PASS,
        f"the device closed an idle shell after {ended:.1f} s "
        f"(limit {params.max_idle_seconds:g} s).",
        facts,
    )
    return ended


async def _shell_absolute(
    report: _Report, shell: _Shell, params: AbsoluteParams, interval: float
) -> None:
    """Keeps `shell` busy, a keystroke every `interval`, until it ends or `top` passed."""
    rows: list[JSONValue] = []
    last_alive = 0.0
    try:
        while not shell.closed.is_set():
            age = time.monotonic() - shell.opened
            if age >= params.top:
                break
            with contextlib.suppress(Exception):
                async with asyncio.timeout(LOGIN_TIMEOUT):
                    await shell.send()
            last_alive = age
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(interval, params.top - age)):
                    await shell.closed.wait()
        age = (shell.closed_at or time.monotonic()) - shell.opened
        rows.append({"keystrokes_every": interval, "age": round(age, 2)})
    finally:
        await shell.aclose()
    _judge_absolute(report, params, interval, rows, last_alive, shell.closed_at is None, age)


# --- MQTT -------------------------------------------------------------------------------


def _with_keep_alive(packet: bytes, seconds: int) -> bytes:
    """A CONNECT packet with its Keep Alive field replaced."""
    at = packet.index(b"\x00\x04MQTT") + 8  # name, level, flags, then keep-alive
    return packet[:at] + seconds.to_bytes(2, "big") + packet[at + 2 :]


class MqttKeepAlive(ServiceProbe):
    """Whether a broker ends a client that announced keep-alive K and then stays silent."""

    checks = (MQTT_KEEPALIVE,)
    protocols = frozenset({"mqtt", "mqtts"})
    phase = Phase.MEASURE
    uses = frozenset({VALID_CREDENTIALS})

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        keep = ctx.params(MQTT_KEEPALIVE, KeepAliveParams).keepalive_seconds
        if not keep:
            return 0.0
        # the control CONNECT, up to two CONNECTs (3.1.1, then 5.0), the silent wait
        connects = 3 * (ctx.net.limits.connect_timeout + ctx.net.limits.read_timeout)
        return JOB_MARGIN + connects + 1.5 * keep + 2.0

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        params = ctx.params(MQTT_KEEPALIVE, KeepAliveParams)
        report = _Report(ctx, service, f"{service} on {ctx.target.address}")
        keep = params.keepalive_seconds
        if not keep:
            report.add(
                MQTT_KEEPALIVE,
                Verdict.SKIPPED,
                "the profile sets no keepalive_seconds, so nothing was measured.",
            )
            return list(report.results.values())
        nobody = await _broker_accepts_anyone(ctx, service)
        if nobody:
            report.add(MQTT_KEEPALIVE, Verdict.NOT_APPLICABLE, nobody)
            return list(report.results.values())
        credential = _credential(ctx, service)
        if credential is None:
            report.add(MQTT_KEEPALIVE, Verdict.INCONCLUSIVE, f"{_NO_CREDENTIAL}.")
            return list(report.results.values())
        tls = service.tls or service.protocol == "mqtts"
        who = str(credential) if credential.username or credential.password else "no login"
        for level in (4, 5):
            try:
                stream = await ctx.net.idle_tcp(
                    service.port, tls=lenient_tls_context() if tls else None
                )
            except (OSError, TimeoutError) as exc:
                report.add(MQTT_KEEPALIVE, Verdict.INCONCLUSIVE, f"no connection: {exc}.")
                break
            try:
                code = await _connack(stream, credential, level, keep)
                if code == 1 and level == 4:
                    continue  # MQTT 3.1.1 refused: ask again in 5.0
                if code != 0:
                    why = "no CONNACK" if code is None else f"CONNACK code {code}"
                    report.add(
                        MQTT_KEEPALIVE,
                        Verdict.INCONCLUSIVE,
                        f"the CONNECT with {who} was not accepted "
                        f"({why}), so no session can be judged.",
                    )
                    break
                await _judge_keep_alive(report, stream, keep)
                break
            finally:
                await stream.aclose()
        return list(report.results.values())


async def _broker_accepts_anyone(ctx: ProbeContext, service: Service) -> str:
    """Why the broker authenticates nobody ("" when it refused a random control login or
    the control could not be judged)."""
    control = Credential(
        f"shinsa-nobody-{secrets.token_hex(4)}", secrets.token_urlsafe(12), "control"
    )
    run = await mqtt_login.try_logins(ctx.net, service, [control], with_control=False)
    seen = run.attempts[0] if run.attempts else None
    if seen is None or seen.outcome is not Outcome.ACCEPTED:
        return ""
    return (
        f"the broker accepted a random control login (user {control.username!r}, which "
        f"does not exist: {seen.detail[:80]}): it authenticates nobody, so there is no "
        "authenticated session whose end matters; any client may connect again at will."
    )


async def _connack(
    stream: BoundedStream, credential: Credential, level: int, keep: int
) -> int | None:
    packet = _with_keep_alive(connect_packet(credential, level), keep)
    try:
        await stream.write(packet)
        answer = parse_connack(await stream.read_some(256), level)
    except (OSError, TimeoutError):
        return None
    return None if answer is None else answer.code


async def _judge_keep_alive(report: _Report, stream: BoundedStream, keep: int) -> None:
    start = time.monotonic()
    deadline = 1.5 * keep + 1.0
    closed_after: float | None = None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            while True:
                try:
                    data = await stream.read_some(4096, timeout=deadline + 1)
                except (OSError, TimeoutError):
                    data = b""
                if not data:
                    closed_after = time.monotonic() - start
                    break
    facts: dict[str, JSONValue] = {"keepalive_seconds": keep, "waited": round(deadline, 2)}
    if closed_after is None:
        with contextlib.suppress(OSError, TimeoutError):
            await stream.write(b"\xe0\x00")  # DISCONNECT
        report.add(
            MQTT_KEEPALIVE,
            Verdict.FAIL,
            f"a client silent for {deadline:g} s after announcing keep-alive {keep} s was "
            f"still connected (the broker must end it within 1.5 × {keep} s).",
            facts,
        )
        return
    facts["closed_after"] = round(closed_after, 2)
    report.add(
        MQTT_KEEPALIVE,
        Verdict.PASS,
        f"the broker closed a silent client {closed_after:.1f} s after its CONNECT "
        f"(keep-alive {keep} s).",
        facts,
    )
