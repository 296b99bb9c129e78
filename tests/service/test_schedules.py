"""Schedules: cron in a time zone across daylight saving, maintenance windows (crossing
midnight, in the schedule's zone), the rows, the lease (two takers racing: one wins), and a
missed run firing once; the rows and the lease on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from scanner.errors import ConfigError
from scanner.service import schedules
from scanner.service.schedules import Definition, Window

if TYPE_CHECKING:
    from pathlib import Path

    import sqlalchemy as sa

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[arg-type, misc]


# --- next_fire ------------------------------------------------------------------------


def test_next_fire_in_utc_and_in_a_zone() -> None:
    after = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert schedules.next_fire("0 2 * * *", "UTC", after) == datetime(2026, 6, 2, 2, tzinfo=UTC)
    # 09:00 in Tokyo is midnight UTC
    fire = schedules.next_fire("0 9 * * *", "Asia/Tokyo", after)
    assert fire == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)
    assert fire.tzinfo is UTC
    # weekdays: Saturday 2026-06-06 after noon -> Monday 2026-06-08
    sat = datetime(2026, 6, 6, 12, tzinfo=UTC)
    assert schedules.next_fire("30 1 * * mon-fri", "UTC", sat) == datetime(
        2026, 6, 8, 1, 30, tzinfo=UTC
    )


def test_next_fire_strictly_after() -> None:
    exact = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)
    assert schedules.next_fire("0 2 * * *", "UTC", exact) == exact + timedelta(days=1)


def test_next_fire_spring_forward_fires_once_after_the_gap() -> None:
    # 2026-03-29 02:30 does not exist in Berlin (02:00 -> 03:00): fired at 03:00 CEST
    fire = schedules.next_fire("30 2 * * *", "Europe/Berlin", at(BERLIN, 2026, 3, 28, 12))
    assert fire == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    after = schedules.next_fire("30 2 * * *", "Europe/Berlin", fire)
    assert after == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_next_fire_fall_back_daily_fires_once_hourly_fires_twice() -> None:
    # 2026-10-25 02:30 happens twice in Berlin (CEST then CET): a daily job runs once
    first = schedules.next_fire("30 2 * * *", "Europe/Berlin", at(BERLIN, 2026, 10, 24, 12))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = schedules.next_fire("30 2 * * *", "Europe/Berlin", first)
    assert second == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    # every hour: the repeated hour is an hour of elapsed time too
    fires = []
    moment = at(BERLIN, 2026, 10, 25, 1, 30)
    for _ in range(3):
        moment = schedules.next_fire("0 * * * *", "Europe/Berlin", moment)
        fires.append(moment)
    assert fires == [
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),  # 02:00 CEST
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 02:00 CET
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),  # 03:00 CET
    ]


@pytest.mark.parametrize("expr", ["", "x", "0 2 * *", "0 0 2 * * *", "61 * * * *"])
def test_bad_cron_refused(expr: str) -> None:
    with pytest.raises(ConfigError, match="cron expression"):
        schedules.next_fire(expr, "UTC", datetime(2026, 1, 1, tzinfo=UTC))


def test_bad_zone_refused() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        schedules.next_fire("0 2 * * *", "Mars/Olympus", datetime(2026, 1, 1, tzinfo=UTC))


# --- windows ----------------------------------------------------------------------------


def test_parse_window_and_days() -> None:
    w = schedules.parse_window("mon-fri 22:00-06:00")
    assert w.days == frozenset(range(5))
    assert (w.start, w.end) == (time(22), time(6))
    assert w.crosses_midnight
    assert str(w) == "mon,tue,wed,thu,fri 22:00-06:00"
    assert schedules.parse_window("01:00-03:30").days == frozenset(range(7))
    assert schedules.parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert schedules.parse_days("sat,sun") == frozenset({5, 6})
    assert schedules.window_from_json(w.to_json()) == w
    for bad in ("funday 01:00-02:00", "mon 25:00-02:00", "mon 01:00", "mon 02:00-02:00", ""):
        with pytest.raises(ConfigError):
            schedules.parse_window(bad)


def test_in_window_crossing_midnight_in_its_zone() -> None:
    nights = [schedules.parse_window("mon-fri 22:00-06:00")]
    # 2026-06-02 is a Tuesday
    assert schedules.in_window(nights, at(TOKYO, 2026, 6, 2, 23, 0), "Asia/Tokyo")
    assert schedules.in_window(nights, at(TOKYO, 2026, 6, 3, 5, 59), "Asia/Tokyo")
    assert not schedules.in_window(nights, at(TOKYO, 2026, 6, 3, 6, 0), "Asia/Tokyo")
    assert not schedules.in_window(nights, at(TOKYO, 2026, 6, 2, 21, 59), "Asia/Tokyo")
    # Friday night's window runs into Saturday morning; Sunday night has none
    assert schedules.in_window(nights, at(TOKYO, 2026, 6, 6, 5, 0), "Asia/Tokyo")
    assert not schedules.in_window(nights, at(TOKYO, 2026, 6, 6, 23, 0), "Asia/Tokyo")
    assert not schedules.in_window(nights, at(TOKYO, 2026, 6, 8, 5, 0), "Asia/Tokyo")
    # the same instant read in UTC is 14:00: outside a UTC night window
    assert not schedules.in_window(nights, at(TOKYO, 2026, 6, 2, 23, 0), "UTC")
    assert schedules.in_window([], datetime(2026, 6, 2, 12, tzinfo=UTC))


def test_window_close() -> None:
    nights = [schedules.parse_window("mon-fri 22:00-06:00")]
    close = schedules.window_close(nights, at(TOKYO, 2026, 6, 2, 23, 0), "Asia/Tokyo")
    assert close == at(TOKYO, 2026, 6, 3, 6, 0)
    assert close is not None
    assert close.tzinfo is UTC
    # two windows that touch are one
    joined = [*nights, schedules.parse_window("daily 06:00-07:30")]
    close = schedules.window_close(joined, at(TOKYO, 2026, 6, 2, 23, 0), "Asia/Tokyo")
    assert close == at(TOKYO, 2026, 6, 3, 7, 30)
    assert schedules.window_close([], datetime(2026, 6, 2, tzinfo=UTC)) is None
    outside = at(TOKYO, 2026, 6, 2, 12, 0)
    assert schedules.window_close(nights, outside, "Asia/Tokyo") == outside


def test_window_across_the_dst_change() -> None:
    # Berlin, the night the clocks go back: 22:00 CEST to 06:00 CET is nine hours
    night = [Window(frozenset(range(7)), time(22), time(6))]
    opens = at(BERLIN, 2026, 10, 24, 22, 0)
    close = schedules.window_close(night, opens, "Europe/Berlin")
    assert close is not None
    assert close - opens == timedelta(hours=9)


# --- rows -------------------------------------------------------------------------------


def _definition(*targets: str) -> Definition:
    return Definition(targets=targets or ("127.0.93.10",), ports="22,80", profile="base")


def test_add_list_pause_resume_remove(any_engine: sa.Engine) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    added = schedules.add(
        any_engine,
        name="nightly",
        cron="0 2 * * *",
        tz="Asia/Tokyo",
        definition=_definition(),
        site="plant-1",
        windows=[schedules.parse_window("daily 01:00-05:00")],
        jitter=30,
        drift_kinds=["new_failure", "service_opened"],
        now=now,
    )
    assert added.next_run == datetime(2026, 6, 1, 17, 0, tzinfo=UTC)  # 02:00 JST
    assert added.definition.targets == ("127.0.93.10",)
    assert added.site == "plant-1"
    assert added.windows[0].start == time(1)
    assert [s.name for s in schedules.list_all(any_engine)] == ["nightly"]
    with pytest.raises(ConfigError, match="exists already"):
        schedules.add(any_engine, name="nightly", cron="0 3 * * *", definition=_definition())
    assert schedules.pause(any_engine, "nightly").paused
    assert schedules.due(any_engine, now + timedelta(days=2)) == []
    later = now + timedelta(days=3)
    resumed = schedules.resume(any_engine, "nightly", now=later)
    assert not resumed.paused
    assert resumed.next_run == datetime(2026, 6, 4, 17, 0, tzinfo=UTC)  # not made up for
    schedules.remove(any_engine, "nightly")
    assert schedules.get(any_engine, "nightly") is None
    with pytest.raises(ConfigError, match="no schedule named"):
        schedules.pause(any_engine, "nightly")


def test_add_checks_the_definition(any_engine: sa.Engine, tmp_path: Path) -> None:
    for bad, match in (
        (Definition(targets=("not an address!",)), "not an address"),
        (Definition(targets=("127.0.93.10",), ports="99999"), "99999"),
        (Definition(targets=("127.0.93.10",), profile="no-such-profile"), "no-such-profile"),
        (Definition(targets=("127.0.93.10",), formats=("pdf",)), "format"),
        (Definition(targets=("127.0.93.10",), options={"rm_rf": True}), "unknown scan option"),
        (Definition(targets=("-",)), "standard input"),
    ):
        with pytest.raises(ConfigError, match=match):
            schedules.add(any_engine, name="x", cron="0 2 * * *", definition=bad)
    with pytest.raises(ConfigError, match="drift kind"):
        schedules.add(
            any_engine, name="x", cron="0 2 * * *", definition=_definition(), drift_kinds=["nope"]
        )
    with pytest.raises(ConfigError):
        schedules.add(
            any_engine, name="x", cron="0 2 * * *", definition=_definition(), alerts=["pigeon:coo"]
        )
    assert schedules.list_all(any_engine) == []
    # an inventory file is kept by its absolute path: the service runs from elsewhere
    inventory = tmp_path / "plant.txt"
    inventory.write_text("127.0.93.11 lobby-cam profile=base\n", encoding="utf-8")
    made = schedules.add(
        any_engine,
        name="inv",
        cron="0 2 * * *",
        definition=Definition(targets=("@" + str(inventory),)),
    )
    assert made.definition.targets == ("@" + str(inventory.resolve()),)


def test_scan_arguments() -> None:
    d = Definition(
        targets=("127.0.93.10", "@/x/inv.txt"),
        ports="22",
        profile="base",
        formats=("json", "html"),
        options={"scan_delay": 0.5, "exclude": ["127.0.93.9"], "no_browser": True},
    )
    assert d.scan_arguments() == [
        "127.0.93.10",
        "@/x/inv.txt",
        "--profile",
        "base",
        "--format",
        "json,html",
        "-p",
        "22",
        "--exclude",
        "127.0.93.9",
        "--no-browser",
        "--scan-delay",
        "0.5",
    ]
    assert Definition.from_json(d.to_json()) == d


def test_baseline_and_drift_persistence_are_kept_and_checked(any_engine: sa.Engine) -> None:
    plain = schedules.add(any_engine, name="plain", cron="0 2 * * *", definition=_definition())
    assert (plain.baseline, plain.drift_persist) == ("default", 2)
    own = schedules.add(
        any_engine,
        name="own",
        cron="0 2 * * *",
        definition=_definition(),
        baseline="after-retrofit",
        drift_persist=4,
    )
    found = schedules.get(any_engine, "own")
    assert found is not None
    assert (found.baseline, found.drift_persist) == ("after-retrofit", 4)
    assert (own.baseline, own.drift_persist) == ("after-retrofit", 4)
    for persist, baseline in ((0, "default"), (31, "default"), (2, " ")):
        with pytest.raises(ConfigError):
            schedules.add(
                any_engine,
                name="bad",
                cron="0 2 * * *",
                definition=_definition(),
                baseline=baseline,
                drift_persist=persist,
            )
    assert schedules.get(any_engine, "bad") is None


def test_lease_one_holder_at_a_time(any_engine: sa.Engine) -> None:
    s = schedules.add(any_engine, name="l", cron="0 2 * * *", definition=_definition())
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert schedules.take_lease(any_engine, s.id, "a", seconds=60, now=now)
    assert not schedules.take_lease(
        any_engine, s.id, "b", seconds=60, now=now + timedelta(seconds=30)
    )
    assert not schedules.renew_lease(any_engine, s.id, "b", seconds=60, now=now)
    assert schedules.renew_lease(any_engine, s.id, "a", seconds=60, now=now + timedelta(seconds=50))
    assert not schedules.take_lease(
        any_engine, s.id, "b", seconds=60, now=now + timedelta(seconds=90)
    )
    assert schedules.lease_holder(any_engine, s.id, now + timedelta(seconds=100)) == "a"
    # a holder that died: its lease runs out and another takes it
    assert schedules.take_lease(any_engine, s.id, "b", seconds=60, now=now + timedelta(seconds=111))
    schedules.release_lease(any_engine, s.id, "a")  # not a's any more: nothing happens
    assert schedules.lease_holder(any_engine, s.id, now + timedelta(seconds=112)) == "b"
    schedules.release_lease(any_engine, s.id, "b")
    assert schedules.lease_holder(any_engine, s.id, now + timedelta(seconds=112)) is None
    assert schedules.take_lease(any_engine, s.id, "c", seconds=60, now=now + timedelta(seconds=113))


def test_missed_runs_fire_once(any_engine: sa.Engine) -> None:
    week_ago = datetime(2026, 6, 1, 12, tzinfo=UTC)
    schedules.add(any_engine, name="m", cron="0 * * * *", definition=_definition(), now=week_ago)
    now = week_ago + timedelta(days=7)
    due = schedules.due(any_engine, now)
    assert [d.name for d in due] == ["m"]  # once, for 168 missed hours
    fire = schedules.advance(any_engine, due[0], now)
    assert fire == datetime(2026, 6, 8, 13, 0, tzinfo=UTC)
    assert schedules.due(any_engine, now) == []


def test_two_takers_racing_for_the_lease_one_wins(any_engine: sa.Engine) -> None:
    # Two schedulers (threads with connections of their own) reach for the lease at the
    # same moment, round after round: exactly one wins each round, on either database.
    s = schedules.add(any_engine, name="race", cron="0 2 * * *", definition=_definition())
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)

    def take(owner: str, at: datetime, gate: threading.Barrier, won: list[str]) -> None:
        gate.wait(timeout=10)
        if schedules.take_lease(any_engine, s.id, owner, seconds=30, now=at):
            won.append(owner)

    for round_ in range(20):
        now = start + timedelta(minutes=round_)  # the last round's lease has expired
        gate = threading.Barrier(2)
        won: list[str] = []
        threads = [
            threading.Thread(target=take, args=(f"{who}{round_}", now, gate, won)) for who in "ab"
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(won) == 1, (round_, won)
        assert schedules.lease_holder(any_engine, s.id, now) == won[0]
