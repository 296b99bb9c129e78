"""Write a file whole or not at all: a full disk or a kill mid-write leaves the previous
file (or none), never a truncated report that a pipeline would take for a finished one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


def write_text(path: Path, text: str) -> None:
    """`path` holds `text` in UTF-8 once this returns; on any error it is unchanged."""
    write_pieces(path, (text,))


def write_pieces(path: Path, pieces: Iterable[str]) -> None:
    """`path` holds the pieces in UTF-8, written as they come (a report too big to hold),
    once this returns; on any error (a full disk, a renderer's) it is unchanged."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for piece in pieces:
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_all(files: Iterable[tuple[Path, Iterable[str]]]) -> None:
    """Every path holds its pieces once this returns, or (on any error) every path is as it
    was: all are written to temporary files first and renamed only when all are whole, so
    a full disk never leaves half of a run's reports new and half old."""
    done: list[tuple[str, Path]] = []
    try:
        for path, pieces in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            done.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for piece in pieces:
                    f.write(piece)
                f.flush()
                os.fsync(f.fileno())
        for tmp, path in done:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
