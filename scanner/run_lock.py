"""One process per run: a second `--resume` of a run still being scanned is refused.

Two resumes of one run at once both ran, and every login was tried twice. An exclusive
`flock` on a file beside the store is held for the whole scan; the kernel drops it when the
process ends, SIGKILL included, so a crashed run never stays locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import TYPE_CHECKING

from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@contextlib.contextmanager
def hold(out: Path, run_id: str) -> Iterator[None]:
    """Hold run `run_id`'s lock in directory `out`, or raise ConfigError naming the holder."""
    path = out / f".{run_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise ConfigError(
                f"run {run_id} is being scanned by another shinsa process (pid {holder}); "
                "wait for it to end, or stop it, before resuming"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
