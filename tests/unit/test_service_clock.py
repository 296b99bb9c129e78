"""The zone the dashboard shows times in (scanner/service/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanner.errors import ConfigError
from scanner.service import clock


def test_japanese_pages_default_to_japan_time_english_to_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert clock.display_zone("", "ja").key == "Asia/Tokyo"
    assert clock.display_zone("", "en").key == "Europe/Berlin"
    assert clock.display_zone("UTC", "ja").key == "UTC"  # the service's choice wins
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")  # a machine naming no real zone: UTC
    assert clock.display_zone("", "en").key == "UTC"
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        clock.display_zone("../etc/passwd", "en")


def test_shown_in_the_zone_with_its_name_through_summer_time() -> None:
    berlin = clock.display_zone("Europe/Berlin", "en")
    winter = datetime(2026, 12, 6, 23, 30)  # naive: UTC, as SQLite gives it back
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert clock.shown(winter, berlin) == "2026-12-07 00:30"
    assert clock.shown(summer, berlin) == "2026-07-01 14:00"
    assert clock.label(berlin, winter.replace(tzinfo=UTC)) == "CET"
    assert clock.label(berlin, summer) == "CEST"
    assert clock.label(clock.display_zone("Asia/Tokyo", "en")) == "JST"
    assert clock.shown(None, berlin) == ""
