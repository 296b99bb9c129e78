"""A run split into tasks for the sites' workers, and what lands gathered back.

The machine that starts the run (`shinsa scan --broker`, or the service's child scan) keeps
its per-run store as a local scan does; in place of the engine it calls `run_on_sites`:

1. each device's site is its own (a target file's `site=`) or the run's `--site`;
2. the devices' task rows are queued in the central database, the run's version recorded
   on the broker, and the devices sent to their sites' queues, `--site-batch` of a site
   to a task (a device whose task ended in an earlier attempt of the run is not sent
   again); each device keeps its own task row, lock and results;
3. every `POLL_SECONDS`, the task rows are read: a device that started is shown started;
   one that ended has its results, services and identity copied from the central database
   into the per-run store, and is marked done or failed with the worker's reason;
4. a site with no live worker (no heartbeat of its site and this version) for `wait`
   seconds has its devices reported pending, with that reason, and the run stopped there:
   its tasks still on the broker are dropped when a worker comes back (the run's stop key),
   so a later run does not queue behind them, and the run ends rather than wait for ever;
5. at the close of the maintenance window (`--window-ends`), the run is stopped: no device
   starts after it (its task expires, and a worker checks the time too), running ones end
   and land what they found, the rest are reported pending;
6. Ctrl-C (or the service's SIGINT at the close of a maintenance window) stops the run on
   every site: workers end their devices, what landed is copied, and the interrupt goes on
   to the command (status `interrupted`, exit 130), as a local scan's does.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
import sqlalchemy as sa

from scanner import __version__
from scanner.errors import ConfigError, ShinsaError
from scanner.service import migrate
from scanner.service.db import mask_url, open_db, utc
from scanner.sites import central, keys
from scanner.sites.app import make_app
from scanner.sites.connection import client
from scanner.sites.tasks import Job
from scanner.sites.worker import workers

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scanner.engine import ScanRequest
    from scanner.reporter import Reporter
    from scanner.store import Store

POLL_SECONDS = 0.5
#: how long a site may have no live worker before its devices are reported pending
DEFAULT_WAIT = 60.0
#: after a stop, how long running devices get to end and land what they found
STOP_GRACE = 20.0
#: rows written this long before the latest one seen are read again (a row's time is its
#: transaction's start); every row is read every FULL_READ_SECONDS anyway
CURSOR_MARGIN = timedelta(seconds=10)
FULL_READ_SECONDS = 30.0
#: how long the database may not answer before the run ends with its error
DB_OUTAGE = 300.0


@dataclass(frozen=True, slots=True)
class SitesStep:
    """What --broker and its companions ask of a scan: run its devices on the sites."""

    broker: str
    db: str
    site: str  # the site of every device that names none (target file's site=)
    wait: float = DEFAULT_WAIT
    not_after: float | None = None  # epoch seconds: the maintenance window closes
    batch: int = keys.DEFAULT_BATCH  # devices of a site per task, at most


def batches(sites: Mapping[str, str], most: int) -> list[tuple[str, list[str]]]:
    """The devices (address -> site) as tasks of at most `most` devices of one site, in
    the run's order. A site's devices are spread over as many tasks as its share of
    `most`-sized ones, evenly (ten devices, most 8: two tasks of 5, not 8 and 2), so that
    no task is left alone with a site's last few slow devices."""
    by_site: dict[str, list[str]] = {}
    for address, site in sites.items():
        by_site.setdefault(site, []).append(address)
    out: list[tuple[str, list[str]]] = []
    for site, addresses in by_site.items():
        count = -(-len(addresses) // max(1, most))
        size, extra = divmod(len(addresses), count)
        at = 0
        for n in range(count):
            step = size + (1 if n < extra else 0)
            out.append((site, addresses[at : at + step]))
            at += step
    return out


def sites_of(request: ScanRequest, default: str) -> dict[str, str]:
    """address -> site, for every device of the run."""
    out: dict[str, str] = {}
    for t in request.targets:
        site = t.site or default
        if not site:
            raise ConfigError(f"{t.address}: no site (give --site NAME, or site= in a target file)")
        out[t.address] = site
    return out


def check(step: SitesStep) -> sa.Engine:
    """Before any task is sent: the broker answers, the database has this version's schema
    (made or upgraded, as `shinsa scan --db` does)."""
    keys.broker_url(step.broker)
    try:
        client(step.broker).ping()
    except redis.RedisError as exc:
        raise ConfigError(f"--broker {keys.masked(step.broker)}: does not answer ({exc})") from None
    if step.db.startswith("sqlite:///"):  # the embedded default's directory, made
        Path(step.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = open_db(step.db)
    try:
        migrate.upgrade(engine)
    except ShinsaError as exc:
        engine.dispose()
        raise ConfigError(f"{mask_url(step.db)}: {exc}") from None
    return engine


def check_step(broker: str, db: str) -> None:
    """`check` before the run starts, for the command line: refused before any packet."""
    check(SitesStep(broker, db, "")).dispose()


@dataclass(slots=True)
class _Run:
    request: ScanRequest
    store: Store
    run_id: str
    reporter: Reporter
    engine: sa.Engine
    r: redis.Redis
    sites: dict[str, str]
    step: SitesStep
    shown: dict[str, str] = field(default_factory=dict)  # address -> state shown so far
    alone_since: dict[str, float] = field(default_factory=dict)  # site -> no worker since
    cursor: datetime | None = None  # the latest task row's time seen (the database's clock)
    read_all_at: float = 0.0  # when every task row was last read

    def unsettled(self) -> list[str]:
        return [a for a in self.sites if self.shown.get(a) not in central.SETTLED]


def run_on_sites(
    step: SitesStep,
    request: ScanRequest,
    store: Store,
    run_id: str,
    reporter: Reporter,
    request_json: Mapping[str, Any],
) -> None:
    """The run's devices scanned by their sites' workers (module docstring); returns when
    every device has ended, or raises KeyboardInterrupt after stopping them."""
    engine = check(step)
    r = client(step.broker)
    # a stop of an earlier attempt of this run (--resume) does not drop this one's tasks
    r.delete(
        keys.stop_key(run_id),
        *(keys.stop_key(run_id, s) for s in set(sites_of(request, step.site).values())),
    )
    finished = {addr for addr, _, state in store.targets(run_id) if state == "done"}
    sites = {a: s for a, s in sites_of(request, step.site).items() if a not in finished}
    run = _Run(request, store, run_id, reporter, engine, r, sites, step)
    try:
        _send(run, request_json)
        deadline = time.monotonic() + request.max_scan_time if request.max_scan_time else None
        try:
            unreachable_since: float | None = None
            while run.unsettled():
                try:
                    _gather(run)
                    unreachable_since = None
                except sa.exc.OperationalError as exc:
                    # the database restarting: the workers' results wait there; a
                    # database gone for DB_OUTAGE seconds ends the run with the error
                    unreachable_since = unreachable_since or time.monotonic()
                    if time.monotonic() - unreachable_since > DB_OUTAGE:
                        raise
                    reporter.notice(f"the database does not answer ({exc.orig}); retrying")
                    time.sleep(POLL_SECONDS * 4)
                    continue
                _watch_sites(run)
                if step.not_after is not None and time.time() >= step.not_after:
                    # the window closed: no device starts now (the tasks expire and the
                    # workers check it too); running ones stop and land what they found
                    _stop(run, "")
                    _drain(run)
                    _pending(
                        run,
                        run.unsettled(),
                        "the maintenance window closed before a worker could scan it",
                        "ワーカーがスキャンする前にメンテナンス時間帯が終わった",
                    )
                    reporter.notice("the maintenance window closed: the run ends")
                    break
                if deadline is not None and time.monotonic() > deadline:
                    _stop(run, "")
                    _pending(
                        run,
                        run.unsettled(),
                        f"the run's --max-scan-time of {request.max_scan_time:g} s passed first",
                        f"先に実行全体の --max-scan-time {request.max_scan_time:g} 秒が過ぎた",
                    )
                    reporter.notice(f"--max-scan-time {request.max_scan_time:g} s reached")
                    break
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            _stop(run, "")
            _drain(run)
            raise
    finally:
        engine.dispose()


def _send(run: _Run, request_json: Mapping[str, Any]) -> None:
    central.queue(run.engine, run.run_id, run.sites)
    run.r.set(keys.VERSION_KEY, __version__)
    app = make_app(run.step.broker)
    deadline = time.time() + run.request.max_scan_time if run.request.max_scan_time else None
    targets = {t.address: t for t in run.request.targets}
    digest = run.store.run(run.run_id).profile_digest  # read once, not once per device
    ends = [x for x in (deadline, run.step.not_after) if x is not None]
    sent = 0
    for site, batch in batches(run.sites, run.step.batch):
        rows = [[t.address, t.label, t.profile, t.site] for t in (targets[a] for a in batch)]
        job = Job(
            __version__,
            run.run_id,
            site,
            rows,
            # the run's request, its targets only this task's devices (a 2,000-device run
            # does not send 2,000 targets in every task)
            {**request_json, "targets": rows},
            digest,
            deadline,
            run.step.not_after,
        )
        app.send_task(
            keys.SCAN_TASK,
            args=[job.to_json()],
            queue=keys.queue_of(site),
            # relative to now, as each is sent (a large run takes a while to send)
            expires=max(1.0, min(ends) - time.time()) if ends else None,
        )
        sent += len(batch)
    run.reporter.notice(
        f"{sent} device(s) sent to site(s) {', '.join(sorted(set(run.sites.values())))} "
        f"on {keys.masked(run.step.broker)}"
    )


def _gather(run: _Run) -> None:
    """Show what started, copy what ended (module docstring, 3). Only the rows written since
    the last poll are read (less a margin: a row's time is its transaction's start, which
    may commit after a later one), and every row now and then, whatever the clocks do."""
    since = None if run.cursor is None else run.cursor - CURSOR_MARGIN
    full = since is None or time.monotonic() - run.read_all_at > FULL_READ_SECONDS
    if full:
        since = None
    rows = central.changed(run.engine, run.run_id, since)
    if full:
        run.read_all_at = time.monotonic()
    for address, state, updated in rows:
        if updated is not None:
            stamp = utc(updated)
            if stamp is not None and (run.cursor is None or stamp > run.cursor):
                run.cursor = stamp
        if address not in run.sites or state == run.shown.get(address):
            continue
        if run.shown.get(address) in central.SETTLED:
            continue
        if state == "running" and address not in run.shown:
            run.reporter.device_started(address)
        elif state in central.SETTLED:
            row = central.task(run.engine, run.run_id, address)
            if row is None:
                continue
            _land(run, address, row)
        run.shown[address] = state


def _land(run: _Run, address: str, row: central.TaskRow) -> None:
    for result in central.results_of(run.engine, run.run_id, address):
        run.store.add_result(run.run_id, result)
    if row.services:
        run.store.put_services(run.run_id, address, row.services)
    if row.identity:
        run.store.put_identity(run.run_id, address, row.identity)
    if row.state == "done":
        run.store.target_done(run.run_id, address)
        run.reporter.device_done(address)
    else:
        reason = row.reason or "not scanned to the end"
        if row.state == "pending":
            reason = f"pending: {reason}"
        run.reporter.notice(f"{address}: {reason}")
        run.store.target_failed(run.run_id, address, reason, row.reason_ja)


def _watch_sites(run: _Run) -> None:
    """A site without a live worker of this version for `wait` seconds: its devices are
    reported pending (module docstring, 4)."""
    try:
        live = workers(run.r)
    except redis.RedisError:
        return  # the broker restarting: the workers' results still land in the database
    now = time.monotonic()
    waiting = {run.sites[a] for a in run.unsettled()}
    for site in waiting:
        mine = [w for w in live if w.get("site") == site]
        ours = [w for w in mine if w.get("version") == __version__]
        if ours:
            run.alone_since.pop(site, None)
            continue
        since = run.alone_since.setdefault(site, now)
        if now - since < run.step.wait:
            continue
        if mine:
            versions = ", ".join(sorted({w.get("version", "?") for w in mine}))
            why = f"site {site}'s workers are shinsa {versions}, this run is {__version__}"
            why_ja = f"サイト {site} のワーカーは shinsa {versions}、この実行は {__version__}"
        else:
            why = f"no worker of site {site} has been running for {run.step.wait:g} s"
            why_ja = f"サイト {site} のワーカーが {run.step.wait:g} 秒間動いていない"
        _stop(run, site)
        devices = [a for a in run.unsettled() if run.sites[a] == site]
        _pending(run, devices, why, why_ja)
        run.reporter.notice(f"site {site}: {len(devices)} device(s) pending: {why}")


def _pending(run: _Run, devices: list[str], why: str, why_ja: str) -> None:
    for address in devices:
        central.settle(
            run.engine,
            run.run_id,
            address,
            "pending",
            reason=why,
            reason_ja=why_ja,
            only_from=("queued", "running"),
        )
    _gather(run)
    # a device that ended just before its site was given up keeps its own ending
    for address in devices:
        if run.shown.get(address) not in central.SETTLED:
            run.store.target_failed(run.run_id, address, f"pending: {why}", why_ja)
            run.shown[address] = "pending"


def _stop(run: _Run, site: str) -> None:
    """The run (or one site of it) stopped on the broker: tasks not started are dropped,
    running ones end their device."""
    with contextlib.suppress(redis.RedisError):
        run.r.set(keys.stop_key(run.run_id, site), "1", ex=keys.RUN_KEY_TTL)


def _drain(run: _Run) -> None:
    """After a stop: running devices get STOP_GRACE seconds to end, and what landed is
    copied; the rest is left as the interrupted run's, for `--resume`."""
    ends = time.monotonic() + STOP_GRACE
    while time.monotonic() < ends:
        _gather(run)
        rows = central.tasks(run.engine, run.run_id)
        if not any(rows[a].state == "running" for a in run.unsettled() if a in rows):
            break
        time.sleep(POLL_SECONDS)
    for address in run.unsettled():
        for result in central.results_of(run.engine, run.run_id, address):
            run.store.add_result(run.run_id, result)
