"""SQLite store: every result is written as it lands, so a killed scan loses nothing that
finished and `--resume` redoes only what is missing.

WAL mode with synchronous=NORMAL: a commit survives the process being killed (SIGKILL);
only a power cut could lose the last commits. One connection, owned by the event loop's
thread; writes are one small row per finished check, so they run on the loop.

Besides results, a run keeps each device's services and what the device said about what it
is (`identity`: SSH host key fingerprint, SNMP sysName and sysObjectID, UPnP, Modbus, BACnet
and S7 identity, vendor/model/firmware; bounded), which the service follows a device by.
A store made before the identity table gains it when opened; reading it gives nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from scanner.codec import result_from_dict, result_to_dict, service_from_dict, service_to_dict
from scanner.credential_lists import take_slots
from scanner.errors import ConfigError
from scanner.model import bound_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path

    from scanner.model import JSONValue, Result, Service

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,            -- running | complete | incomplete | interrupted | crashed
    profile_id TEXT NOT NULL,
    profile_digest TEXT NOT NULL,
    scanner_version TEXT NOT NULL,
    request TEXT NOT NULL            -- JSON: targets, ports, options; secrets masked
);
CREATE TABLE IF NOT EXISTS targets (
    run_id TEXT NOT NULL REFERENCES runs(id),
    address TEXT NOT NULL,
    label TEXT NOT NULL,
    state TEXT NOT NULL,             -- pending | done | failed
    reason TEXT NOT NULL DEFAULT '', -- why a failed device was not scanned to the end
    reason_ja TEXT NOT NULL DEFAULT '', -- the same in Japanese ('' in a store made before it)
    PRIMARY KEY (run_id, address)
);
CREATE TABLE IF NOT EXISTS services (
    run_id TEXT NOT NULL REFERENCES runs(id),
    address TEXT NOT NULL,
    transport TEXT NOT NULL,
    port INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, address, transport, port)
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(id),
    address TEXT NOT NULL,
    service_key TEXT NOT NULL,       -- "tcp/22", or "" for device-level checks
    check_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    data TEXT NOT NULL,
    written TEXT NOT NULL,
    PRIMARY KEY (run_id, address, service_key, check_id)
);
CREATE TABLE IF NOT EXISTS login_ledger (
    address TEXT NOT NULL,
    username TEXT NOT NULL,
    run_id TEXT NOT NULL,
    written REAL NOT NULL,           -- unix time the slot was taken, before the login is sent
    held INTEGER NOT NULL            -- 1: a login that may have failed; 0: given back
);
CREATE INDEX IF NOT EXISTS login_ledger_account ON login_ledger (address, username, written);
CREATE TABLE IF NOT EXISTS evidence (
    run_id TEXT NOT NULL REFERENCES runs(id),
    path TEXT NOT NULL,              -- the manual evidence file as given
    sha256 TEXT NOT NULL,            -- of its bytes
    data TEXT NOT NULL,              -- JSON: its statements, as loaded (scanner.judging.manual)
    PRIMARY KEY (run_id, sha256)
);
CREATE TABLE IF NOT EXISTS identity (
    run_id TEXT NOT NULL REFERENCES runs(id),
    address TEXT NOT NULL,
    source TEXT NOT NULL,            -- the protocol of the service that said it: ssh, ssdp...
    kind TEXT NOT NULL,              -- ssh_hostkey, snmp_sysname, vendor, model (see IdentityRow)
    value TEXT NOT NULL,             -- bounded printable text (MAX_IDENTITY_TEXT)
    PRIMARY KEY (run_id, address, source, kind, value)
);
"""

# Slots that count: this run's (its resume included), and those of every run still going
# or killed (status running: a concurrent scan, or one SIGKILL left). A run that ended has
# given its device back; a later scan starts its own budget.
_HELD_SLOTS = (
    "SELECT COUNT(*) FROM login_ledger WHERE address=? AND username=? AND held=1 "
    "AND written > ? AND (run_id = ? OR run_id IN (SELECT id FROM runs WHERE status = "
    "'running') OR run_id NOT IN (SELECT id FROM runs))"
)

#: An identity value kept (an SSH fingerprint is 50 characters, a UPnP description's fields
#: a few hundred), a kind's and a source's name, and the rows kept per device: devices lie,
#: and one that sends a thousand vendor names or a megabyte of model gets a bounded share.
MAX_IDENTITY_TEXT = 512
MAX_IDENTITY_NAME = 32
MAX_IDENTITY_ROWS = 64


