"""Accepting baselines: a whole run or one device; a newer acceptance deactivates the older
of the same scope; `latest`; refusals; the audit row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scanner.errors import ConfigError
from scanner.service import baselines
from scanner.service import schema as t

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def add_run(
    engine: sa.Engine, run_id: str, hours: int, *, status: str = "complete", site: str = "default"
) -> None:
    """A run with two devices (IDs 1 and 2 at .50 and .51), as the importer writes one."""
    started = T0 + timedelta(hours=hours)
    with engine.begin() as conn:
        for device_id, address in ((1, "127.0.94.50"), (2, "127.0.94.51")):
            if conn.execute(sa.select(t.devices.c.id).where(t.devices.c.id == device_id)).first():
                continue
            conn.execute(
                t.devices.insert().values(
                    id=device_id, site=site, address=address, first_seen=started, last_seen=started
                )
            )
        conn.execute(
            t.runs.insert().values(
                id=run_id,
                site=site,
                trigger="cli",
                started=started,
                status=status,
                profile_id="base",
                profile_digest="x",
                scanner_version="test",
                request={},
                summary={},
            )
        )
        for device_id, address in ((1, "127.0.94.50"), (2, "127.0.94.51")):
            conn.execute(
                t.run_devices.insert().values(
                    run_id=run_id,
                    device_id=device_id,
                    address=address,
                    state="done",
                    summary={},
                    started=started,
                )
            )


def rows(engine: sa.Engine) -> list[tuple[str, int | None, bool]]:
    b = t.baselines
    with engine.connect() as conn:
        return [
            (r.run_id, r.device_id, bool(r.active))
            for r in conn.execute(sa.select(b).order_by(b.c.id))
        ]


def test_a_whole_run_then_a_device_then_a_whole_run_again(any_engine: sa.Engine) -> None:
    engine = any_engine
    for n in range(3):
        add_run(engine, f"r{n}", n)
    whole = baselines.accept(engine, "r0", by="cli")
    assert (whole.run_id, whole.device_id, whole.deactivated) == ("r0", None, 0)
    one = baselines.accept(engine, "r1", device="127.0.94.51", by="user:alice")
    assert (one.device_id, one.address, one.deactivated) == (2, "127.0.94.51", 0)
    again = baselines.accept(engine, "r1", device="127.0.94.51", by="user:alice")
    assert again.deactivated == 1  # the same device's older acceptance
    with engine.connect() as conn:
        active = baselines.active(conn, site="default")
    assert {k: v.run_id for k, v in active.items()} == {None: "r0", 2: "r1"}
    # a newer whole-run acceptance covers every device: their own ones end too
    last = baselines.accept(engine, "latest", by="cli")
    assert (last.run_id, last.deactivated) == ("r2", 2)
    assert rows(engine) == [
        ("r0", None, False),
        ("r1", 2, False),
        ("r1", 2, False),
        ("r2", None, True),
    ]
    with engine.connect() as conn:
        audit = conn.execute(sa.select(t.audit_log.c.actor, t.audit_log.c.action)).all()
    assert [tuple(a) for a in audit] == [
        ("cli", "baseline.accept"),
        ("user:alice", "baseline.accept"),
        ("user:alice", "baseline.accept"),
        ("cli", "baseline.accept"),
    ]


def test_names_and_sites_are_separate_scopes(any_engine: sa.Engine) -> None:
    engine = any_engine
    add_run(engine, "r0", 0)
    add_run(engine, "r1", 1)
    baselines.accept(engine, "r0", by="cli")
    baselines.accept(engine, "r1", by="cli", name="after-commissioning")
    with engine.connect() as conn:
        assert baselines.active(conn, site="default")[None].run_id == "r0"
        assert baselines.active(conn, site="default", name="after-commissioning")[None].run_id == (
            "r1"
        )
        assert baselines.active(conn, site="plant-2") == {}


def test_latest_skips_runs_still_going(any_engine: sa.Engine) -> None:
    engine = any_engine
    add_run(engine, "done", 0)
    add_run(engine, "going", 1, status="running")
    assert baselines.resolve_run(engine, "latest") == "done"
    assert baselines.resolve_run(engine, "going") == "going"
    with pytest.raises(ConfigError, match="is running"):
        baselines.accept(engine, "going", by="cli")


def test_refusals_say_what_is_wrong(any_engine: sa.Engine) -> None:
    engine = any_engine
    with pytest.raises(ConfigError, match="no finished run"):
        baselines.resolve_run(engine, "latest")
    add_run(engine, "r0", 0)
    with pytest.raises(ConfigError, match="'nope' is not in the database"):
        baselines.accept(engine, "nope", by="cli")
    with pytest.raises(ConfigError, match=r"no device at 127\.0\.94\.99"):
        baselines.accept(engine, "r0", device="127.0.94.99", by="cli")
    assert rows(engine) == []
