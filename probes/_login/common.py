"""What every protocol login client shares: the credential queue, back-off and masking.

The rules (see `probes/_login/__init__.py`):

- credentials are tried in order; the run stops at the first ACCEPTED, LOCKED or persistent
  THROTTLED outcome, or after `MAX_ERRORS_IN_A_ROW` ERROR outcomes;
- a dropped, refused or reset connection is never a wrong password: the same credential is
  retried after `BACKOFF` delays, and still failing becomes THROTTLED with the reason;
- device text is bounded and scrubbed of the password before it reaches `Attempt.detail`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from scanner.credentials import MASK, Attempt, Credential, LoginRun, Outcome
from scanner.model import bound_text, device_str
from scanner.net import ReadLimitExceeded
from scanner.task_groups import task_group

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
    from contextlib import AbstractAsyncContextManager

    from scanner.model import Service
    from scanner.net import BoundedStream, DeviceNetwork

#: "Nobody": masks nothing, for device text seen before any credential is sent.
NOBODY = Credential("", "")
#: Three refusals each slower than the last, the last ≥ this many seconds and ≥ this many
#: times the first, are a progressive delay, not network noise.
GROWING_DELAY_FLOOR = 1.0
GROWING_DELAY_FACTOR = 3.0
#: Waits before each retry of a credential whose connection was dropped (then THROTTLED).
BACKOFF: tuple[float, ...] = (0.5, 1.0, 2.0)
#: ERROR outcomes in a row that end a run: the service is not answering logins at all.
MAX_ERRORS_IN_A_ROW = 3
#: Longest device text kept in one attempt's detail.
DETAIL_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Pace:
    """How a login client paces one service: how long each answer may take (seconds), and
    how many connections share the list (still capped by the device's permits)."""

    timeout: float = 10.0
    connections: int = 1


#: the pace of a client called without one: one connection, 10 s an answer
PACE = Pace()

_LOCKED = re.compile(
    r"\block(?:ed|out)\b|too many|try again later|temporarily (?:blocked|disabled)", re.I
)


def looks_locked(text: str) -> bool:
    """Whether device text says the account or the source is locked out."""
    return bool(_LOCKED.search(text))


def scrub(text: str, credential: Credential) -> str:
    """`text` with every occurrence of the credential's password replaced by the mask.

    Devices echo input (telnet), quote requests (HTTP-ish error pages) or put communities in
    replies (SNMP): whatever they send back is scrubbed before it is kept anywhere.
    """
    if credential.password:
        text = text.replace(credential.password, MASK)
    return text


def device_text(raw: bytes | str, credential: Credential, limit: int = DETAIL_LIMIT) -> str:
    """Device output as a bounded, printable, password-free detail."""
    # Scrub before and after bounding: escaping may split or join what the device sent.
    text = device_str(raw) if isinstance(raw, bytes) else raw
    return scrub(bound_text(scrub(text, credential), limit), credential)


class LineReader:
    """Buffered, bounded reads on a `BoundedStream` for line protocols (FTP, RTSP).

    Keeps what arrived after a delimiter for the next read: a device that sends several
    lines in one segment loses none of them. EOF is `b""` (or a short result).
    """

    def __init__(self, stream: BoundedStream) -> None:
        self._stream = stream
        self._buf = bytearray()

    async def until(self, separator: bytes, limit: int) -> bytes:
        while True:
            idx = self._buf.find(separator)
            if idx >= 0:
                end = idx + len(separator)
                out = bytes(self._buf[:end])
                del self._buf[:end]
                return out
            if len(self._buf) >= limit:
                raise ReadLimitExceeded(f"more than {limit} bytes without {separator!r}")
            chunk = await self._stream.read_some(limit - len(self._buf))
            if not chunk:
                out = bytes(self._buf)
                self._buf.clear()
                return out
            self._buf += chunk

    async def exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = await self._stream.read_some(n - len(self._buf))
            if not chunk:
                break
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def attempt(
    credential: Credential, outcome: Outcome, detail: str, started: float | None = None
) -> Attempt:
    latency = time.monotonic() - started if started is not None else 0.0
    return Attempt(credential, outcome, scrub(detail, credential), max(latency, 0.0))


class Dropped(Exception):
    """The connection went away (or the device said "busy") before it judged a credential.

    Never a wrong password: the runner backs off and retries the same credential.
    `busy` marks an explicit "slow down" (FTP 421, CONNACK 3, RTSP 503): it is never retried
    for free on a fresh connection; `again` asks for one immediate retry (MQTT 5 fallback).
    """

    def __init__(self, reason: str, *, busy: bool = False, again: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.busy = busy
        self.again = again  # retry at once on a new connection (e.g. in another version)


class Unsupported(Exception):
    """The service cannot be logged into by this client at all (no password method...)."""


class NoLoginNeeded(Exception):
    """The service grants access without any credentials (a shell, a stream)."""


def reason_of(exc: BaseException) -> str:
    """A short, bounded description of a connection failure (never holds a password)."""
    if isinstance(exc, Dropped):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    # What the device did to the connection, in words: "ConnectionResetError: Connection
    # lost" is Python's name for it, not a sentence about a device.
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "the device reset the connection"
    if isinstance(exc, (ConnectionError, EOFError)):
        return "the device closed the connection"
    reason, code = getattr(exc, "reason", None), getattr(exc, "code", None)
    if isinstance(reason, str) and isinstance(code, int):
        # asyncssh.Error (not imported here: the module stays light): the server's own
        # reason, in a sentence, not "ChannelOpenError: ..."
        did = (
            "refused to open a session channel"
            if type(exc).__name__ == "ChannelOpenError"
            else f"ended the SSH exchange (code {code})"
        )
        said = f": {reason}" if reason else ""
        return bound_text(f"the SSH server {did}{said}", DETAIL_LIMIT)
    text = str(exc) or type(exc).__name__
    return bound_text(f"{type(exc).__name__}: {text}", DETAIL_LIMIT)


@dataclass
class Scheduler:
    """The ordered credentials, shared by every connection of one run.

    `take()` hands out the earliest credential not yet handed out (optionally the earliest
    with a given username, for protocols whose username is fixed per connection);
    `record()` keeps the outcome and decides when the run stops.
    """

    credentials: Sequence[Credential]
    _taken: list[bool] = field(init=False)
    _results: dict[int, Attempt] = field(init=False, default_factory=dict)
    _errors_in_a_row: int = field(init=False, default=0)
    stopped: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    note: str = field(init=False, default="")
    control: Attempt | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._rejection_latencies: list[float] = []
        self._taken = [False] * len(self.credentials)
        # Cursors instead of rescanning the list on every take(): a long list over many
        # connections would otherwise cost quadratic time (measured: 0.4 s per 3,000).
        self._next = 0
        self._by_user: dict[str, deque[int]] = defaultdict(deque)
        for index, credential in enumerate(self.credentials):
            self._by_user[credential.username].append(index)

    def _first_free(self, username: str) -> deque[int]:
        queue = self._by_user.get(username, deque())
        while queue and self._taken[queue[0]]:
            queue.popleft()
        return queue

    def take(self, username: str | None = None) -> tuple[int, Credential] | None:
        if self.stopped.is_set():
            return None
        if username is None:
            while self._next < len(self.credentials) and self._taken[self._next]:
                self._next += 1
            if self._next == len(self.credentials):
                return None
            index = self._next
        else:
            queue = self._first_free(username)
            if not queue:
                return None
            index = queue.popleft()
        self._taken[index] = True
        return index, self.credentials[index]

    def pending_for(self, username: str) -> bool:
        return bool(self._first_free(username))

    def record(self, index: int, result: Attempt) -> None:
        if self.stopped.is_set() and index in self._results:
            return
        self._results[index] = result
        if result.outcome in (Outcome.ACCEPTED, Outcome.LOCKED, Outcome.THROTTLED):
            self.stop()
        elif result.outcome is Outcome.ERROR:
            self._errors_in_a_row += 1
            if self._errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                self.stop(f"stopped after {MAX_ERRORS_IN_A_ROW} errors in a row")
        else:
            self._errors_in_a_row = 0
            self._watch_delays(result.latency)

    def _watch_delays(self, latency: float) -> None:
        """Stop when each refusal comes slower than the last: a progressive delay is the
        device throttling, and more attempts would only slow it down further."""
        recent = self._rejection_latencies = [*self._rejection_latencies[-2:], latency]
        if (
            len(recent) == 3
            and recent[0] < recent[1] < recent[2]
            and recent[2] >= GROWING_DELAY_FLOOR
            and recent[2] >= GROWING_DELAY_FACTOR * recent[0]
        ):
            steps = " → ".join(f"{x:.1f} s" for x in recent)
            self.stop(f"the device answered each refusal more slowly ({steps}): progressive delay")

    def stop(self, note: str = "") -> None:
        if note and not self.note:
            self.note = note
        self.stopped.set()

    def no_login(self, detail: str) -> None:
        """Access without credentials: the control (empty) login is ACCEPTED; stop."""
        self.control = Attempt(Credential("", ""), Outcome.ACCEPTED, detail, 0.0)
        self.stop(f"no login needed: {detail}")

    def run(self, method: str) -> LoginRun:
        return LoginRun(method, self.attempts(), self.control, self.note)

    def attempts(self) -> tuple[Attempt, ...]:
        return tuple(self._results[i] for i in sorted(self._results))


async def run_workers(
    scheduler: Scheduler, worker: Callable[[], Coroutine[Any, Any, None]], connections: int
) -> None:
    """Run `connections` copies of `worker`; cancel the rest as soon as the run stops.

    Attempts still in flight when another connection finds the password are abandoned:
    they are not recorded. The first worker to fail ends the others, and its exception is
    raised as itself.
    """

    async def abandoned_quietly() -> None:
        try:
            await worker()
        except Exception:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                return  # failed while being abandoned: that says nothing about the run
            raise

    async with task_group() as group:
        workers = [group.create_task(abandoned_quietly()) for _ in range(max(1, connections))]
        stop = group.create_task(scheduler.stopped.wait())
        running = set(workers)
        while running and not stop.done():
            done, _ = await asyncio.wait({*running, stop}, return_when=asyncio.FIRST_COMPLETED)
            running -= done
        for task in (*workers, stop):
            task.cancel()


class Session(Protocol):
    """One open connection that can judge credentials, one after the other."""

    #: False once the device will not take another credential on this connection.
    reusable: bool

    async def attempt(self, credential: Credential) -> Attempt:
        """Judge one credential; raises `Dropped` when the device did not answer it."""
        ...


@dataclass
class _Retry:
    """Back-off state for the credential a worker holds."""

    drops: int = 0
    free_used: bool = False


async def session_worker(
    scheduler: Scheduler,
    open_session: Callable[[], AbstractAsyncContextManager[Session]],
    *,
    delays: Sequence[float] | None = None,
) -> None:
    """Take credentials in order and try them over reusable sessions.

    A connection that served at least one attempt and then goes away (the device hangs up
    after N failures) is reopened at once, once per credential; any other drop, refusal or
    "busy" answer waits `delays[n]` and retries the same credential, and after the last
    delay the credential is recorded THROTTLED with the reason.
    """
    delays = BACKOFF if delays is None else delays
    held: tuple[int, Credential] | None = None
    retry = _Retry()
    while not scheduler.stopped.is_set():
        if held is None:
            held = scheduler.take()
            retry = _Retry()
            if held is None:
                return
        free_reconnect = False
        try:
            async with open_session() as session:
                used = False
                while True:
                    if held is None:
                        held = scheduler.take()
                        retry = _Retry()
                        if held is None:
                            return
                    index, credential = held
                    try:
                        result = await session.attempt(credential)
                    except (Dropped, OSError, EOFError) as exc:
                        busy = isinstance(exc, Dropped) and exc.busy
                        again = isinstance(exc, Dropped) and exc.again
                        if (used or again) and not busy and not retry.free_used:
                            retry.free_used = True
                            free_reconnect = True
                            break
                        raise
                    scheduler.record(index, result)
                    held, used = None, True
                    if not session.reusable or scheduler.stopped.is_set():
                        break
        except NoLoginNeeded as exc:
            scheduler.no_login(str(exc))
            return
        except Unsupported as exc:
            scheduler.stop(str(exc))
            return
        except (Dropped, OSError, TimeoutError, EOFError) as exc:
            if held is None:
                continue  # lost while closing after a judged attempt: nothing to retry
            index, credential = held
            if retry.drops >= len(delays):
                waited = "+".join(f"{d:g}" for d in delays)
                scheduler.record(
                    index,
                    attempt(
                        credential,
                        Outcome.THROTTLED,
                        f"{reason_of(exc)} (still after {len(delays)} retries over {waited} s)",
                    ),
                )
                held = None
                continue
            await asyncio.sleep(delays[retry.drops])
            retry.drops += 1
            continue
        if free_reconnect:
            continue


async def stream_logins(
    dev: DeviceNetwork,
    service: Service,
    credentials: Sequence[Credential],
    method: str,
    open_on: Callable[[BoundedStream, float], Coroutine[Any, Any, Session]],
    *,
    timeout: float,
    connections: int,
) -> LoginRun:
    """The whole run for a line protocol over TCP (telnet, FTP): `open_on` greets the
    device on a fresh stream and returns the session that judges credentials."""
    scheduler = Scheduler(credentials)

    @contextlib.asynccontextmanager
    async def open_session() -> AsyncIterator[Session]:
        async with dev.tcp(service.port) as stream:
            yield await open_on(stream, timeout)

    await run_workers(scheduler, lambda: session_worker(scheduler, open_session), connections)
    return scheduler.run(method)
