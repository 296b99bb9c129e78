"""How a report shows a date and time: in one time zone, chosen once per report.

The zone is the one the reader was told (`--tz`, a profile's `report.timezone`); else, for
a Japanese report, Japan's (a Japanese reader expects JST and a scan run on a UTC server
would otherwise show times nine hours off); else the zone the scan ran in, as it recorded
it; else UTC. Every time shows its zone, so a reader never has to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

JAPAN = "Asia/Tokyo"


def zone_name(lang: str, told: str, recorded: str) -> str:
    """The IANA name a report of `lang` shows its times in (see the module's docstring)."""
    if told:
        return told
    if lang == "ja":
        return JAPAN
    return recorded or "UTC"


@dataclass(frozen=True, slots=True)
class Clock:
    """Formats every date and time of one report in its zone and language."""

    zone: str  # IANA name
    lang: str

    @property
    def tz(self) -> tzinfo:
        return UTC if self.zone == "UTC" else ZoneInfo(self.zone)

    def local(self, t: datetime) -> datetime:
        # a naive time is read as UTC: the store writes UTC
        return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).astimezone(self.tz)

    def time(self, t: datetime | None) -> str:
        """`2026-11-28 19:15 JST` (English) or `2026年11月28日 19:15 JST` (Japanese)."""
        if t is None:
            return ""
        lt = self.local(t)
        abbrev = lt.tzname() or ""
        if not abbrev or abbrev[0] in "+-":  # zones with no abbreviation: the offset
            abbrev = "UTC" + lt.strftime("%z")[:3] + ":" + lt.strftime("%z")[3:]
        return f"{self.day(lt.date())} {lt:%H:%M} {abbrev}"

    def day(self, d: date | None) -> str:
        """`2026-11-28` or `2026年11月28日`."""
        if d is None:
            return ""
        if self.lang == "ja":
            return f"{d.year}年{d.month}月{d.day}日"
        return d.isoformat()

    def date_of(self, t: datetime | None) -> str:
        """The local date of a time."""
        return self.day(self.local(t).date()) if t is not None else ""
