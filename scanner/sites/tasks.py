"""One device's scan in a site worker: the task `shinsa.scan_device`.

A task is "scan this device with this request": the request the run keeps (the JSON of its
per-run store, scanner/stored_request.py makes it a ScanRequest again) and one target. The
worker runs the same engine the command line runs, into a per-task store whose results also
land in the central database at once (central.CentralStore).

Before scanning, in this order:
1. the task's version must be this worker's (another version judges by other rules);
2. the task must be for this worker's site (a queue is a site's, so this is a wrong route:
   refused, never scanned from the wrong segment);
3. a run (or site of it) that was stopped, or whose maintenance window has closed, is not
   started: the device is left to the machine that started the run to report;
4. the device's lock: one worker scans a device at a time. A second delivery of the task
   (the broker gave it out again while the first still runs) finds the lock held and comes
   back later; by then the device is done, and the task ends without scanning;
5. the central task row: a device that already ended in this run is not scanned again.

While it scans, a watcher renews the lock and ends the scan when the run is stopped or
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
from scanner.sites import central, connection, keys
from scanner.sites.pace import SharedPacer
from scanner.store import Store
from scanner.stored_request import rebuild

if TYPE_CHECKING:
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
    """A task's payload, checked."""

    version: str
    run_id: str
    site: str
    target: list[str]  # [address, label, profile, site]
    request: dict[str, Any]  # the run's stored request, its targets only this device
    digest: str  # the run's profile digest
    deadline: float | None  # epoch seconds: the run's --max-scan-time ends here
    not_after: float | None  # epoch seconds: the maintenance window closes here

    @property
    def address(self) -> str:
        return self.target[0]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Job:
        if not isinstance(data, dict):
            raise ShinsaError("a task's payload is not an object")
        try:
            target = [str(v) for v in data["target"]]
            request = data["request"]
            if not target or not isinstance(request, dict):
                raise ValueError("no target or request")
            return cls(
                str(data["version"]),
                str(data["run_id"]),
                str(data["site"]),
                target,
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
# process makes its own after the fork), and the run's request rebuilt once, not per device

_engines: dict[str, sa.Engine] = {}
_clients: dict[str, redis.Redis] = {}
_requests: dict[tuple[str, str], ScanRequest] = {}


def _engine(url: str) -> sa.Engine:
    if url not in _engines:
        _engines[url] = open_db(url)
    return _engines[url]


def _client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = connection.client(url)
    return _clients[url]


def _request(job: Job) -> ScanRequest:
    """The run's request for this device (its profile loaded once per process and run)."""
    key = (job.run_id, job.digest)
    base = _requests.get(key)
    if base is None:
        if len(_requests) > 8:  # a long-lived worker sees many runs: keep the latest few
            _requests.clear()
        base = rebuild(job.request, profile_digest=job.digest, what=f"run {job.run_id}")
        _requests[key] = base
    target = Target(*job.target[:4])
    remaining = None if job.deadline is None else max(1.0, job.deadline - time.time())
    return dataclasses.replace(base, targets=(target,), max_scan_time=remaining)


def scan_device(task: Task[Any, Any], payload: dict[str, Any]) -> str:
    """The task's body (registered by app.make_app): what became of the device, in a word.

    A broker or database that does not answer for a moment (restarting) sends the task back
    to the queue for later; any other failure ends the device as failed, with the reason,
    rather than leave it queued for ever (a failed task is acknowledged: never redone)."""
    conf = task.app.conf
    worker = str(task.request.hostname or socket.gethostname())
    job = Job.from_json(payload)
    engine = _engine(str(conf.get("shinsa_db")))
    try:
        return _device(task, job, engine, worker)
    except Retry:
        raise
    except (redis.RedisError, sa.exc.OperationalError) as exc:
        log.warning("%s: %s; the task goes back to the queue", job.address, exc)
        raise task.retry(exc=exc, countdown=5, max_retries=None) from exc
    except Exception as exc:
        reason = f"worker {worker} failed ({type(exc).__name__}: {exc})"
        with contextlib.suppress(Exception):
            central.settle(engine, job.run_id, job.address, "failed", reason=reason[:500])
        raise


def _device(task: Task[Any, Any], job: Job, engine: sa.Engine, worker: str) -> str:
    conf = task.app.conf
    site = str(conf.get("shinsa_site") or "")
    if job.version != __version__:
        reason = (
            f"refused by worker {worker}: it is shinsa {__version__}, the task is from "
            f"{job.version} (run the same version on the service and every worker)"
        )
        central.settle(engine, job.run_id, job.address, "failed", reason=reason)
        log.error("%s: %s", job.address, reason)
        return "refused"
    if job.site != site:
        reason = f"refused by worker {worker} of site {site!r}: the device is of site {job.site!r}"
        central.settle(engine, job.run_id, job.address, "failed", reason=reason)
        log.error("%s: %s", job.address, reason)
        return "refused"
    client = _client(str(conf.broker_url))
    if client.exists(keys.stop_key(job.run_id), keys.stop_key(job.run_id, site)):
        return "stopped"  # the machine that started the run reports the device
    if job.not_after is not None and time.time() >= job.not_after:
        central.settle(
            engine,
            job.run_id,
            job.address,
            "pending",
            reason="the maintenance window closed before a worker could start the device",
            reason_ja="ワーカーが開始する前にメンテナンス時間帯が終わった",
        )
        return "window closed"
    lock = keys.lock_key(job.run_id, job.address)
    token = f"{worker}:{os.getpid()}:{secrets.token_hex(4)}"
    ttl_ms = int(keys.LOCK_TTL_SECONDS * 1000)
    if not client.set(lock, token, nx=True, px=ttl_ms):
        state = central.task(engine, job.run_id, job.address)
        if state is not None and state.state in central.SETTLED:
            return state.state  # a second delivery of a device that has ended
        # another worker scans it now: come back when its lock may have lapsed
        raise task.retry(countdown=keys.LOCK_TTL_SECONDS / 3, max_retries=None)
    try:
        claimed = central.claim(engine, job.run_id, job.address, worker)
        if claimed is None:
            log.error(
                "run %s has no task for %s in this worker's database", job.run_id, job.address
            )
            return "unknown run"
        if claimed in central.SETTLED:
            return claimed
        unroutable = no_route(job.address)
        if unroutable:
            central.settle(
                engine,
                job.run_id,
                job.address,
                "failed",
                reason=f"no route from worker {worker} of site {site} to it ({unroutable}): "
                "is the device in this site's segment?",
                reason_ja=f"サイト {site} のワーカー {worker} から経路がない（{unroutable}）: "
                "この機器はこのサイトのセグメントにあるか",
            )
            return "failed"
        return _scan(job, engine, client, worker, site, lock, token)
    finally:
        with contextlib.suppress(redis.RedisError):
            client.eval(_RELEASE, 1, lock, token)


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
    engine: sa.Engine,
    client: redis.Redis,
    worker: str,
    site: str,
    lock: str,
    token: str,
) -> str:
    try:
        request = _request(job)
    except ShinsaError as exc:
        central.settle(engine, job.run_id, job.address, "failed", reason=f"{worker}: {exc}")
        return "failed"
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
    with (
        tempfile.TemporaryDirectory(prefix="shinsa-task-") as tmp,
        central.CentralStore(Path(tmp) / "task.sqlite", engine, worker) as store,
    ):
        store.start_run(
            job.run_id,
            profile_id=request.profile.id,
            profile_digest=job.digest,
            scanner_version=__version__,
            request=job.request,
            targets=[(job.address, request.targets[0].label)],
        )
        for result in central.results_of(engine, job.run_id, job.address):
            Store.add_result(store, job.run_id, result)  # seeded, not written back
        stopped = asyncio.run(_watched(request, store, job, client, site, lock, token))
        state = {a: s for a, _, s in store.targets(job.run_id)}.get(job.address)
        services = store.services(job.run_id, job.address)
        identity = store.identity(job.run_id).get(job.address, [])
        if state == "done" and stopped is None:
            central.settle(
                engine, job.run_id, job.address, "done", services=services, identity=identity
            )
            return "done"
        reason = stopped or store.failures(job.run_id).get(job.address, "not scanned to the end")
        reason_ja = store.failures_ja(job.run_id).get(job.address, "") if stopped is None else ""
        central.settle(
            engine,
            job.run_id,
            job.address,
            "failed",
            reason=reason,
            reason_ja=reason_ja or _stopped_ja(reason),
            services=services,
            identity=identity,
        )
        return "failed"


