"""The time zone the dashboard shows times in, and times shown in it.

`shinsa serve --tz ZONE` (or `SHINSA_TZ`) names it for everyone. Without it a Japanese page
shows Japan time, as the Japanese report does (scanner/judging/report_meta.py), and an
English page this machine's zone (UTC when the machine names none): an auditor reads
"02:30 JST", not a UTC time to convert. Every column header says which zone it is in.
The database keeps UTC; the REST API answers in UTC (ISO 8601 with its offset).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scanner.judging.report_meta import local_zone, zone

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

#: the Japanese pages' zone when the service names none
JAPAN = "Asia/Tokyo"


def display_zone(configured: str, lang: str) -> ZoneInfo:
    """The zone a page in `lang` shows times in; `configured` ("" for none) wins."""
    if configured:
        return zone(configured)
    return zone(JAPAN if lang == "ja" else local_zone() or "UTC")


def label(tz: ZoneInfo, at: datetime | None = None) -> str:
    """The zone's short name at `at` (now by default), as a column header shows it: JST,
    UTC, CET or CEST; a zone without an abbreviation gives its offset (+07)."""
    return (at or datetime.now(UTC)).astimezone(tz).tzname() or tz.key


def local(value: datetime, tz: ZoneInfo) -> datetime:
    """`value` in `tz`; a naive value is UTC (SQLite drops the zone of what it stores)."""
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(tz)


def shown(value: datetime | None, tz: ZoneInfo) -> str:
    """`value` in `tz`, to the minute ("" for none)."""
    return "" if value is None else local(value, tz).strftime("%Y-%m-%d %H:%M")
