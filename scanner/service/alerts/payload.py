"""The alert body every channel carries: `shinsa-alert/1`, a stable JSON document.

Its JSON Schema ships beside this module (shinsa-alert-1.schema.json); a test holds the
body to it. A change a receiver could trip on is a new schema name (`shinsa-alert/2`);
fields may be added to `detail` of a drift only. docs/alerts.md shows an example.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from scanner.service.drift import KINDS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.service.drift import Drift

SCHEMA = "shinsa-alert/1"
SCHEMA_FILE = "shinsa-alert-1.schema.json"

#: each drift kind said in English and in Japanese, for the mail and the syslog line
KIND_TEXT: dict[str, tuple[str, str]] = {
    "device_unreachable": ("device unreachable", "機器に到達できない"),
    "identity_changed": ("device identity changed", "機器の同一性が変化"),
    "new_device": ("new device", "新しい機器"),
    "service_opened": ("service opened", "サービスが開いた"),
    "new_failure": ("new failure", "新たな不適合"),
    "status_regression": ("requirement status regressed", "要件の適合状況が悪化"),
    "cert_expiring": ("certificate expiring", "証明書の期限が近い"),
    "service_closed": ("service closed", "サービスが閉じた"),
    "fixed": ("fixed", "是正済み"),
}


def kind_text(kind: str, *, ja: bool = False) -> str:
    pair = KIND_TEXT.get(kind)
    return kind if pair is None else pair[1 if ja else 0]


def timestamp(at: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the second (what receivers and SIEMs parse)."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")


def ordered(drifts: Iterable[Drift]) -> list[Drift]:
    """Worst news first (the order of KINDS), then by address and subject: stable bodies."""
    rank = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(drifts, key=lambda d: (rank.get(d.kind, len(KINDS)), d.address, d.subject))


def build(
    *,
    alert_id: int,
    run_id: str,
    site: str,
    schedule_id: int | None,
    schedule_name: str | None,
    created: datetime,
    drifts: Iterable[Drift],
) -> dict[str, Any]:
    """The `shinsa-alert/1` body for these drifts (already filtered to the chosen kinds)."""
    items = ordered(drifts)
    counts: dict[str, int] = {}
    for d in items:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    schedule = None if schedule_id is None else {"id": schedule_id, "name": schedule_name or ""}
    return {
        "schema": SCHEMA,
        "alert_id": alert_id,
        "run_id": run_id,
        "site": site,
        "schedule": schedule,
        "created": timestamp(created),
        "drift": [d.to_json() for d in items],
        "counts": counts,
        "links": {"run": f"/runs/{run_id}"},
    }


def encode(body: dict[str, Any]) -> bytes:
    """The bytes sent (and signed): compact, keys in a fixed order, UTF-8 as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the body."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def summary(body: dict[str, Any], *, ja: bool = False) -> str:
    """One line for a subject or a syslog message: how many changes of which kinds."""
    counts: dict[str, int] = body.get("counts", {})
    total = sum(counts.values())
    kinds = ", ".join(f"{kind_text(kind, ja=ja)} {n}" for kind, n in counts.items())
    site, run = body.get("site", ""), body.get("run_id", "")
    if ja:
        return f"shinsa: サイト {site} で変化 {total} 件 ({kinds}) 実行 {run}"
    noun = "change" if total == 1 else "changes"
    return f"shinsa: {total} {noun} on site {site} ({kinds}) in run {run}"