def _stopped_ja(reason: str) -> str:
    if "window" in reason:
        return "メンテナンス時間帯の終わりに停止した"
    if "stopped" in reason:
        return "実行が停止された"
    return ""


class _Stop(Exception):
    """The watcher ends the device's scan: the run was stopped, or its window closed."""


async def _watched(
    request: ScanRequest,
    store: Store,
    job: Job,
    client: redis.Redis,
    site: str,
    lock: str,
    token: str,
) -> str | None:
    """The engine's scan of the device, beside a watcher (module docstring); the reason it
    was stopped, or None when it ran to its end."""
    reason: list[str] = []

    async def watch() -> None:
        renew_every = keys.LOCK_TTL_SECONDS / 3
        renewed = time.monotonic()
        ttl_ms = int(keys.LOCK_TTL_SECONDS * 1000)
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
                    kept = await asyncio.to_thread(client.eval, _RENEW, 1, lock, token, ttl_ms)
                    if not kept:  # the lock lapsed (the broker restarted): take it again
                        await asyncio.to_thread(client.set, lock, token, nx=True, px=ttl_ms)
                    renewed = time.monotonic()
            except redis.RedisError as exc:
                # the broker restarting: the scan goes on, its results land in the database
                log.warning("%s: broker unreachable while scanning (%s)", job.address, exc)

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
