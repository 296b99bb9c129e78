"""A throwaway PostgreSQL cluster for the service's tests, made with Debian's own binaries
(`apt-get install postgresql`; CI's .ci/install-daemons.sh installs it).

It listens on 127.0.90.1 (the store tests' block) at a port the kernel picked, with its
unix socket in its own temporary directory, and trusts every local connection: nothing
but the tests reaches it, and it is deleted when they end. PostgreSQL refuses to run as
root, so under root (CI) initdb and the server run as `nobody` through util-linux setpriv,
in a directory nobody owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

HOST = "127.0.90.1"
NOBODY = 65534
SUPERUSER = "postgres"
START_TIMEOUT = 60  # seconds; pg_ctl -w waits for the server at most this long


def binaries() -> Path:
    """The newest installed PostgreSQL's bin directory."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: `apt-get install -y postgresql` "
            "(.ci/install-daemons.sh does it in CI)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]


@dataclass
class Cluster:
    root: Path
    port: int = 0
    bin: Path = field(default_factory=binaries)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def _run(self, *argv: str, timeout: float = START_TIMEOUT + 30) -> None:
        done = subprocess.run(
            _as_owner(list(argv)), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        self.sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.root, self.sockets):
                os.chown(path, NOBODY, NOBODY)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        # only loopback TCP, and only trusted there; the default lists 127.0.0.1 alone
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.0/8 trust\n", encoding="utf-8"
        )
        self.port = _free_port()
        options = (
            f"-c listen_addresses={HOST} -p {self.port} -k {self.sockets} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name made here, not input
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_root() -> Path:
    """A private directory for a cluster, under /tmp so that nobody can reach it (pytest's
    own temporary directories are root's and closed to others)."""
    root = Path(tempfile.mkdtemp(prefix="shinsa-pg-"))
    root.chmod(0o700)
    return root


def remove_root(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
