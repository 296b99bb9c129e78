"""The sites' tables in the service's database (scanner/service/schema.py, revision 0003).

Written by workers as results land (`CentralStore`), read back by the machine that started
the run (`changed`, `task`, `results_of`). A task row's `updated` is the database's clock
(never a worker's, which may be off), so that "changed since" means the same to all.

Every write is keyed: a result by (run, device, service,
check), a device's task by (run, device). The same rule as the per-run store: a final
result (pass, fail, not_applicable) is never overwritten; an error or inconclusive one may
be, by a later attempt of the same device.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from scanner.codec import result_from_dict, result_to_dict, service_from_dict, service_to_dict
from scanner.credential_lists import take_slots
from scanner.service import schema
from scanner.service.db import now
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from pathlib import Path

    from scanner.model import Result, Service
    from scanner.store import IdentityRow

FINAL = ("pass", "fail", "not_applicable")
#: states of a device's task that end it, in this run
SETTLED = ("done", "failed", "pending")


@functools.cache
def _upsert(dialect: str) -> Any:
    """The result's INSERT ... ON CONFLICT, built once per dialect: its values come as
    parameters, so SQLAlchemy compiles it once (bench/sites: building the statement anew
    for each result was a fifth of a worker's CPU per device)."""
    t = schema.site_results
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
    return stmt.on_conflict_do_update(
        index_elements=[t.c.run_id, t.c.address, t.c.service_key, t.c.check_id],
        set_={
            "verdict": stmt.excluded.verdict,
            "data": stmt.excluded.data,
            "worker": stmt.excluded.worker,
            "written": t.c.written + 1,
            "landed": stmt.excluded.landed,
        },
        # the final verdicts as literals, not an expanding IN, which executemany refuses
        where=sa.and_(*(t.c.verdict != sa.literal_column(f"'{v}'") for v in FINAL)),
    )


def _result_row(run_id: str, result: Result, worker: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "address": result.target,
        "service_key": result.service_key,
        "check_id": result.check_id,
        "verdict": result.verdict.value,
        "data": json.dumps(result_to_dict(result)),
        "worker": worker,
        "written": 1,
        "landed": now(),
    }


def results_of(engine: sa.Engine, run_id: str, *addresses: str) -> list[Result]:
    """The results landed for these devices of the run."""
    t = schema.site_results
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.data)
            .where(t.c.run_id == run_id, t.c.address.in_(addresses))
            .order_by(t.c.address, t.c.service_key, t.c.check_id)
        ).all()
    return [result_from_dict(json.loads(r.data)) for r in rows]


def queue(engine: sa.Engine, run_id: str, sites: dict[str, str]) -> None:
    """address -> site: each device's task row, queued (again, for a device that did not
    end in an earlier attempt of the run; one that is done stays done)."""
    t = schema.site_tasks
    with engine.begin() as conn:
        done = {
            r.address
            for r in conn.execute(
                sa.select(t.c.address).where(t.c.run_id == run_id, t.c.state == "done")
            )
        }
        conn.execute(t.delete().where(t.c.run_id == run_id, t.c.state != "done"))
        rows = [
            {
                "run_id": run_id,
                "address": address,
                "site": site,
                "state": "queued",
                "services": [],
                "identity": [],
            }
            for address, site in sites.items()
            if address not in done
        ]
        if rows:
            conn.execute(t.insert().values(updated=sa.func.now()), rows)


@dataclass(frozen=True, slots=True)
class TaskRow:
    address: str
    site: str
    state: str
    worker: str
    attempts: int
    reason: str
    reason_ja: str
    services: list[Service]
    identity: list[tuple[str, str, str]]


def _task_row(r: Any) -> TaskRow:
    return TaskRow(
        r.address,
        r.site,
        r.state,
        r.worker,
        r.attempts,
        r.reason,
        r.reason_ja,
        [service_from_dict(s) for s in r.services or []],
        [(str(a), str(b), str(c)) for a, b, c in r.identity or []],
    )


def tasks(engine: sa.Engine, run_id: str) -> dict[str, TaskRow]:
    """Every device's task row of the run, whole."""
    t = schema.site_tasks
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.run_id == run_id)).all()
    return {r.address: _task_row(r) for r in rows}


def task(engine: sa.Engine, run_id: str, address: str) -> TaskRow | None:
    """One device's task row, whole (None: not this run's)."""
    t = schema.site_tasks
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.run_id == run_id, t.c.address == address)).first()
    return None if row is None else _task_row(row)


