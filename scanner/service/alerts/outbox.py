"""The alert outbox: alerts are written to the `alerts` table first (`enqueue`), then sent
(`deliver_due`), so that none is lost when a receiver is down or the service stops.

Each row is one alert to one channel. `deliver_due` claims a due row with a guarded UPDATE
(state still pending, attempts unchanged, due now) whose row count says whether this
caller won it, so two processes (the service and `shinsa schedule run-now`) may deliver at
once without sending twice. The claim also moves `next_attempt` a lease ahead: if this
process dies mid-send, the row stays pending and another delivery picks it up once the
lease has run out (that attempt counts as failed).

A failed attempt sets `last_error` and the next attempt after a back-off (30 s, 2 min,
10 min, 30 min, 2 h by default); after the last one the row is `failed`, where the
dashboard and the API show it with its error. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scanner.errors import ConfigError
from scanner.service import schema as t
from scanner.service.alerts import payload, smtp, syslog, webhook
from scanner.service.alerts.channels import Channel, DeliveryError, parse_channel
from scanner.service.db import now as utc_now
from scanner.service.db import utc
from scanner.service.drift import KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scanner.service.drift import Drift

log = logging.getLogger("shinsa.alerts")

PENDING, SENT, FAILED = "pending", "sent", "failed"
_MAX_ERROR = 1000  # characters of last_error


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently an alert is tried.

    `delays[i]` is the wait after the (i+1)-th failed attempt, so an alert is tried
    `len(delays) + 1` times. `timeout` bounds each network operation of an attempt
    (connect, TLS handshake, each read and write); `lease` hides a claimed row from other
    deliverers for longer than an attempt can last."""

    delays: tuple[float, ...] = (30.0, 120.0, 600.0, 1800.0, 7200.0)
    timeout: float = 20.0
    workers: int = 4  # attempts in parallel: one slow receiver does not hold the others
    batch: int = 100  # rows claimed per call

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    @property
    def lease(self) -> float:
        return max(60.0, self.timeout * 10)


DEFAULT_POLICY = RetryPolicy()


def enqueue(
    engine: sa.Engine,
    *,
    run_id: str,
    schedule_id: int | None,
    channels: list[str],
    drifts: list[Drift],
    kinds: list[str],
) -> list[int]:
    """Write one pending alert per channel when any drift is of the chosen `kinds` ([]: every
    kind); returns the new rows' IDs ([] when nothing is to be said). Sends nothing.

    Raises ConfigError for a bad channel spec, an unknown kind or an unknown run, before
    writing anything."""
    parsed: dict[str, Channel] = {}
    for spec in channels:
        channel = parse_channel(spec)
        parsed.setdefault(channel.spec, channel)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ConfigError(f"unknown drift kind(s) {unknown}: choose from {', '.join(KINDS)}")
    chosen = [d for d in drifts if not kinds or d.kind in kinds]
    if not chosen or not parsed:
        return []
    created = utc_now()
    ids: list[int] = []
    with engine.begin() as conn:
        site = conn.execute(sa.select(t.runs.c.site).where(t.runs.c.id == run_id)).scalar()
        if site is None:
            raise ConfigError(f"run {run_id!r} is not in the service's database")
        schedule_name = None
        if schedule_id is not None:
            schedule_name = conn.execute(
                sa.select(t.schedules.c.name).where(t.schedules.c.id == schedule_id)
            ).scalar()
        for channel in parsed.values():
            inserted = conn.execute(
                t.alerts.insert().values(
                    run_id=run_id,
                    schedule_id=schedule_id,
                    channel=channel.kind,
                    # a spec holds no secret (channels.py refuses credentials in URLs)
                    target=channel.target,
                    payload={},
                    state=PENDING,
                    attempts=0,
                    last_error="",
                    next_attempt=created,
                    created=created,
                )
            ).inserted_primary_key
            alert_id = int(inserted[0]) if inserted else 0
            if not alert_id:
                raise RuntimeError("the database gave no ID for the new alert row")
            body = payload.build(
                alert_id=alert_id,
                run_id=run_id,
                site=site,
                schedule_id=schedule_id,
                schedule_name=schedule_name,
                created=created,
                drifts=chosen,
            )
            conn.execute(t.alerts.update().where(t.alerts.c.id == alert_id).values(payload=body))
            ids.append(alert_id)
    return ids


