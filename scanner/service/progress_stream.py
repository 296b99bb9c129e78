"""Live progress of a run as server-sent events (GET /runs/{id}/events).

About once a second the run's row is read (`status`, `devices_done`, `devices_total`: the
runner writes them while the child scan goes) and, when something changed or a while has
passed, sent as

    event: progress
    data: {"status": "running", "done": 3, "total": 10, "final": false, "text": "..."}

The stream ends with `event: done` (same data) once the status is final, with
`event: done` and `"status": "unknown"` if the run disappears (pruned), and by itself after
`max_seconds` (a browser's EventSource reconnects, which costs one more request, while a
stream held open forever by an abandoned tab would cost a thread's worth of reads for ever).
A client that goes away ends the loop at its next tick: the ASGI server cancels the response
and the loop also asks `is_disconnected`.

The row is read with a primary-key lookup in a worker thread (the event loop never waits on
the database); the browser's side is static/run-progress.js.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from scanner.service import schema as t

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

#: statuses after which a run changes no more
FINAL = frozenset({"complete", "incomplete", "interrupted", "crashed", "stopped"})
INTERVAL = 1.0  # seconds between reads of the run's row
KEEPALIVE = 10.0  # seconds after which an unchanged state is sent again (proxies' idle cut)
MAX_SECONDS = 3600.0  # a stream's longest life; EventSource reconnects after it
RETRY_MS = 3000  # how long a browser waits before reconnecting after a cut


@dataclass(frozen=True, slots=True)
class Progress:
    status: str  # the runs table's status; "unknown" for a run that is not there
    done: int
    total: int

    @property
    def final(self) -> bool:
        return self.status in FINAL or self.status == "unknown"


def read(engine: sa.Engine, run_id: str) -> Progress:
    """The run's progress now (one primary-key lookup)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.runs.c.status, t.runs.c.devices_done, t.runs.c.devices_total).where(
                t.runs.c.id == run_id
            )
        ).first()
    if row is None:
        return Progress("unknown", 0, 0)
    return Progress(str(row.status), int(row.devices_done), int(row.devices_total))


def event(name: str, progress: Progress, text: str) -> str:
    """One server-sent event; the data is one line of JSON (no newline can end it early)."""
    data = json.dumps(
        {
            "status": progress.status,
            "done": progress.done,
            "total": progress.total,
            "final": progress.final,
            "text": text,
        },
        ensure_ascii=False,
    )
    return f"event: {name}\ndata: {data}\n\n"


async def stream(
    engine: sa.Engine,
    run_id: str,
    *,
    describe: Callable[[Progress], str],
    is_disconnected: Callable[[], Awaitable[bool]],
    interval: float = INTERVAL,
    max_seconds: float = MAX_SECONDS,
    keepalive: float = KEEPALIVE,
) -> AsyncIterator[str]:
    """The events of one run (see the module's docstring). `describe` words a progress in
    the reader's language for the page's text line."""
    yield f"retry: {RETRY_MS}\n\n"
    deadline = time.monotonic() + max_seconds
    last: Progress | None = None
    last_sent = 0.0
    while True:
        progress = await asyncio.to_thread(read, engine, run_id)
        now = time.monotonic()
        if progress.final:
            yield event("done", progress, describe(progress))
            return
        if progress != last or now - last_sent >= keepalive:
            yield event("progress", progress, describe(progress))
            last, last_sent = progress, now
        if now >= deadline or await is_disconnected():
            return
        await asyncio.sleep(min(interval, max(0.0, deadline - now)))