def changed(
    engine: sa.Engine, run_id: str, since: datetime | None
) -> list[tuple[str, str, datetime]]:
    """(address, state, updated) of the run's task rows written at or after `since` (every
    row: None), by the database's clock; the light columns only, for the poll of the
    machine that started the run (a 2,000-device run is not read whole twice a second)."""
    t = schema.site_tasks
    query = sa.select(t.c.address, t.c.state, t.c.updated).where(t.c.run_id == run_id)
    if since is not None:
        query = query.where(t.c.updated >= since)
    with engine.connect() as conn:
        return [(r.address, r.state, r.updated) for r in conn.execute(query)]


def claim_all(
    engine: sa.Engine, run_id: str, addresses: Sequence[str], worker: str
) -> dict[str, str]:
    """The devices' task rows marked running by `worker`, in one transaction, except those
    that have ended: address -> the state each had (a device with no task row in this
    database, which is then not the run's, is left out)."""
    t = schema.site_tasks
    with engine.begin() as conn:
        states = {
            r.address: str(r.state)
            for r in conn.execute(
                sa.select(t.c.address, t.c.state).where(
                    t.c.run_id == run_id, t.c.address.in_(addresses)
                )
            )
        }
        open_ = [a for a, s in states.items() if s not in SETTLED]
        if open_:
            conn.execute(
                t.update()
                .where(t.c.run_id == run_id, t.c.address.in_(open_))
                .values(
                    state="running",
                    worker=worker,
                    attempts=t.c.attempts + 1,
                    updated=sa.func.now(),
                )
            )
    return states


def settle(
    engine: sa.Engine,
    run_id: str,
    address: str,
    state: str,
    *,
    reason: str = "",
    reason_ja: str = "",
    services: Sequence[Service] = (),
    identity: Iterable[IdentityRow | tuple[str, str, str]] = (),
    only_from: Sequence[str] = ("queued", "running"),
) -> bool:
    """The device's task ended (done, failed, or pending with the reason), with what its
    scan found besides results; only from `only_from` states: True when it was."""
    with engine.begin() as conn:
        return _settle(
            conn, run_id, address, state, reason, reason_ja, services, identity, only_from
        )


def _settle(
    conn: sa.Connection,
    run_id: str,
    address: str,
    state: str,
    reason: str,
    reason_ja: str,
    services: Sequence[Service],
    identity: Iterable[IdentityRow | tuple[str, str, str]],
    only_from: Sequence[str],
) -> bool:
    t = schema.site_tasks
    changed = conn.execute(
        t.update()
        .where(t.c.run_id == run_id, t.c.address == address, t.c.state.in_(only_from))
        .values(
            state=state,
            reason=reason[:500],
            reason_ja=reason_ja[:500],
            services=[service_to_dict(s) for s in services],
            identity=[list(row) for row in identity],
            updated=sa.func.now(),
        )
    ).rowcount
    return bool(changed)


#: a worker's results wait at most this long before they land in the central database
FLUSH_SECONDS = 1.0
#: how long the writer keeps trying a write the central database refuses for a moment
#: (restarting) before the task gives up and goes back to the queue
WRITE_PATIENCE = 60.0


@dataclass(frozen=True, slots=True)
class _Ending:
    """A device's end, for the writer: its task row's last state and what its scan found."""

    run_id: str
    address: str
    state: str
    reason: str
    reason_ja: str
    services: list[Service]
    identity: list[IdentityRow]


