"""The real pieces of a sites deployment for tests: Debian's `redis-server` and `shinsa
worker` processes, each started here and stopped by the fixture that started it.

Addresses: the sites block, 127.0.98.0/24 (Redis at .1, lab devices from .10), and inside
network namespaces a test makes (tests/sites/test_sites_netns.py). Never port 2024.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

START_TIMEOUT = 30.0
REDIS_HOST = "127.0.98.1"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port = int(s.getsockname()[1])
    assert port != 2024
    return port


@dataclass
class RedisServer:
    """redis-server on `host:port`, append-only (queued tasks survive a restart, as the
    deployment docs ask), its files in `directory`."""

    host: str
    port: int
    directory: Path
    password: str = ""
    argv_prefix: Sequence[str] = ()  # e.g. ("ip", "netns", "exec", NAME)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [
            *self.argv_prefix,
            binary,
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--protected-mode",
            "no" if not self.password else "yes",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"redis-server exited: {(self.directory / 'redis.log').read_text()}"
                )
            with contextlib.suppress(redis.RedisError):
                if self.client().ping():
                    return
            time.sleep(0.1)
        raise AssertionError("redis-server did not answer in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis writes its append-only file and exits
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


@contextlib.contextmanager
def redis_server(directory: Path, host: str = REDIS_HOST, **kw: object) -> Iterator[RedisServer]:
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(host, free_port(host), directory, **kw)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Worker:
    """A `shinsa worker` process in a session of its own (a SIGKILL of its group is the
    loss of the machine: the worker and its pool processes at once)."""

    site: str
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not go."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind
            os.killpg(self.proc.pid, signal.SIGKILL)


@dataclass
class Workers:
    broker: str
    db: str
    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    argv_prefix: Sequence[str] = ()
    started: list[Worker] = field(default_factory=list)

    def start(
        self, site: str, *, concurrency: int = 2, name: str = "", wait: bool = True
    ) -> Worker:
        name = name or f"{site}-{len(self.started)}@tests"
        log = self.directory / f"worker-{name.replace('@', '_')}.log"
        env = {**os.environ, "SHINSA_BROKER": self.broker, "SHINSA_DB": self.db, **self.env}
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [
                    *self.argv_prefix,
                    sys.executable,
                    "-m",
                    "scanner",
                    "worker",
                    "--site",
                    site,
                    "--concurrency",
                    str(concurrency),
                    "--name",
                    name,
                    "--no-config",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                start_new_session=True,
            )
        worker = Worker(site, name, proc, log)
        self.started.append(worker)
        if wait:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: Worker) -> None:
        """Until the worker consumes its queue (Celery logs `ready`) and has said it lives."""
        deadline = time.monotonic() + START_TIMEOUT * 2
        while time.monotonic() < deadline:
            if worker.proc.poll() is not None:
                raise AssertionError(
                    f"worker exited {worker.proc.returncode}: {worker.log.read_text()}"
                )
            if " ready." in worker.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready in time: {worker.log.read_text()}")

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


@contextlib.contextmanager
def workers(broker: str, db: str, directory: Path, **kw: object) -> Iterator[Workers]:
    directory.mkdir(parents=True, exist_ok=True)
    pool = Workers(broker, db, directory, **kw)  # type: ignore[arg-type]
    try:
        yield pool
    finally:
        pool.stop_all()
