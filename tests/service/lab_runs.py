"""Real runs for the drift tests: lab devices started in a thread of their own (so that
`shinsa scan` runs in the test's thread as a user runs it), scanned into a per-run store.

Addresses: the drift block, 127.0.94.0/24 (docs: the team's address plan)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING

from lab.device import Lab
from scanner.cli.app import main

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from lab.personality import Personality

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
#: a closed port scanned beside the lab's (never 2024)
CLOSED_PORT = 10001


@contextlib.contextmanager
def running(personalities: Sequence[Personality], first: str) -> Iterator[Lab]:
    """The lab, listening on consecutive addresses from `first` until the block ends."""
    lab = Lab(personalities, first)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()
    failed: list[BaseException] = []

    async def serve() -> None:
        try:
            async with lab:
                started.set()
                await stop.wait()
        except BaseException as exc:
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert started.wait(START_TIMEOUT), "the lab did not start in time"
        if failed:
            raise failed[0]
        yield lab
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT)
        assert not thread.is_alive(), "the lab did not stop in time"
        loop.close()


def ports(lab: Lab) -> str:
    """The lab's listening ports (and one closed one) as a --ports value."""
    tcp = {s.port for d in lab.devices for s in d.services if s.transport == "tcp"}
    udp = {s.port for d in lab.devices for s in d.services if s.transport == "udp"}
    tcp.add(CLOSED_PORT)
    spec = "T:" + ",".join(map(str, sorted(tcp)))
    return spec + (",U:" + ",".join(map(str, sorted(udp))) if udp else "")


def new_runs(out: Path, before: set[str]) -> list[str]:
    return sorted(
        p.name for p in out.glob("*") if p.is_dir() and not p.is_symlink() and p.name not in before
    )


def scan(lab: Lab, out: Path, *extra: str, also: Sequence[str] = ()) -> tuple[str, int]:
    """`shinsa scan` of every lab device (and the addresses `also`) into `out`, with the
    options `extra`: (the new run's ID, the exit code)."""
    before = set(new_runs(out, set())) if out.exists() else set()
    code = main(
        [
            "scan",
            *(d.address for d in lab.devices),
            *also,
            "--ports",
            ports(lab),
            "--out",
            str(out),
            "--no-browser",
            "-q",
            *extra,
        ]
    )
    assert code in (0, 1, 3), code
    (run_id,) = new_runs(out, before)
    return run_id, code