class CentralStore(Store):
    """A worker's per-task store whose results also land in the central database, and
    whose login ledger is the central one (so a task redelivered to another worker sees
    what the lost one spent).

    Results and ends land from a writer thread, not the scan's event loop: a commit waits
    for the database, and the loop is every device's of the worker (bench/sites: a loop
    blocked on ~65 commits per device made each device half again as long). The writer
    lands the results of the last FLUSH_SECONDS together, and a device's remaining ones
    with its task row when it ends, in one transaction, so the machine that started the
    run never sees a device ended without all its results. A lost worker loses at most the
    FLUSH_SECONDS not yet written, which its redelivered task redoes.

    The login ledger, which a redo must not exceed, is written at once, in the loop, before
    the logins are sent: a probe's whole plan in one transaction (`reserve_logins`). A worker's
    sessions do not wait for the database's disk at commit (`unsynced_commits`): what they
    commit is visible to every worker at once, so a lost worker's reservations stay, and
    only a crash of the database itself forgets its last fraction of a second of results
    and reservations (bench/sites, 400 devices: waiting for the disk, the distributed run
    took 1.28x the in-process time; without, 1.06x)."""

    # used by one thread at a time: the task's, then the worker's event loop while the
    # task's thread waits for it (tasks.py), then the task's again
    same_thread = False

    def __init__(self, path: Path, engine: sa.Engine, worker: str) -> None:
        super().__init__(path)
        self.central = engine
        self.worker = worker
        self._unsent: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._work: SimpleQueue[_Ending | threading.Event | None] = SimpleQueue()
        self._failed: Exception | None = None
        self._writer = threading.Thread(target=self._write_forever, daemon=True)
        self._writer.start()

    def add_result(self, run_id: str, result: Result) -> None:
        super().add_result(run_id, result)
        key = (run_id, result.target, result.service_key, result.check_id)
        with self._lock:
            held = self._unsent.get(key)
            if held is None or held["verdict"] not in FINAL:  # the store's rule, kept here too
                self._unsent[key] = _result_row(run_id, result, self.worker)

    def target_done(self, run_id: str, address: str) -> None:
        super().target_done(run_id, address)
        self._end(run_id, address, "done", "", "")

    def target_failed(self, run_id: str, address: str, reason: str, reason_ja: str = "") -> None:
        super().target_failed(run_id, address, reason, reason_ja)
        self._end(run_id, address, "failed", reason, reason_ja)

    def _end(self, run_id: str, address: str, state: str, reason: str, reason_ja: str) -> None:
        services = self.services(run_id, address)
        identity = self.identity(run_id).get(address, [])
        self._work.put(_Ending(run_id, address, state, reason, reason_ja, services, identity))

    def flush(self) -> None:
        """Returns when everything given so far has landed; raises what the writer could
        not write (the database gone for WRITE_PATIENCE seconds)."""
        done = threading.Event()
        self._work.put(done)
        while not done.wait(1.0):
            if not self._writer.is_alive():
                break
        if self._failed is not None:
            raise self._failed

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._work.put(None)
            self._writer.join(timeout=WRITE_PATIENCE)
            super().close()

    # -- the writer thread

    def _write_forever(self) -> None:
        landed = time.monotonic()  # when every held result last landed
        while True:
            wait = max(0.0, FLUSH_SECONDS - (time.monotonic() - landed))
            try:
                item = self._work.get(timeout=wait)
            except Empty:
                item = threading.Event()  # the interval: what is held lands
            if item is None:
                return
            items = [item]
            if not isinstance(item, threading.Event) and time.monotonic() - landed >= FLUSH_SECONDS:
                items.append(threading.Event())  # ends coming fast do not hold the rest
            for one in items:
                if self._failed is None:
                    try:
                        self._patiently(one)
                    except Exception as exc:  # kept for the task's thread (flush)
                        self._failed = exc
                if isinstance(one, threading.Event):
                    landed = time.monotonic()
                    one.set()

    def _patiently(self, item: _Ending | threading.Event) -> None:
        """One write, tried again while the database restarts."""
        if isinstance(item, threading.Event):
            with self._lock:
                if not self._unsent:
                    return  # nothing held: no empty transaction every second
        gives_up = time.monotonic() + WRITE_PATIENCE
        while True:
            try:
                with self.central.begin() as conn:
                    self._land(conn, item)
                return
            except sa.exc.OperationalError:
                if time.monotonic() > gives_up:
                    raise
                time.sleep(1.0)

    def _land(self, conn: sa.Connection, item: _Ending | threading.Event) -> None:
        address = item.address if isinstance(item, _Ending) else None
        with self._lock:
            keys = [k for k in self._unsent if address is None or k[1] == address]
            rows = [self._unsent[k] for k in keys]
        if rows:
            conn.execute(_upsert(self.central.dialect.name), rows)
        if isinstance(item, _Ending):
            _settle(
                conn,
                item.run_id,
                item.address,
                item.state,
                item.reason,
                item.reason_ja,
                item.services,
                item.identity,
                ("queued", "running"),
            )
        with self._lock:  # landed: not written again (unless replaced since)
            for k, row in zip(keys, rows, strict=True):
                if self._unsent.get(k) is row:
                    del self._unsent[k]

    def reserve_logins(
        self,
        address: str,
        run_id: str,
        usernames: Sequence[str],
        limit: int,
        most: int,
        window: float,
    ) -> list[bool]:
        """The store's reservation (Store.reserve_logins) in the central ledger: a probe's
        whole plan in one transaction, the account's held slots counted once and the
        taken ones inserted together. Committed before the logins are sent, in the scan's
        loop, which waits for it (bench/sites: a statement per pair, ~25 per device, was a
        fifth of a worker's CPU). On PostgreSQL the device's advisory lock makes the count
        and the insert one step for every run and worker at once (a device is scanned by
        one worker at a time in a run, tasks.py, but two runs may share it). SQLite, a
        central database for one machine's tests, has no such lock: there two runs
        reserving on one device in the same instant could both count below the limit."""
        at = time.time()
        with self.central.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(_DEVICE_LOCK, {"key": _lock_id(address)})
            held = {
                str(user): int(n)
                for user, n in conn.execute(
                    _HELD_BY_USER,
                    {"device": address, "users": sorted(set(usernames)), "since": at - window},
                )
            }
            taken = take_slots(usernames, held, limit, most)
            rows = [
                {"address": address, "username": u, "run_id": run_id, "at": at, "held": True}
                for u, ok in zip(usernames, taken, strict=True)
                if ok
            ]
            if rows:
                conn.execute(_L.insert(), rows)
        return taken

    def release_logins(self, address: str, run_id: str, usernames: Sequence[str]) -> None:
        """The run's latest slot for the account given back once per name, in one
        transaction."""
        with self.central.begin() as conn:
            for username, count in Counter(usernames).items():
                conn.execute(
                    _GIVE_BACK, {"device": address, "user": username, "run": run_id, "n": count}
                )

    def login_failures(self, address: str, username: str, window: float, run_id: str = "") -> int:
        """Slots held for the account within the window, by any run: the device remembers
        failures whoever sent them (stricter than the per-run store, which cannot know the
        runs of other stores)."""
        del run_id
        since = time.time() - window
        with _autocommit(self.central) as conn:
            found = conn.execute(
                _HELD, {"device": address, "user": username, "since": since}
            ).scalar_one()
            return int(found)


