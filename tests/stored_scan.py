"""One engine scan into a fresh store, for tests that run `scanner.engine.scan` in-process:
the run started as the command line starts it, the results and each target's state back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.engine import scan
from scanner.reporter import Reporter
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path

    from scanner.engine import ScanRequest
    from scanner.model import Result


@dataclass(frozen=True, slots=True)
class StoredRun:
    results: list[Result]
    states: list[str]  # each target's state in the store, in target order ("done", ...)


async def stored_scan(
    request: ScanRequest, store_path: Path, reporter: Reporter | None = None
) -> StoredRun:
    with Store(store_path) as store:
        store.start_run(
            "r",
            profile_id=request.profile.id,
            profile_digest=request.profile.digest,
            scanner_version="test",
            request={},
            targets=[(t.address, t.label) for t in request.targets],
        )
        await scan(request, store, "r", reporter or Reporter())
        return StoredRun(store.results("r"), [state for _, _, state in store.targets("r")])
