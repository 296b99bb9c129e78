"""System accounts for the corpus daemons that log in through the system (sshd, dropbear,
/bin/login under telnetd): created for one run of a program and deleted after it.

The usernames are the published ones a scanner's lists try (`admin`, `operator`, `user`...),
so each program uses its own names and a name that already exists is never taken over: the
program refuses to start instead (CorpusError), and the machine's accounts are left alone.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import TYPE_CHECKING

from tests.corpus.base import CorpusError, Login, require

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

USERDEL_TIMEOUT = 10.0
_HINT = "Debian's passwd package (useradd, chpasswd, userdel)"


def _exists(name: str) -> bool:
    done = subprocess.run(["getent", "passwd", name], capture_output=True, timeout=10)
    return done.returncode == 0


def _delete(name: str) -> None:
    """userdel, retried while a session of the user is still ending (bounded), then forced."""
    deadline = time.monotonic() + USERDEL_TIMEOUT
    while _exists(name):
        force = ["-f"] if time.monotonic() > deadline else []
        done = subprocess.run(["userdel", *force, name], capture_output=True, timeout=30)
        if done.returncode == 0 or force:
            break
        time.sleep(0.2)


@contextlib.contextmanager
def local_users(logins: Sequence[Login], home: Path | None = None) -> Iterator[None]:
    """Create one system user per login (no home directory, /bin/sh), delete them after.

    `-N`: no group of the user's name (Debian has a group `operator` already, which must
    neither stop the user nor be deleted with it); the primary group is useradd's default.
    `home`: an existing directory given as their home (vsftpd changes into it at login);
    by default the home does not exist.
    """
    useradd = require("/usr/sbin/useradd", _HINT)
    chpasswd = require("/usr/sbin/chpasswd", _HINT)
    taken = [login.username for login in logins if _exists(login.username)]
    if taken:
        raise CorpusError(f"system user(s) {', '.join(taken)} already exist: not taken over")
    created: list[str] = []
    try:
        for login in logins:
            subprocess.run(
                [
                    *(useradd, "-M", "-N", "-s", "/bin/sh"),
                    *(("-d", str(home)) if home is not None else ()),
                    login.username,
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
            created.append(login.username)
            subprocess.run(
                [chpasswd],
                input=f"{login.username}:{login.password}\n".encode(),
                check=True,
                capture_output=True,
                timeout=30,
            )
        yield
    finally:
        for name in created:
            _delete(name)
        left = [name for name in created if _exists(name)]
        if left:
            raise CorpusError(f"could not delete system user(s) {', '.join(left)}")