def _autocommit(engine: sa.Engine) -> sa.Connection:
    """A connection whose every statement is its own transaction: no BEGIN and COMMIT
    round trips around a single statement."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def unsynced_commits(engine: sa.Engine) -> sa.Engine:
    """`engine`, its PostgreSQL sessions not waiting for the disk at commit (a worker's:
    CentralStore's docstring), set once per connection rather than per transaction.
    Behind PgBouncer in transaction mode, which does not keep a session's settings, set it
    on the workers' role instead (deploy/postgres-sites.sql)."""
    if engine.dialect.name == "postgresql":

        def unsynced(dbapi_connection: Any, _record: object) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
            dbapi_connection.commit()

        sa.event.listen(engine, "connect", unsynced)
    return engine


# the ledger's statements, built once (their values are parameters: compiled once; not
# named after the columns, which an INSERT's or UPDATE's own parameters are)
_L = schema.site_logins
_ACCOUNT = sa.and_(_L.c.address == sa.bindparam("device"), _L.c.username == sa.bindparam("user"))
_HELD = sa.select(sa.func.count()).where(
    _ACCOUNT, _L.c.held.is_(True), _L.c.at >= sa.bindparam("since")
)
_HELD_BY_USER = (
    sa.select(_L.c.username, sa.func.count())
    .where(
        _L.c.address == sa.bindparam("device"),
        _L.c.username.in_(sa.bindparam("users", expanding=True)),
        _L.c.held.is_(True),
        _L.c.at >= sa.bindparam("since"),
    )
    .group_by(_L.c.username)
)
#: the run's latest `n` slots for the account, given back
_GIVE_BACK = (
    _L.update()
    .where(
        _L.c.id.in_(
            sa.select(_L.c.id)
            .where(_ACCOUNT, _L.c.run_id == sa.bindparam("run"), _L.c.held.is_(True))
            .order_by(_L.c.id.desc())
            .limit(sa.bindparam("n", type_=sa.Integer))
        )
    )
    .values(held=False)
)
#: a transaction's lock on one device's ledger, held until it ends
_DEVICE_LOCK = sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("key", type_=sa.BigInteger)))


def _lock_id(address: str) -> int:
    """The device's advisory lock key: 64 bits of a hash of its address, the same in
    every worker (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(address.encode(), digest_size=8, person=b"shinsa-ledger").digest()
    return int.from_bytes(digest, "big", signed=True)
