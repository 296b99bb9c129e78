"""`shinsa baseline accept RUN_ID|latest [--device ADDR]` and `shinsa drift RUN_ID|latest
[--json]`: the operator's side of scanner/service/baselines.py and drift.py.

`shinsa drift` prints the drift stored for the run (what the service or `shinsa scan --db`
computed after it); a run with none stored (imported by `shinsa import`) has it computed
against the baseline active now, and stored. `--json` is a list of `Drift.to_json()`
objects in the stored order (against the baseline first, worst news first): the alerts'
shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from scanner.cli.service_parsers import db_url
from scanner.service import baselines, drift
from scanner.service.db import open_db

if TYPE_CHECKING:
    import argparse


def cmd_baseline_accept(args: argparse.Namespace) -> int:
    engine = open_db(db_url(args))
    try:
        done = baselines.accept(engine, args.run_id, device=args.device, by="cli")
    finally:
        engine.dispose()
    scope = f"device {done.address}" if done.address else "every device"
    print(f"baseline {done.name} of site {done.site}: run {done.run_id}, {scope}")
    if done.deactivated:
        print(f"({done.deactivated} older acceptance(s) of the same scope no longer active)")
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    engine = open_db(db_url(args))
    try:
        run_id = baselines.resolve_run(engine, args.run_id)
        found = drift.stored(engine, run_id)
        if not found:  # none stored: computed now (idempotent, so stored as well)
            found = drift.compute_and_store(engine, run_id)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([d.to_json() for d in found], indent=2, ensure_ascii=False))
    else:
        print(render_text(run_id, found), end="")
    return 0


def render_text(run_id: str, found: list[drift.Drift]) -> str:
    """A table per device: kind, against, subject, before -> after, severity."""
    lines = [f"shinsa drift {run_id}"]
    if not found:
        return lines[0] + "\nno drift\n"
    by_device: dict[tuple[str, int], list[drift.Drift]] = {}
    for d in found:
        by_device.setdefault((d.address, d.device_id), []).append(d)
    for (address, device_id), items in sorted(by_device.items()):
        lines.append(f"{address or '(unknown address)'} (device {device_id})")
        width = max(len(d.kind) for d in items)
        for d in items:
            change = f"{d.before or '-'} -> {d.after or '-'}" if d.before or d.after else ""
            parts = [f"  {d.kind:<{width}}", f"{d.against:<8}", d.subject]
            if change:
                parts.append(change)
            if d.severity:
                parts.append(f"[{d.severity}]")
            lines.append("  ".join(parts))
    return "\n".join(lines) + "\n"
