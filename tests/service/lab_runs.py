"""Real runs for the drift tests: lab devices started in a thread of their own (the store
tests' `running`, so that `shinsa scan` runs in the test's thread as a user runs it),
scanned into a per-run store with a closed port beside the lab's and extra targets.

Addresses: the drift block, 127.0.94.0/24 (docs: the team's address plan)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.cli.app import main
from tests.service.store_runs import running

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from lab.device import Lab

__all__ = ["new_runs", "ports", "running", "scan"]
#: a closed port scanned beside the lab's (never 2024)
CLOSED_PORT = 10001


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
