"""The service's scheduler: every few seconds, each unpaused definition whose time has come
is started (inside its maintenance window, after its jitter) and its next time set.

- A missed run runs once: the next time is set to the cron's first time after *now*, not
  after the time missed, so a service down for a week runs each definition once at
  start-up, not once per missed time.
- Never two runs of one definition: the runner's lease (scanner/service/schedules.py),
  which `run-now` and a second service respect too; a definition whose run is still going
  here is not started again.
- Outside every window a due run is not started (its next time is still set: it waits for
  the next one, it does not start the moment a window opens); a run started in a window
  gets the window's close as its deadline, when the runner stops it (SIGINT).
- Cancellation (the service stopping): each running scan is sent SIGINT through the
  runner's stop event, and the loop waits (bounded) for the runs to be recorded.

Each run executes in a worker thread (`runner.execute` is blocking: a child process
followed with one-second polls).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import random
import threading
from typing import TYPE_CHECKING

from scanner.service import runner, schedules
from scanner.service.db import now as utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from pathlib import Path

    import sqlalchemy as sa

    from scanner.service.config import ServiceConfig
    from scanner.service.schedules import Schedule

log = logging.getLogger("shinsa.scheduler")

TICK_SECONDS = 10.0
#: at shutdown, how long the runs in progress get to stop and be recorded
SHUTDOWN_SECONDS = runner.GRACE_SECONDS + 30.0
MAX_WORKERS = 8


class Scheduler:
    """The loop's state: the runs this process started and the event that stops them."""

    def __init__(
        self,
        engine: sa.Engine,
        data_dir: Path,
        *,
        tick_seconds: float = TICK_SECONDS,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.tick_seconds = tick_seconds
        self.rng = rng or random.SystemRandom()
        self.clock = clock
        self.stop = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=MAX_WORKERS, thread_name_prefix="shinsa-run"
        )
        self.active: dict[int, asyncio.Task[runner.Outcome | None]] = {}
        self.futures: set[concurrent.futures.Future[runner.Outcome | None]] = set()

    async def loop(self) -> None:
        """Tick until cancelled; then stop the runs going and wait for them, bounded."""
        try:
            while True:
                try:
                    await self.tick()
                except Exception:  # a database hiccup must not end the scheduling
                    log.exception("scheduler tick failed")
                await asyncio.sleep(self.tick_seconds)
        finally:
            await self.shutdown()

    async def tick(self) -> list[str]:
        """Start what is due now; the names of the definitions started."""
        await asyncio.to_thread(runner.reap_orphans, self.engine)
        at = self.clock()
        due = await asyncio.to_thread(schedules.due, self.engine, at)
        started = []
        for schedule in due:
            await asyncio.to_thread(schedules.advance, self.engine, schedule, at)
            if schedule.id in self.active:
                log.info("%s: its last run is still going; this time is skipped", schedule.name)
                continue
            if not schedules.in_window(schedule.windows, at, schedule.tz):
                log.info("%s: due outside its maintenance windows; not started", schedule.name)
                continue
            task = asyncio.create_task(self._one(schedule), name=f"run {schedule.name}")
            self.active[schedule.id] = task
            task.add_done_callback(functools.partial(self._forget, schedule.id))
            started.append(schedule.name)
        return started

    def _forget(self, schedule_id: int, _task: asyncio.Task[runner.Outcome | None]) -> None:
        self.active.pop(schedule_id, None)

    async def _one(self, schedule: Schedule) -> runner.Outcome | None:
        if schedule.jitter > 0:
            await asyncio.sleep(self.rng.uniform(0, schedule.jitter))
        at = self.clock()
        if not schedules.in_window(schedule.windows, at, schedule.tz):
            log.info("%s: its window closed during the jitter; not started", schedule.name)
            return None
        deadline = schedules.window_close(schedule.windows, at, schedule.tz)
        future = self.pool.submit(
            runner.run_schedule,
            self.engine,
            schedule,
            self.data_dir,
            trigger="schedule",
            deadline=deadline,
            stop=self.stop,
        )
        self.futures.add(future)
        future.add_done_callback(self.futures.discard)
        outcome = await asyncio.wrap_future(future)
        if outcome is None:
            log.info("%s: another run holds its lease; not started", schedule.name)
        else:
            log.info("%s: run %s %s", schedule.name, outcome.run_id, outcome.status)
        return outcome

    async def wait_idle(self, timeout: float) -> None:
        """Wait for the runs started here to end (tests; bounded)."""
        tasks = list(self.active.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def shutdown(self) -> None:
        """Stop the scans going (SIGINT via the runner) and wait for them to be recorded."""
        self.stop.set()
        for task in self.active.values():
            if not task.done():
                task.cancel()  # a run still in its jitter never starts
        pending = list(self.futures)
        if pending:
            await asyncio.to_thread(concurrent.futures.wait, pending, SHUTDOWN_SECONDS)
        with contextlib.suppress(Exception):
            self.pool.shutdown(wait=False, cancel_futures=True)


async def run(engine: sa.Engine, config: ServiceConfig) -> None:
    """The scheduler of `shinsa serve`: runs until cancelled (see the module docstring)."""
    await Scheduler(engine, config.data_dir).loop()