class IdentityRow(NamedTuple):
    """One thing a device said about what it is (scanner/fingerprint/identity.py's
    `IdentitySignal`, as stored): `source` the protocol of the service that said it
    ("ssh", "ssdp", "snmp", "modbus", ...), `kind` the signal's kind ("ssh_hostkey",
    "snmp_sysname", "snmp_oid", "upnp", "vendor", "model", "firmware", ...)."""

    source: str
    kind: str
    value: str


# Final verdicts, kept by a resumed scan: pass, fail, not_applicable (spelled out in the SQL
# below). Everything else (error, inconclusive, skipped) is retried.


def _why(path: Path, exc: sqlite3.Error) -> str:
    """SQLite's reason, with the one it hides: on a read-only file system it says only
    "unable to open database file" (it cannot make its journal beside the store)."""
    try:
        read_only = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return f"the file system is read-only: {exc}" if read_only else str(exc)


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: str
    started: datetime
    finished: datetime | None
    status: str
    profile_id: str
    profile_digest: str
    scanner_version: str
    request: dict[str, Any]


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Store:
    """One SQLite file holding many runs."""

    #: the connection refuses other threads (sqlite3's check): a store shared by threads
    #: in turn says so (scanner/sites/central.py)
    same_thread = True

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open (or, with `create`, make) the store; a file that is not one is a ConfigError.
        An output directory that cannot be made raises OSError (an environment failure)."""
        if not create and not path.is_file():
            raise ConfigError(f"no shinsa store at {path} (give the --out of the scan)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise OSError(f"cannot create {path.parent}: a file is in the way") from None
        except OSError as exc:
            raise OSError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
        self.path = path
        # isolation_level=None: autocommit, each statement is its own short transaction.
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=self.same_thread
            )
        except sqlite3.Error as exc:
            raise OSError(f"{path}: cannot open the store ({_why(path, exc)})") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(targets)")}
            if "reason" not in columns:  # a store written before failed devices had a reason
                self._db.execute("ALTER TABLE targets ADD COLUMN reason TEXT NOT NULL DEFAULT ''")
            if "reason_ja" not in columns:  # ... or before that reason had its Japanese
                self._db.execute(
                    "ALTER TABLE targets ADD COLUMN reason_ja TEXT NOT NULL DEFAULT ''"
                )
        except sqlite3.OperationalError as exc:  # read-only, disk full, locked
            self._db.close()
            raise OSError(f"{path}: cannot use the store ({_why(path, exc)})") from None
        except sqlite3.DatabaseError as exc:  # not a database, or a corrupt one
            self._db.close()
            raise ConfigError(f"{path} is not a usable shinsa store ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # runs -------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        profile_id: str,
        profile_digest: str,
        scanner_version: str,
        request: dict[str, JSONValue],
        targets: Sequence[tuple[str, str]],
    ) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, NULL, 'running', ?, ?, ?, ?)",
                (run_id, _now(), profile_id, profile_digest, scanner_version, json.dumps(request)),
            )
            self._db.executemany(
                "INSERT INTO targets (run_id, address, label, state, reason) "
                "VALUES (?, ?, ?, 'pending', '')",
                [(run_id, addr, label) for addr, label in targets],
            )

    def reopen_run(self, run_id: str) -> None:
        self._db.execute("UPDATE runs SET status='running', finished=NULL WHERE id=?", (run_id,))

    def finish_run(self, run_id: str, status: str = "complete") -> None:
        self._db.execute(
            "UPDATE runs SET finished=?, status=? WHERE id=?", (_now(), status, run_id)
        )

    def run(self, run_id: str) -> RunInfo:
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            known = ", ".join(r.id for r in self.runs()[-5:]) or "none"
            raise ConfigError(f"run {run_id!r} is not in {self.path} (latest: {known})")
        return RunInfo(
            id=row[0],
            started=datetime.fromisoformat(row[1]),
            finished=datetime.fromisoformat(row[2]) if row[2] else None,
            status=row[3],
            profile_id=row[4],
            profile_digest=row[5],
            scanner_version=row[6],
            request=json.loads(row[7]),
        )

    def runs(self) -> list[RunInfo]:
        ids = [r[0] for r in self._db.execute("SELECT id FROM runs ORDER BY started")]
        return [self.run(i) for i in ids]

    # targets ----------------------------------------------------------------------------

    def targets(self, run_id: str) -> list[tuple[str, str, str]]:
        """(address, label, state) in insertion order."""
        return [
            (r[0], r[1], r[2])
            for r in self._db.execute(
                "SELECT address, label, state FROM targets WHERE run_id=? ORDER BY rowid", (run_id,)
            )
        ]

    def target_done(self, run_id: str, address: str) -> None:
        self._db.execute(
            "UPDATE targets SET state='done', reason='', reason_ja='' WHERE run_id=? AND address=?",
            (run_id, address),
        )

    def target_failed(self, run_id: str, address: str, reason: str, reason_ja: str = "") -> None:
        """The device could not be scanned to the end: its finished results stay, and
        `--resume` tries it again. `reason_ja`: the reason in Japanese."""
        self._db.execute(
            "UPDATE targets SET state='failed', reason=?, reason_ja=? WHERE run_id=? AND address=?",
            (reason[:500], reason_ja[:500], run_id, address),
        )

    def failures(self, run_id: str) -> dict[str, str]:
        """address -> reason, for every device of the run that failed."""
        rows = self._db.execute(
            "SELECT address, reason FROM targets WHERE run_id=? AND state='failed' ORDER BY rowid",
            (run_id,),
        )
        return {r[0]: r[1] for r in rows}

    def failures_ja(self, run_id: str) -> dict[str, str]:
        """address -> the reason in Japanese ("" when the store was made before it was kept),
        for every device of the run that failed."""
        rows = self._db.execute(
            "SELECT address, reason_ja FROM targets WHERE run_id=? AND state='failed' "
            "ORDER BY rowid",
            (run_id,),
        )
        return {r[0]: r[1] for r in rows}

    # services ---------------------------------------------------------------------------

    def put_services(self, run_id: str, address: str, services: Sequence[Service]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM services WHERE run_id=? AND address=?", (run_id, address))
            self._db.executemany(
                "INSERT INTO services VALUES (?, ?, ?, ?, ?)",
                [
                    (run_id, address, s.transport, s.port, json.dumps(service_to_dict(s)))
                    for s in services
                ],
            )

    def services(self, run_id: str, address: str) -> list[Service]:
        rows = self._db.execute(
            "SELECT data FROM services WHERE run_id=? AND address=? ORDER BY transport, port",
            (run_id, address),
        )
        return [service_from_dict(json.loads(r[0])) for r in rows]

    # manual evidence --------------------------------------------------------------------

    def add_evidence(
        self, run_id: str, path: str, sha256: str, statements: Sequence[JSONValue]
    ) -> None:
        """Keep a manual evidence file's statements with the run, so a re-render shows them
        after the file has moved. The same bytes given twice are kept once."""
        self._db.execute(
            "INSERT OR IGNORE INTO evidence VALUES (?, ?, ?, ?)",
            (run_id, path, sha256, json.dumps(list(statements))),
        )

    def evidence(self, run_id: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """(path, sha256, statements) per file, in the order they were added."""
        rows = self._db.execute(
            "SELECT path, sha256, data FROM evidence WHERE run_id=? ORDER BY rowid", (run_id,)
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    # identity ---------------------------------------------------------------------------

    def put_identity(self, run_id: str, address: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Keep what the device said about what it is, (source, kind, value) per row, in
        place of what an earlier attempt of this run kept; one short transaction. Every
        part is bounded printable text; empty values are dropped, repeats kept once, and
        at most `MAX_IDENTITY_ROWS` rows are kept."""
        kept: dict[IdentityRow, None] = {}
        for source, kind, value in rows:
            row = IdentityRow(
                bound_text(source, MAX_IDENTITY_NAME),
                bound_text(kind, MAX_IDENTITY_NAME),
                bound_text(value, MAX_IDENTITY_TEXT),
            )
            if row.kind and row.value:
                kept[row] = None
            if len(kept) >= MAX_IDENTITY_ROWS:
                break
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM identity WHERE run_id=? AND address=?", (run_id, address))
            self._db.executemany(
                "INSERT INTO identity VALUES (?, ?, ?, ?, ?)",
                [(run_id, address, *row) for row in kept],
            )

    def identity(self, run_id: str) -> dict[str, list[IdentityRow]]:
        """address -> what it said about itself, in the order written; nothing for a run
        (or a store) from before identity was kept."""
        try:
            rows = self._db.execute(
                "SELECT address, source, kind, value FROM identity WHERE run_id=? ORDER BY rowid",
                (run_id,),
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # a store opened read-only, made before it
                return {}
            raise
        out: dict[str, list[IdentityRow]] = {}
        for address, source, kind, value in rows:
            out.setdefault(address, []).append(IdentityRow(source, kind, value))
        return out

    # login ledger -----------------------------------------------------------------------
    # Write-ahead: a slot is taken here, committed, before the login is sent, so a killed scan
    # and its --resume, or two scans of one device from one store, never exceed the budget.

    def reserve_login(
        self, address: str, username: str, run_id: str, limit: int, window: float
    ) -> bool:
        """Take one failure slot for the account if fewer than `limit` are held within the
        last `window` seconds; atomic across processes sharing the store."""
        return self.reserve_logins(address, run_id, [username], limit, 1, window)[0]

    def reserve_logins(
        self,
        address: str,
        run_id: str,
        usernames: Sequence[str],
        limit: int,
        most: int,
        window: float,
    ) -> list[bool]:
        """A failure slot for each of `usernames` in turn, while its account holds fewer
        than `limit` within the last `window` seconds and fewer than `most` were taken
        here (credential_lists.take_slots): which were. One transaction, atomic across
        processes sharing the store."""
        now = time.time()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")  # the counts and the inserts, one writer at a time
            held = {
                u: int(
                    self._db.execute(_HELD_SLOTS, (address, u, now - window, run_id)).fetchone()[0]
                )
                for u in set(usernames)
            }
            taken = take_slots(usernames, held, limit, most)
            self._db.executemany(
                "INSERT INTO login_ledger VALUES (?, ?, ?, ?, 1)",
                [(address, u, run_id, now) for u, ok in zip(usernames, taken, strict=True) if ok],
            )
        return taken

    def release_login(self, address: str, username: str, run_id: str) -> None:
        """Give back the latest slot this run holds for the account (the login succeeded or
        was never sent)."""
        self.release_logins(address, run_id, [username])

    def release_logins(self, address: str, run_id: str, usernames: Sequence[str]) -> None:
        """The latest slot this run holds for the account given back, once per name."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for username, count in Counter(usernames).items():
                self._db.execute(
                    "UPDATE login_ledger SET held=0 WHERE rowid IN (SELECT rowid FROM "
                    "login_ledger WHERE address=? AND username=? AND run_id=? AND held=1 "
                    "ORDER BY rowid DESC LIMIT ?)",
                    (address, username, run_id, count),
                )

    def login_failures(self, address: str, username: str, window: float, run_id: str = "") -> int:
        (held,) = self._db.execute(
            _HELD_SLOTS, (address, username, time.time() - window, run_id)
        ).fetchone()
        return int(held)

    # results ----------------------------------------------------------------------------

    def add_result(self, run_id: str, result: Result) -> None:
        """Write one result now. A final result already stored is never overwritten."""
        self._db.execute(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, address, service_key, check_id) DO UPDATE SET "
            "verdict=excluded.verdict, data=excluded.data, written=excluded.written "
            "WHERE results.verdict NOT IN ('pass', 'fail', 'not_applicable')",
            (
                run_id,
                result.target,
                result.service_key,
                result.check_id,
                result.verdict.value,
                json.dumps(result_to_dict(result)),
                _now(),
            ),
        )

    def results(self, run_id: str) -> list[Result]:
        return list(self._iter_results(run_id))

    def _iter_results(self, run_id: str) -> Iterator[Result]:
        rows = self._db.execute(
            "SELECT data FROM results WHERE run_id=? ORDER BY address, service_key, check_id",
            (run_id,),
        )
        for (data,) in rows:
            yield result_from_dict(json.loads(data))

    def done(self, run_id: str) -> set[tuple[str, str, str]]:
        """(address, service_key, check_id) with a final verdict: skipped on resume."""
        rows = self._db.execute(
            "SELECT address, service_key, check_id FROM results WHERE run_id=? "
            "AND verdict IN ('pass', 'fail', 'not_applicable')",
            (run_id,),
        )
        return {(r[0], r[1], r[2]) for r in rows}

    def written_at(self, run_id: str) -> dict[tuple[str, str, str], str]:
        """When each result row was last written (tests use it to prove nothing was redone)."""
        rows = self._db.execute(
            "SELECT address, service_key, check_id, written FROM results WHERE run_id=?",
            (run_id,),
        )
        return {(r[0], r[1], r[2]): r[3] for r in rows}
