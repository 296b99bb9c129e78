"""Results and services to plain JSON-able dicts and back (store rows, the JSON report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from scanner.model import Evidence, JSONValue, Result, Service, Transport, Verdict


def service_to_dict(s: Service) -> dict[str, JSONValue]:
    return {
        "transport": s.transport,
        "port": s.port,
        "protocol": s.protocol,
        "banner": s.banner,
        "tls": s.tls,
        "product": s.product,
        "note": s.note,
    }


def service_from_dict(d: dict[str, Any]) -> Service:
    return Service(
        transport=cast("Transport", d["transport"]),
        port=int(d["port"]),
        protocol=str(d.get("protocol", "unknown")),
        banner=str(d.get("banner", "")),
        tls=bool(d.get("tls", False)),
        product=str(d.get("product", "")),
        note=str(d.get("note", "")),
    )


def evidence_to_dict(e: Evidence) -> dict[str, JSONValue]:
    return {"kind": e.kind, "summary": e.summary, "details": dict(e.details)}


def _stored_evidence(e: Evidence) -> dict[str, JSONValue]:
    """Evidence as the store keeps it: the report form and its Japanese summary (the
    report schemas' evidence objects stay as they are; the reports pick the language)."""
    return {**evidence_to_dict(e), "summary_ja": e.summary_ja}


def result_to_dict(r: Result) -> dict[str, JSONValue]:
    """A result as the store keeps it (one JSON row; `result_from_dict` reads it back)."""
    return {
        "check_id": r.check_id,
        "target": r.target,
        "service": service_to_dict(r.service) if r.service else None,
        "verdict": r.verdict.value,
        "reason": r.reason,
        "reason_ja": r.reason_ja,
        "evidence": [_stored_evidence(e) for e in r.evidence],
        "started": r.started.isoformat() if r.started else None,
        "duration": r.duration,
    }


def result_from_dict(d: dict[str, Any]) -> Result:
    """A stored result; a row written before results carried Japanese reads it as ""."""
    svc = d.get("service")
    started = d.get("started")
    return Result(
        check_id=str(d["check_id"]),
        target=str(d["target"]),
        service=service_from_dict(svc) if svc else None,
        verdict=Verdict(d["verdict"]),
        reason=str(d["reason"]),
        evidence=tuple(
            Evidence(
                str(e["kind"]),
                str(e["summary"]),
                dict(e.get("details") or {}),
                str(e.get("summary_ja") or ""),
            )
            for e in d.get("evidence") or []
        ),
        started=datetime.fromisoformat(started) if started else None,
        duration=float(d["duration"]) if d.get("duration") is not None else None,
        reason_ja=str(d.get("reason_ja") or ""),
    )