def deliver_due(
    engine: sa.Engine,
    *,
    now: datetime | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    env: Mapping[str, str] | None = None,
) -> int:
    """Try every pending alert whose `next_attempt` has come; returns how many were sent.

    `env` holds the channels' settings and secrets (os.environ by default)."""
    at = utc(now) or utc_now()
    settings = os.environ if env is None else env
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(t.alerts.c.id, t.alerts.c.attempts)
            .where(t.alerts.c.state == PENDING, t.alerts.c.next_attempt <= at)
            .order_by(t.alerts.c.next_attempt, t.alerts.c.id)
            .limit(policy.batch)
        ).all()
    claimed = [
        (row.id, row.attempts + 1) for row in due if claim(engine, row.id, row.attempts, at, policy)
    ]
    if not claimed:
        return 0
    with ThreadPoolExecutor(max_workers=max(1, min(policy.workers, len(claimed)))) as pool:
        sent = list(pool.map(lambda c: _attempt(engine, c[0], c[1], at, policy, settings), claimed))
    return sum(sent)


def requeue(engine: sa.Engine, alert_id: int, *, now: datetime | None = None) -> bool:
    """Send a failed alert again (an operator's choice, once the receiver is fixed): back to
    pending with a fresh set of attempts, due now. False when it is not failed."""
    at = utc(now) or utc_now()
    with engine.begin() as conn:
        done = conn.execute(
            t.alerts.update()
            .where(t.alerts.c.id == alert_id, t.alerts.c.state == FAILED)
            .values(state=PENDING, attempts=0, next_attempt=at)
        )
        return done.rowcount == 1


def claim(
    engine: sa.Engine, alert_id: int, attempts: int, at: datetime, policy: RetryPolicy
) -> bool:
    """Take a due row for this caller (the attempt it is about to make counted, the row
    hidden for a lease): true only if no other deliverer took it first."""
    with engine.begin() as conn:
        done = conn.execute(
            t.alerts.update()
            .where(
                t.alerts.c.id == alert_id,
                t.alerts.c.state == PENDING,
                t.alerts.c.attempts == attempts,
                t.alerts.c.next_attempt <= at,
            )
            .values(attempts=attempts + 1, next_attempt=at + timedelta(seconds=policy.lease))
        )
        return done.rowcount == 1


def _attempt(
    engine: sa.Engine,
    alert_id: int,
    attempt: int,
    at: datetime,
    policy: RetryPolicy,
    env: Mapping[str, str],
) -> int:
    """One attempt at a claimed row, its outcome recorded; 1 when sent."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.alerts.c.channel, t.alerts.c.target, t.alerts.c.payload).where(
                t.alerts.c.id == alert_id
            )
        ).one()
    permanent = False
    try:
        channel = parse_channel(f"{row.channel}:{row.target}")
    except ConfigError as exc:  # a row written by hand or by an older version
        note, error, permanent = "", str(exc), True
    else:
        try:
            note, error = send(channel, row.payload, env=env, timeout=policy.timeout), ""
        except DeliveryError as exc:
            note, error = "", str(exc)
        except Exception as exc:  # recorded on the row, never lost
            log.exception("alert %s: unexpected error", alert_id)
            note, error = "", f"unexpected {type(exc).__name__}: {exc}"
    values: dict[str, Any]
    if not error:
        values = {"state": SENT, "sent": utc_now(), "last_error": note[:_MAX_ERROR]}
    elif permanent or attempt >= policy.max_attempts:
        log.warning("alert %s to %s failed for good: %s", alert_id, row.channel, error)
        values = {"state": FAILED, "next_attempt": None, "last_error": error[:_MAX_ERROR]}
    else:
        delay = policy.delays[min(attempt, len(policy.delays)) - 1]
        log.info("alert %s to %s: attempt %d failed: %s", alert_id, row.channel, attempt, error)
        values = {
            "next_attempt": at + timedelta(seconds=delay),
            "last_error": error[:_MAX_ERROR],
        }
    with engine.begin() as conn:
        conn.execute(
            t.alerts.update()
            .where(t.alerts.c.id == alert_id, t.alerts.c.attempts == attempt)
            .values(**values)
        )
    return 0 if error else 1


def send(channel: Channel, body: dict[str, Any], *, env: Mapping[str, str], timeout: float) -> str:
    """Send one alert body on one channel now; a note ("" usually) or DeliveryError."""
    if channel.kind == "webhook":
        alert_id = int(body.get("alert_id", 0))
        webhook.send(channel.url, payload.encode(body), alert_id=alert_id, env=env, timeout=timeout)
        return ""
    if channel.kind == "smtp":
        return smtp.send(channel.recipients, body, env=env, timeout=timeout)
    return syslog.send(
        channel.transport, channel.host, channel.port, body, env=env, timeout=timeout
    )
