"""The service's database: one schema for SQLite (the embedded default) and PostgreSQL (a
central, multi-site installation), written with SQLAlchemy Core so that both speak it.

Migrations (scanner/service/migrations/) create and upgrade it; a test holds them to this
file. Times are UTC; SQLite gives them back naive, `scanner.service.db.utc` makes them aware.

What is kept, and why each table exists:

- runs: every scan run the service knows (scheduled, run-now, `shinsa import`, or a
  `shinsa scan --db`), with its per-run store kept under the data directory so that its
  reports can be rendered again.
- devices: a device followed across address changes (`identity_keys`); the inventory.
- run_devices: one row per device per run, pre-aggregated (worst severity, counts by
  verdict and severity, requirement status counts): the fleet overview and the device page
  read these, never every result (the benchmark in bench/service/ holds them to it).
- results, services, requirement_status: what a run found, per device, for drift and the
  device page.
- baselines, drift: the accepted state and what changed against it and the previous run.
- schedules, alerts: scan definitions and the alert outbox (sent, retried, failed).
- users, sessions, api_tokens, audit_log: who may do what, and who did.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the scanner's run ID
    sa.Column("site", sa.String(128), nullable=False, server_default="default"),
    sa.Column("schedule_id", sa.Integer, sa.ForeignKey("schedules.id", ondelete="SET NULL")),
    sa.Column("trigger", sa.String(16), nullable=False),  # schedule | run-now | import | cli
    sa.Column("started", TS, nullable=False),
    sa.Column("finished", TS),
    # queued | running | complete | incomplete | interrupted | crashed | stopped (window)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("profile_id", sa.String(128), nullable=False),
    sa.Column("profile_digest", sa.String(128), nullable=False),
    sa.Column("scanner_version", sa.String(32), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),  # the scan's request, secrets masked
    sa.Column("store_path", sa.Text, nullable=False, server_default=""),  # the per-run store
    sa.Column("devices_total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("devices_done", sa.Integer, nullable=False, server_default="0"),
    # the run's summary, pre-aggregated at import: {"fail": n, ..., "critical": n, ...,
    # "statuses": {framework: {status: n}}}
    sa.Column("summary", sa.JSON, nullable=False, default=dict),
    sa.Column("imported", TS),
    sa.Index(None, "site", "started"),
    sa.Index(None, "schedule_id", "started"),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site", sa.String(128), nullable=False, server_default="default"),
    sa.Column("address", sa.String(64), nullable=False),  # where it was last seen
    sa.Column("label", sa.String(255), nullable=False, server_default=""),
    sa.Column("mac", sa.String(17), nullable=False, server_default=""),
    sa.Column("vendor", sa.String(255), nullable=False, server_default=""),
    sa.Column("model", sa.String(255), nullable=False, server_default=""),
    sa.Column("firmware", sa.String(255), nullable=False, server_default=""),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.Column("last_run_id", sa.String(64)),
    sa.Index(None, "site", "address"),
)

# Identity keys that follow a device across addresses (scanner/service/identity.py
# STRONG): ("ssh-hostkey", "SHA256:..."), ("tls-cert", sha256 hex), ("upnp-udn", uuid).
# Weak signals (SNMP sysName/sysObjectID, Modbus, EtherNet/IP...) are never keys: they go
# to run_devices.summary["identity"].
identity_keys = sa.Table(
    "identity_keys",
    metadata,
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("site", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("value", sa.String(512), nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.PrimaryKeyConstraint("site", "kind", "value"),
    sa.Index(None, "device_id"),
)

run_devices = sa.Table(
    "run_devices",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("label", sa.String(255), nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False),  # pending | done | failed
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("reason_ja", sa.Text, nullable=False, server_default=""),
    sa.Column("worst_severity", sa.String(16), nullable=False, server_default=""),  # "" none
    sa.Column("worst_rank", sa.Integer, nullable=False, server_default="-1"),
    # {"verdicts": {verdict: n}, "severities": {severity: n}, "statuses": {fw: {status: n}},
    #  "services": ["tcp/22 ssh", ...], "identity": {kind: value}}
    sa.Column("summary", sa.JSON, nullable=False, default=dict),
    sa.Column("started", TS, nullable=False),  # the run's start, copied for the timeline
    sa.PrimaryKeyConstraint("run_id", "device_id"),
    sa.Index(None, "device_id", "started"),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("transport", sa.String(8), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("protocol", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),  # scanner.codec.service_to_dict
    sa.PrimaryKeyConstraint("run_id", "device_id", "transport", "port"),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("service_key", sa.String(16), nullable=False),  # "tcp/22", "" device-level
    sa.Column("check_id", sa.String(128), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False, server_default=""),
    sa.Column("data", sa.JSON, nullable=False),  # scanner.codec.result_to_dict
    sa.PrimaryKeyConstraint("run_id", "device_id", "service_key", "check_id"),
    sa.Index(None, "device_id", "run_id"),
)

requirement_status = sa.Table(
    "requirement_status",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("framework", sa.String(64), nullable=False),
    sa.Column("requirement", sa.String(64), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "device_id", "framework", "requirement"),
)

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, server_default="default"),
    sa.Column("site", sa.String(128), nullable=False, server_default="default"),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="RESTRICT")),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("accepted", TS, nullable=False),
    sa.Column("accepted_by", sa.String(128), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index(None, "name", "site", "device_id", "active"),
)

drift = sa.Table(
    "drift",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE")),
    sa.Column("against", sa.String(16), nullable=False),  # baseline | previous
    sa.Column("against_run_id", sa.String(64)),
    sa.Column("kind", sa.String(32), nullable=False),  # scanner.service.drift.KINDS
    sa.Column("subject", sa.String(255), nullable=False),  # "tcp/23", a check ID, "CR 1.1"
    sa.Column("before", sa.String(255), nullable=False, server_default=""),
    sa.Column("after", sa.String(255), nullable=False, server_default=""),
    sa.Column("severity", sa.String(16), nullable=False, server_default=""),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
    sa.Index(None, "run_id"),
    sa.Index(None, "device_id", "run_id"),
)

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("cron", sa.String(128), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("site", sa.String(128), nullable=False, server_default="default"),
    # {"targets": [...], "ports": SPEC|null, "profile": P, "formats": [...], "options": {...}}
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("alerts", sa.JSON, nullable=False, default=list),  # [{"channel", "target"}]
    sa.Column("drift_kinds", sa.JSON, nullable=False, default=list),  # [] = every kind
    sa.Column("windows", sa.JSON, nullable=False, default=list),  # maintenance windows
    sa.Column("jitter", sa.Integer, nullable=False, server_default="0"),  # seconds
    # drift (scanner/service/drift.py): the baseline's name, and how many runs in a row a
    # pass -> inconclusive flip must last to count (revision 0002)
    sa.Column("baseline", sa.String(128), nullable=False, server_default="default"),
    sa.Column("drift_persist", sa.Integer, nullable=False, server_default="2"),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("next_run", TS),
    sa.Column("last_run_id", sa.String(64)),
    # the lease that keeps two runs of one definition apart (service and run-now alike)
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", TS),
    sa.Column("created", TS, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("schedule_id", sa.Integer, sa.ForeignKey("schedules.id", ondelete="SET NULL")),
    sa.Column("channel", sa.String(16), nullable=False),  # webhook | smtp | syslog
    sa.Column("target", sa.Text, nullable=False),  # the URL or address, secrets masked
    sa.Column("payload", sa.JSON, nullable=False),  # the alert body (stable schema)
    sa.Column("state", sa.String(16), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("next_attempt", TS),
    sa.Column("created", TS, nullable=False),
    sa.Column("sent", TS),
    sa.Index(None, "state", "next_attempt"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | operator | admin
    sa.Column("password_hash", sa.Text, nullable=False),  # Argon2id, PHC string
    sa.Column("created", TS, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", TS),
    sa.Column("lang", sa.String(8), nullable=False, server_default="en"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie value
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.Column("remote", sa.String(64), nullable=False, server_default=""),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),  # shown in lists, not secret
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256
    sa.Column("created", TS, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("last_used", TS),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # user:NAME, token:NAME, cli, system
    sa.Column("action", sa.String(64), nullable=False),  # login, schedule.add, ...
    sa.Column("subject", sa.String(255), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(16), nullable=False, server_default="ok"),
    sa.Column("remote", sa.String(64), nullable=False, server_default=""),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
    sa.Index(None, "at"),
)

# -- the sites (scanner/sites/, revision 0003) ----------------------------------------------
# A run split over site workers: its devices' tasks and every result as it lands, written by
# the workers, read by the machine that started the run (the command line or the service).
# Keyed by (run, device[, service, check]) so that a task delivered twice never writes a
# result twice, nor overwrites a final one.

site_tasks = sa.Table(
    "site_tasks",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    # queued | running | done | failed | pending (no worker of its site took it: `reason`)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("worker", sa.String(255), nullable=False, server_default=""),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("reason_ja", sa.Text, nullable=False, server_default=""),
    # what the device's scan found besides results, written when it settles
    sa.Column("services", sa.JSON, nullable=False, default=list),
    sa.Column("identity", sa.JSON, nullable=False, default=list),
    sa.Column("updated", TS, nullable=False),
    sa.Index(None, "run_id", "state"),
)

site_results = sa.Table(
    "site_results",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("service_key", sa.String(64), primary_key=True),
    sa.Column("check_id", sa.String(128), primary_key=True),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # the result as the per-run store keeps it
    sa.Column("worker", sa.String(255), nullable=False, server_default=""),
    sa.Column("written", sa.Integer, nullable=False, server_default="1"),  # writes that won
    sa.Column("landed", TS, nullable=False),
)

# the write-ahead login ledger of a site's devices (scanner/ledger.py), central so that a
# task redelivered to another worker sees the failed logins the lost one had spent
site_logins = sa.Table(
    "site_logins",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("username", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),  # epoch seconds
    sa.Column("held", sa.Boolean, nullable=False),
    sa.Index(None, "address", "username"),
)
