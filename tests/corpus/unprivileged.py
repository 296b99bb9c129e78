"""Running a corpus program as `nobody` that still listens on a port below 1024.

Some programs refuse to run as root (Cowrie), and none of them needs to: they run as
nobody through util-linux `setpriv`, with only CAP_NET_BIND_SERVICE kept (ambient), so
they can listen on 22 and 23 as a device does. Their state lives in a directory of their
own that nobody can write (the test's work directory is root's and private).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tests.corpus.base import require

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

NOBODY = 65534


def as_nobody(argv: Sequence[str]) -> list[str]:
    setpriv = require("/usr/bin/setpriv", "Debian's util-linux package")
    return [
        setpriv,
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
        *argv,
    ]


@contextlib.contextmanager
def state_dir(prefix: str) -> Iterator[Path]:
    """A directory owned by nobody (under /tmp), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path.chmod(0o755)
        os.chown(path, NOBODY, NOBODY)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def give_to_nobody(root: Path) -> None:
    """Make everything under `root` nobody's (files written there as root)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(Path(dirpath) / name, NOBODY, NOBODY)
    os.chown(root, NOBODY, NOBODY)
