"""A few devices of one site scanned in a worker: the task `shinsa.scan_device`.

A task is "scan these devices with this request": the request the run keeps (the JSON of its
per-run store, scanner/stored_request.py makes it a ScanRequest again) and up to
`--site-batch` targets of one site. The worker runs the same engine the command line runs,
on all of them at once (one discovery round, one event loop, as a local scan), into a
per-task store whose results also land in the central database (central.CentralStore):
each device's remaining results with its task row when it ends, so the machine that started
the run copies a device as soon as it is done, not when its task is.

Before scanning, in this order:
1. the task's version must be this worker's (another version judges by other rules);
2. the task must be for this worker's site (a queue is a site's, so this is a wrong route:
   refused, never scanned from the wrong segment);
3. a run (or site of it) that was stopped, or whose maintenance window has closed, is not
   started: its devices are left to the machine that started the run to report;
4. each device's lock: one worker scans a device at a time. A second delivery of the task
   (the broker gave it out again while the first still runs) finds the locks held; the
   devices that ended since are not scanned again, and the others come back later in a
   task of their own;
5. the central task rows: a device that already ended in this run is not scanned again;
6. a device this worker has no route to (sent to the wrong site) fails with that reason.

While it scans, a watcher renews the locks and ends the scan when the run is stopped or
its window closes. Results already final in the central database are seeded into the
per-task store, so a redelivered task does not redo them (the engine skips what is done,
as `--resume` does), and the central write never overwrites a final result anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
import sqlalchemy as sa
from celery.exceptions import Retry

from scanner import __version__
from scanner.engine import ScanRequest, scan
from scanner.errors import ShinsaError
from scanner.model import Target
from scanner.reporter import Reporter
from scanner.service.db import open_db
from scanner.sites import central, connection, keys, slots
from scanner.sites.pace import SharedPacer
from scanner.store import Store
from scanner.stored_request import rebuild

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from contextlib import AbstractAsyncContextManager

    from celery import Task

log = logging.getLogger("shinsa.sites")

# the lock is released only by its holder: compare, then delete (or renew), atomically
_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
_RENEW = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)


@dataclass(frozen=True, slots=True)
class Job:
    """A task's payload, checked: a few devices of one site, scanned together."""

    version: str
    run_id: str
    site: str
    targets: list[list[str]]  # [address, label, profile, site] per device
    request: dict[str, Any]  # the run's stored request, its targets only these devices
    digest: str  # the run's profile digest
    deadline: float | None  # epoch seconds: the run's --max-scan-time ends here
    not_after: float | None  # epoch seconds: the maintenance window closes here

    @property
    def addresses(self) -> list[str]:
        return [t[0] for t in self.targets]

    def only(self, addresses: Iterable[str]) -> Job:
        """The same task for some of its devices."""
        keep = set(addresses)
        targets = [t for t in self.targets if t[0] in keep]
        request = {**self.request, "targets": targets}
        return dataclasses.replace(self, targets=targets, request=request)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Job:
        if not isinstance(data, dict):
            raise ShinsaError("a task's payload is not an object")
        try:
            targets = [[str(v) for v in t] for t in data["targets"]]
            request = data["request"]
            if not targets or not all(targets) or not isinstance(request, dict):
                raise ValueError("no targets or request")
            return cls(
                str(data["version"]),
                str(data["run_id"]),
                str(data["site"]),
                targets,
                request,
                str(data["digest"]),
                _epoch(data.get("deadline")),
                _epoch(data.get("not_after")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ShinsaError(f"a task's payload is malformed ({exc})") from None


def _epoch(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# -- per-process state: one database engine and Redis client per worker process (a pool
# process makes its own after the fork), and the run's request rebuilt once, not per task

_engines: dict[str, sa.Engine] = {}
_clients: dict[str, redis.Redis] = {}
_requests: dict[tuple[str, str], ScanRequest] = {}
_requests_lock = threading.Lock()


_loop: asyncio.AbstractEventLoop | None = None
_loop_made = threading.Lock()


def _worker_loop() -> asyncio.AbstractEventLoop:
    """The process's one event loop, in a thread of its own, where the devices of every
    task its pool threads run are scanned, as the in-process engine scans all of a run's
    in one. A loop per task would have the tasks' loops take turns at the interpreter
    lock for every packet (bench/sites: a device took half again as long as in-process)."""
    global _loop
    with _loop_made:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="shinsa-scans", daemon=True).start()
        return _loop


def _engine(url: str) -> sa.Engine:
    if url not in _engines:
        _engines[url] = central.unsynced_commits(open_db(url))
    return _engines[url]


def _client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = connection.client(url)
    return _clients[url]


def _request(job: Job, addresses: Sequence[str]) -> ScanRequest:
    """The run's request for these devices of the task (its profile loaded once per
    process and run, even when several of the pool's threads start it at once)."""
    key = (job.run_id, job.digest)
    with _requests_lock:
        base = _requests.get(key)
        if base is None:
            if len(_requests) > 8:  # a long-lived worker sees many runs: keep the latest few
                _requests.clear()
            base = rebuild(job.request, profile_digest=job.digest, what=f"run {job.run_id}")
            _requests[key] = base
    keep = set(addresses)
    targets = tuple(Target(*t[:4]) for t in job.targets if t[0] in keep)
    remaining = None if job.deadline is None else max(1.0, job.deadline - time.time())
    return dataclasses.replace(base, targets=targets, max_scan_time=remaining)


def scan_device(task: Task[Any, Any], payload: dict[str, Any]) -> str:
    """The task's body (registered by app.make_app): what became of its devices, in a few
    words.

    A broker or database that does not answer for a moment (restarting) sends the task back
    to the queue for later; any other failure ends its devices as failed, with the reason,
    rather than leave them queued for ever (a failed task is acknowledged: never redone)."""
    conf = task.app.conf
    worker = str(task.request.hostname or socket.gethostname())
    job = Job.from_json(payload)
    engine = _engine(str(conf.get("shinsa_db")))
    claimed: list[str] = []  # the devices this task took, filled by _devices
    try:
        return _devices(task, job, engine, worker, claimed)
    except Retry:
        raise
    except (redis.RedisError, sa.exc.OperationalError) as exc:
        log.warning("%s: %s; the task goes back to the queue", _named(job), exc)
        raise task.retry(exc=exc, countdown=5, max_retries=None) from exc
    except Exception as exc:
        reason = f"worker {worker} failed ({type(exc).__name__}: {exc})"
        with contextlib.suppress(Exception):
            for address in job.addresses:
                # another worker's device (its lock was held) is left to it
                only = ("queued", "running") if address in claimed else ("queued",)
                central.settle(
                    engine, job.run_id, address, "failed", reason=reason[:500], only_from=only
                )
        raise


def _named(job: Job) -> str:
    shown = job.addresses[:3]
    more = len(job.addresses) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _summary(states: Sequence[str]) -> str:
    """ "done 7, failed 1": what became of a task's devices."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"


def _settle_all(engine: sa.Engine, job: Job, state: str, reason: str, reason_ja: str = "") -> str:
    for address in job.addresses:
        central.settle(engine, job.run_id, address, state, reason=reason, reason_ja=reason_ja)
    return _summary([state] * len(job.addresses))


def _devices(
    task: Task[Any, Any], job: Job, engine: sa.Engine, worker: str, claimed: list[str]
) -> str:
    conf = task.app.conf
    site = str(conf.get("shinsa_site") or "")
    if job.version != __version__:
        reason = (
            f"refused by worker {worker}: it is shinsa {__version__}, the task is from "
            f"{job.version} (run the same version on the service and every worker)"
        )
        log.error("%s: %s", _named(job), reason)
        _settle_all(engine, job, "failed", reason)
        return "refused"
    if job.site != site:
        reason = f"refused by worker {worker} of site {site!r}: the device is of site {job.site!r}"
        log.error("%s: %s", _named(job), reason)
        _settle_all(engine, job, "failed", reason)
        return "refused"
    client = _client(str(conf.broker_url))
    if client.exists(keys.stop_key(job.run_id), keys.stop_key(job.run_id, site)):
        return "stopped"  # the machine that started the run reports the devices
    if job.not_after is not None and time.time() >= job.not_after:
        return _settle_all(
            engine,
            job,
            "pending",
            "the maintenance window closed before a worker could start the device",
            "ワーカーが開始する前にメンテナンス時間帯が終わった",
        )
    token = f"{worker}:{os.getpid()}:{secrets.token_hex(4)}"
    locks = _lock(client, job, token)
    ended: list[str] = []
    try:
        busy = [a for a in job.addresses if a not in locks]
        for address in list(busy):  # a second delivery: what ended is not scanned again
            row = central.task(engine, job.run_id, address)
            if row is not None and row.state in central.SETTLED:
                ended.append(row.state)
                busy.remove(address)
        mine = [a for a in job.addresses if a in locks]
        states = central.claim_all(engine, job.run_id, mine, worker) if mine else {}
        unknown = [a for a in mine if a not in states]
        if unknown:
            log.error("run %s has no task for %s in this worker's database", job.run_id, unknown)
        scan_now: list[str] = []
        for address in mine:
            state = states.get(address)
            if state is None:
                ended.append("unknown run")
            elif state in central.SETTLED:
                ended.append(state)
            else:
                claimed.append(address)
                unroutable = no_route(address)
                if not unroutable:
                    scan_now.append(address)
                    continue
                central.settle(
                    engine,
                    job.run_id,
                    address,
                    "failed",
                    reason=f"no route from worker {worker} of site {site} to it "
                    f"({unroutable}): is the device in this site's segment?",
                    reason_ja=f"サイト {site} のワーカー {worker} から経路がない（{unroutable}）"
                    ": この機器はこのサイトのセグメントにあるか",
                )
                ended.append("failed")
        if scan_now:
            size = conf.get(keys.SLOTS_SETTING)
            shared = slots.of_process(int(size)).slot if size else None
            ended.extend(_scan(job, scan_now, engine, client, worker, site, locks, shared))
    finally:
        with contextlib.suppress(redis.RedisError):
            pipe = client.pipeline(transaction=False)
            for lock, held in locks.items():
                pipe.eval(_RELEASE, 1, keys.lock_key(job.run_id, lock), held)
            pipe.execute()
    if busy:
        # another worker scans these now: they come back when its locks may have lapsed
        raise task.retry(
            args=(job.only(busy).to_json(),), countdown=keys.LOCK_TTL_SECONDS / 3, max_retries=None
        )
    return _summary(ended)


def _lock(client: redis.Redis, job: Job, token: str) -> dict[str, str]:
    """Each device's lock taken, where free: address -> this task's token."""
    ttl_ms = int(keys.LOCK_TTL_SECONDS * 1000)
    pipe = client.pipeline(transaction=False)
    for address in job.addresses:
        pipe.set(keys.lock_key(job.run_id, address), token, nx=True, px=ttl_ms)
    taken = pipe.execute()
    return {a: token for a, ok in zip(job.addresses, taken, strict=True) if ok}


def no_route(address: str) -> str:
    """Why this machine has no route to `address` ("" when it has one). A device sent to
    the wrong site is not "every port closed" but out of reach: a datagram socket's
    connect asks the kernel for the route and sends nothing."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((address, 9))
        except OSError as exc:
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES):
                return exc.strerror or str(exc)
            raise
    return ""


def _scan(
    job: Job,
    addresses: list[str],
    engine: sa.Engine,
    client: redis.Redis,
    worker: str,
    site: str,
    locks: dict[str, str],
    shared: Callable[[], AbstractAsyncContextManager[None]] | None,
) -> list[str]:
    """The devices scanned together by one engine, as a local scan scans them, each in one
    of the worker's slots (`shared`, slots.py); each one's task row is settled as it ends
    (CentralStore). Returns what became of each."""
    try:
        request = dataclasses.replace(_request(job, addresses), device_slot=shared)
    except ShinsaError as exc:
        for address in addresses:
            central.settle(engine, job.run_id, address, "failed", reason=f"{worker}: {exc}")
        return ["failed"] * len(addresses)
    if request.limits.max_rate or request.limits.scan_delay:
        request = dataclasses.replace(
            request,
            pacer=SharedPacer(
                client,
                job.run_id,
                site,
                request.limits.max_rate,
                request.limits.scan_delay,
            ),
        )
    with tempfile.TemporaryDirectory(prefix="shinsa-task-") as tmp:
        store = central.CentralStore(Path(tmp) / "task.sqlite", engine, worker)
        with store:
            return _scan_in(job, addresses, request, store, engine, client, site, locks)


def _scan_in(
    job: Job,
    addresses: list[str],
    request: ScanRequest,
    store: central.CentralStore,
    engine: sa.Engine,
    client: redis.Redis,
    site: str,
    locks: dict[str, str],
) -> list[str]:
    store.start_run(
        job.run_id,
        profile_id=request.profile.id,
        profile_digest=job.digest,
        scanner_version=__version__,
        request=job.only(addresses).request,
        targets=[(t.address, t.label) for t in request.targets],
    )
    for result in central.results_of(engine, job.run_id, *addresses):
        Store.add_result(store, job.run_id, result)  # seeded, not written back
    stopped = asyncio.run_coroutine_threadsafe(
        _watched(request, store, job, client, site, locks), _worker_loop()
    ).result()
    store.flush()
    states = {a: s for a, _, s in store.targets(job.run_id)}
    ended: list[str] = []
    for address in addresses:
        state = states.get(address)
        if state in ("done", "failed"):
            ended.append(state)  # settled as it ended (CentralStore)
            continue
        # the watcher stopped the scan before the device ended
        reason = stopped or "not scanned to the end"
        central.settle(
            engine,
            job.run_id,
            address,
            "failed",
            reason=reason,
            reason_ja=_stopped_ja(reason),
            services=store.services(job.run_id, address),
            identity=store.identity(job.run_id).get(address, []),
        )
        ended.append("failed")
    return ended


def _stopped_ja(reason: str) -> str:
    if "window" in reason:
        return "メンテナンス時間帯の終わりに停止した"
    if "stopped" in reason:
        return "実行が停止された"
    return "最後までスキャンされなかった"


class _Stop(Exception):
    """The watcher ends the task's scan: the run was stopped, or its window closed."""


async def _watched(
    request: ScanRequest,
    store: Store,
    job: Job,
    client: redis.Redis,
    site: str,
    locks: dict[str, str],
) -> str | None:
    """The engine's scan of the devices, beside a watcher (module docstring); the reason it
    was stopped, or None when it ran to its end."""
    reason: list[str] = []
    ttl_ms = int(keys.LOCK_TTL_SECONDS * 1000)

    def renew() -> None:
        """Every lock kept: renewed, or taken again where it lapsed (the broker restarted)."""
        pipe = client.pipeline(transaction=False)
        for address, token in locks.items():
            pipe.eval(_RENEW, 1, keys.lock_key(job.run_id, address), token, ttl_ms)
        kept = pipe.execute()
        lapsed = [a for a, ok in zip(locks, kept, strict=True) if not ok]
        if lapsed:
            pipe = client.pipeline(transaction=False)
            for address in lapsed:
                pipe.set(keys.lock_key(job.run_id, address), locks[address], nx=True, px=ttl_ms)
            pipe.execute()

    async def watch() -> None:
        renew_every = keys.LOCK_TTL_SECONDS / 3
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            if job.not_after is not None and time.time() >= job.not_after:
                reason.append("stopped at the close of the maintenance window")
                raise _Stop
            try:
                stop = await asyncio.to_thread(
                    client.exists, keys.stop_key(job.run_id), keys.stop_key(job.run_id, site)
                )
                if stop:
                    reason.append("the run was stopped")
                    raise _Stop
                if time.monotonic() - renewed >= renew_every:
                    await asyncio.to_thread(renew)
                    renewed = time.monotonic()
            except redis.RedisError as exc:
                # the broker restarting: the scan goes on, its results land in the database
                log.warning("%s: broker unreachable while scanning (%s)", _named(job), exc)

    stopped = False
    try:
        async with asyncio.TaskGroup() as tg:
            scanning = tg.create_task(scan(request, store, job.run_id, Reporter()))
            watcher = tg.create_task(watch())
            await scanning
            watcher.cancel()
    except* _Stop:
        stopped = True
    if stopped:
        return reason[0] if reason else "stopped"
    return None
