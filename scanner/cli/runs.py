"""The runs in an output directory's store, by ID or by alias, and the stable paths a CI
reads their reports from.

`latest` is the run started last, `previous` the one before it; both are accepted wherever a
run ID is (`report`, `diff`, `scan --resume`). After each scan `OUT/latest` is a symbolic link
to that run's directory (`OUT/RUN_ID`, relative, so the output directory can be moved); where
the file system cannot make one, `OUT/latest` is a directory holding copies of the reports.
`--report-dir DIR` copies a run's reports to `DIR/report.*` as well.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports import FORMATS
from scanner import atomic
from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from scanner.store import Store

ALIASES = ("latest", "previous")
LATEST = "latest"  # the name of the link (or directory) in OUT
_CHUNK = 1 << 20


def resolve(store: Store, given: str) -> str:
    """The run ID `given` names: itself, or the run an alias stands for."""
    if given not in ALIASES:
        return given
    runs = store.runs()  # oldest first
    back = ALIASES.index(given) + 1
    if len(runs) < back:
        held = f"{len(runs)} run" + ("" if len(runs) == 1 else "s")
        raise ConfigError(f"no {given} run: {store.path} holds {held}")
    return runs[-back].id


@dataclass(frozen=True, slots=True)
class Row:
    run_id: str
    started: str  # local time
    profile: str
    targets: int
    state: str
    exit_code: int | None  # from the run's report.json, when there is one
    alias: str


def rows(store: Store, out: Path) -> list[Row]:
    runs = store.runs()
    alias = {r.id: a for a, r in zip(ALIASES, reversed(runs), strict=False)}
    return [
        Row(
            run_id=r.id,
            started=r.started.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
            profile=str(r.request.get("profile") or r.profile_id),
            targets=len(r.request.get("targets") or ()),
            state=r.status,
            exit_code=_exit_code(out / r.id / "report.json"),
            alias=alias.get(r.id, ""),
        )
        for r in runs
    ]


def _exit_code(report: Path) -> int | None:
    """The exit code the run's JSON report records (the default code, without --fail-on)."""
    try:
        with report.open(encoding="utf-8") as f:
            code = json.load(f)["summary"]["exit_code"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, int) else None


def render_text(table: Sequence[Row]) -> str:
    if not table:
        return "no runs\n"
    head = ("RUN ID", "STARTED", "PROFILE", "TARGETS", "STATE", "EXIT", "")
    body = [
        (
            r.run_id,
            r.started,
            r.profile,
            str(r.targets),
            r.state,
            "" if r.exit_code is None else str(r.exit_code),
            r.alias,
        )
        for r in table
    ]
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in (head, *body)
    )


def render_json(table: Sequence[Row]) -> str:
    return (
        json.dumps(
            [
                {
                    "run_id": r.run_id,
                    "started": r.started,
                    "profile": r.profile,
                    "targets": r.targets,
                    "state": r.state,
                    "exit_code": r.exit_code,
                    "alias": r.alias or None,
                }
                for r in table
            ],
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


# --- stable paths ---------------------------------------------------------------------------


def _chunks(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as f:
        while piece := f.read(_CHUNK):
            yield piece


def copy_reports(run_dir: Path, names: Sequence[str], target: Path) -> None:
    """`target/report.*` become the run's reports, all together (atomic.write_all); a
    report file of another format left there by an earlier run is removed, so that the
    directory never mixes two runs."""
    target.mkdir(parents=True, exist_ok=True)
    filenames = [FORMATS[n][0] for n in names]
    atomic.write_all([(target / f, _chunks(run_dir / f)) for f in filenames])
    for stale in {spec[0] for spec in FORMATS.values()} - set(filenames):
        with contextlib.suppress(FileNotFoundError):
            (target / stale).unlink()


def point_latest(out: Path, run_id: str, names: Sequence[str]) -> Path:
    """`OUT/latest` -> the run's directory: a relative symbolic link, replaced atomically;
    a directory of copies where links cannot be made (or where one already is)."""
    link = out / LATEST
    if not link.is_dir() or link.is_symlink():
        tmp = out / f".{LATEST}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            tmp.symlink_to(run_id, target_is_directory=True)
            tmp.replace(link)
            return link
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if link.is_symlink():
                link.unlink()
    copy_reports(out / run_id, names, link)
    return link
