"""Who and what a report is about: the title block of the report a maker hands over.

Product, model, firmware, the test organisation, the tester and the customer come from a
profile's `report:` section and from the command line (`--product` …, which wins, field by
field); the scan stores the command line's with the run, so `shinsa report` renders the same
title block again. `timezone` is the IANA zone the report's dates are shown in when one is
given (`--tz`, or the profile); the scan also records the zone it ran in (`local_zone`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scanner import yaml_typed
from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scanner.model import JSONValue

#: the title block's fields, in the order it shows them
FIELDS = ("product", "model", "firmware", "organisation", "tester", "customer", "timezone")
_MAX = 200  # characters of one field: a title block line, never a page


@dataclass(frozen=True, slots=True)
class ReportMeta:
    product: str = ""
    model: str = ""
    firmware: str = ""
    organisation: str = ""  # the test organisation
    tester: str = ""
    customer: str = ""
    timezone: str = ""  # IANA name (Asia/Tokyo); "" = not told

    def over(self, base: ReportMeta) -> ReportMeta:
        """`base` with every field this one sets put over it (the command line over the
        profile)."""
        return dataclasses.replace(base, **{k: v for k, v in self.to_json().items() if v})

    def to_json(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in FIELDS}

    @property
    def empty(self) -> bool:
        return not any(getattr(self, k) for k in FIELDS if k != "timezone")


#: no title block at all: the default of every field that holds one
NO_META = ReportMeta()


def zone(name: str, where: str = "--tz") -> ZoneInfo:
    """The IANA time zone `name`; an unknown one is a ConfigError saying so."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"{where}: {yaml_typed.shown(name)} is not an IANA time zone name "
            "(e.g. Asia/Tokyo, Europe/Berlin, UTC)"
        ) from None


def checked(meta: ReportMeta, where: str = "--tz") -> ReportMeta:
    """`meta` with its time zone known to exist (the command line's values)."""
    if meta.timezone:
        zone(meta.timezone, where)
    for key in FIELDS:
        if len(getattr(meta, key)) > _MAX:
            raise ConfigError(f"--{key}: longer than {_MAX} characters")
    return meta


def parse(profile: dict[str, Any]) -> ReportMeta:
    """A profile's `report:` section: a mapping of the FIELDS, each a line of text."""
    raw = profile.get("report")
    if raw is None:
        return NO_META
    if not isinstance(raw, dict):
        wanted = "a mapping of " + ", ".join(FIELDS)
        raise yaml_typed.wrong(yaml_typed.at(profile, "report"), "report", wanted, raw)
    yaml_typed.only_keys(raw, FIELDS, "report")
    values: dict[str, Any] = {}
    for key in FIELDS:
        value = yaml_typed.optional_text(raw, key, f"report.{key}")
        if value is None:
            continue
        if len(value) > _MAX or "\n" in value.strip():
            raise ConfigError(
                f"{yaml_typed.at(raw, key)}: report.{key}: one line of at most {_MAX} characters"
            )
        values[key] = value.strip()
    meta = ReportMeta(**values)
    if meta.timezone:
        zone(meta.timezone, f"{yaml_typed.at(raw, 'timezone')}: report.timezone")
    return meta


def from_json(raw: JSONValue | None) -> ReportMeta:
    """The metadata a scan stored with its run (unknown keys and non-text values ignored:
    an older or newer shinsa's run still renders)."""
    if not isinstance(raw, dict):
        return NO_META
    return ReportMeta(**{k: v for k, v in raw.items() if k in FIELDS and isinstance(v, str)})


def local_zone(environ: Mapping[str, str] | None = None) -> str:
    """The IANA name of this machine's time zone, as a scan records it: $TZ when it names
    one, else /etc/localtime's target; "" when neither says."""
    env = os.environ if environ is None else environ
    tz = env.get("TZ", "").removeprefix(":")
    if tz:
        try:
            return zone(tz).key
        except ConfigError:
            return ""
    try:
        target = Path("/etc/localtime").resolve(strict=True)
    except OSError:
        return ""
    parts = target.parts
    if "zoneinfo" in parts:
        name = "/".join(parts[parts.index("zoneinfo") + 1 :])
        try:
            return zone(name).key
        except ConfigError:
            return ""
    return ""
