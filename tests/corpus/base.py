"""What every corpus program shares: how it is started and stopped, and its ground truth.

A program module under `tests/corpus/programs/` exposes

- `PROGRAM: Program` — name, origin (Debian, PyPI or npm package and pinned version),
  address and the ground truth of every service it offers;
- `running(workdir: Path) -> ContextManager[Running]` — starts it (bounded wait until it
  answers), yields, and stops it (SIGTERM, then SIGKILL, both bounded), whatever happens;
- optionally `verify(service: ServiceTruth, login: Login) -> bool` — whether a standard
  client logs in with `login` right now (the bench asks it after a scan: a planted login
  that no longer works means the scan left the account locked).

Plain context managers, not pytest fixtures, so that `bench/corpus/run.py` starts the same
programs the same way the tests do. The corpus owns 127.0.72.0/24 (web applications) and
127.0.73.0/24 (devices and daemons); port 2024 is never used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.listening import wildcard_sockets

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

#: Where `.ci/install-corpus.sh` puts programs that do not come from Debian (own venvs and
#: npm prefixes, never the project's venv).
CORPUS_ROOT = Path("/opt/shinsa-ci/corpus")
START_TIMEOUT = 60.0  # some applications (Node-RED, OctoPrint) take seconds to start
STOP_TIMEOUT = 5.0


class CorpusError(RuntimeError):
    """A corpus program is missing or would not start: the message says what to install."""


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str
    #: "factory": a published default the scanner must find; "operator": an account the
    #: operator set, which no list may contain (finding it would be a false positive)
    kind: str = "factory"


@dataclass(frozen=True, slots=True)
class ServiceTruth:
    """What is true of one service of a corpus program, checked by a standard client."""

    protocol: str  # shinsa's protocol name: ssh, telnet, ftp, http, https, mqtt, snmp, ...
    port: int
    transport: str = "tcp"
    logins: tuple[Login, ...] = ()
    #: False when the service lets anyone in (anonymous broker, open page): lockout and
    #: session checks are then not_applicable
    authenticates: bool = True
    #: failed logins in a row that lock an account (None: the program never locks)
    lockout_threshold: int | None = None
    lockout_seconds: float | None = None
    #: what the login surface is, for web apps: "form", "json", "oauth2-password",
    #: "basic", "digest", "js-basic"; free text for others
    login_surface: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    origin: str  # "debian:vsftpd=3.0.3-13+b2", "pypi:pyftpdlib==2.2.0", "npm:node-red@5.0.7"
    address: str
    services: tuple[ServiceTruth, ...]
    description: str = ""
    #: lines added under `params:` of the profile a scan of this program uses, as a
    #: model's own profile would say them (its known lockout, say)
    profile_params: str = ""
    #: its logins are system accounts (tests.corpus.local_users): while it runs they log
    #: in to every PAM service of the machine, so no other such program may run beside it
    system_accounts: bool = False


@dataclass(slots=True)
class Running:
    program: Program
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def log_tail(self, limit: int = 3000) -> str:
        out = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-limit:]}")
        return "\n".join(out)


def require(path: str | Path, install_hint: str) -> str:
    """The absolute path of an executable, or CorpusError naming what installs it."""
    p = Path(path)
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise CorpusError(f"{p} not found: {install_hint} (bash .ci/install-corpus.sh)")
    return str(p)


def tcp_ready(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
        return True
    return False


def start(
    running: Running,
    name: str,
    argv: Sequence[str],
    *,
    workdir: Path,
    ready: Callable[[], bool],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> subprocess.Popen[bytes]:
    """Start one process of a program in its own process group and wait until `ready()`;
    the process is recorded in `running` so that `stop_all` ends it."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
    running.procs.append(proc)
    running.logs.append(log)
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise CorpusError(f"{name} exited with {proc.returncode}:\n{running.log_tail()}")
        if time.monotonic() > deadline:
            raise CorpusError(f"{name} not ready after {timeout:g} s:\n{running.log_tail()}")
        time.sleep(0.1)
    everywhere = wildcard_sockets(proc.pid)
    if everywhere:
        raise CorpusError(
            f"{name} listens on every address of the machine ({', '.join(everywhere)}): "
            "a test's program may listen on loopback only"
        )
    return proc


def stop_all(running: Running) -> None:
    for proc in reversed(running.procs):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
                break
            except subprocess.TimeoutExpired:
                continue


@contextlib.contextmanager
def program_running(program: Program) -> Iterator[Running]:
    """The frame every `running()` uses: whatever was started is stopped on the way out."""
    running = Running(program)
    try:
        yield running
    finally:
        stop_all(running)


def programs() -> list[str]:
    """The module names under tests/corpus/programs/, sorted: the corpus."""
    import pkgutil

    from tests.corpus import programs as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.ispkg)
