"""Starting, inspecting and stopping a background lab (`shinsa lab up/status/down`).

`up` spawns `python -m lab serve` in its own session, so the lab outlives the command that
started it; the serve process writes `lab.json` into the state directory once every device
is listening, and that file is the handshake `up` waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import lab
from lab.addresses import consecutive
from lab.device import Lab
from lab.personality import builtin_names, load_builtin
from lab.state import LabState, device_state, write_atomically

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path(".shinsa") / "lab"
DEMO_FIRST_ADDRESS = "127.0.10.1"
STATE_FILE = "lab.json"
LOG_FILE = "lab.log"
UP_TIMEOUT = 15.0
TERM_TIMEOUT = 5.0
KILL_TIMEOUT = 2.0
MAX_DEVICES = 254  # one /24


class LabError(RuntimeError):
    """The lab could not be started or controlled; the message says why."""


def default_state_dir() -> Path:
    return Path.cwd() / DEFAULT_STATE_DIR


def up(
    names: Sequence[str],
    devices: int,
    state_dir: Path,
    first_address: str = DEMO_FIRST_ADDRESS,
) -> LabState:
    """Start a lab of `devices` devices cycling through `names` (all built-ins when empty)."""
    chosen = list(names) or list(builtin_names())
    for name in chosen:
        load_builtin(name)  # fail here, with the loader's message, not in the child
    if not 1 <= devices <= MAX_DEVICES:
        raise LabError(f"devices must be between 1 and {MAX_DEVICES}, got {devices}")
    try:
        consecutive(first_address, devices)
    except ValueError as exc:
        raise LabError(f"lab devices live on loopback only: {exc}") from exc
    running = status(state_dir)
    if running is not None:
        raise LabError(f"a lab is already running (pid {running.pid}); run `lab down` first")
    state_dir.mkdir(parents=True, exist_ok=True)
    state_file = state_dir / STATE_FILE
    log_file = state_dir / LOG_FILE
    state_file.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "lab", "serve", "--state", str(state_file)]
    argv += ["--devices", str(devices), "--first-address", first_address, *chosen]
    pid = _spawn(argv, log_file)
    deadline = time.monotonic() + UP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise LabError(f"the lab process exited during start-up:\n{_tail(log_file)}")
        with contextlib.suppress(OSError, ValueError):
            state = LabState.from_json(state_file.read_text(encoding="utf-8"))
            if state.pid == pid:
                return state
        time.sleep(0.05)
    _stop(pid)
    raise LabError(f"the lab did not start within {UP_TIMEOUT:.0f} s:\n{_tail(log_file)}")


def status(state_dir: Path) -> LabState | None:
    """The running lab, or None; a state file left by a dead process is removed."""
    state_file = state_dir / STATE_FILE
    try:
        state = LabState.from_json(state_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        state_file.unlink(missing_ok=True)
        return None
    if not _alive(state.pid) or not _is_lab_process(state.pid):
        state_file.unlink(missing_ok=True)
        return None
    return state


def down(state_dir: Path) -> bool:
    """Stop the running lab; False when none was running."""
    state = status(state_dir)
    if state is None:
        return False
    _stop(state.pid)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return True


async def serve(names: Sequence[str], devices: int, state_file: Path, first_address: str) -> None:
    """Run a lab until SIGTERM or SIGINT; the body of the background process."""
    personalities = [load_builtin(n) for n in itertools.islice(itertools.cycle(names), devices)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with Lab(personalities, first_address) as running:
        state = LabState(
            pid=os.getpid(),
            started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            devices=tuple(device_state(d) for d in running.devices),
        )
        write_atomically(state_file, state.to_json())
        log.info("lab of %d devices listening from %s", devices, first_address)
        await stop.wait()  # the lab's whole life: it ends by signal, and down() bounds that
    _remove_own_state(state_file)
    log.info("lab stopped")


def _remove_own_state(state_file: Path) -> None:
    # down() may already have removed it, or a newer lab may own it: only delete our own.
    with contextlib.suppress(OSError, ValueError):
        if LabState.from_json(state_file.read_text(encoding="utf-8")).pid == os.getpid():
            state_file.unlink()


def _spawn(argv: list[str], log_file: Path) -> int:
    # posix_spawn rather than subprocess.Popen: the child must outlive us, and a Popen
    # object dropped while its child runs warns (ResourceWarning) when collected.
    env = dict(os.environ)
    package_root = str(Path(lab.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), flags, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)


def _alive(pid: int) -> bool:
    # Our own child lingers as a zombie until reaped, and a zombie still answers kill(0).
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_lab_process(pid: int) -> bool:
    """Guards against a recycled pid: on Linux the command line must be our serve command."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        args = cmdline.read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (not Linux): trust the pid
    return b"lab" in args and b"serve" in args


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, TERM_TIMEOUT):
        return
    log.warning("lab process %d ignored SIGTERM; killing it", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, KILL_TIMEOUT)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def _tail(log_file: Path, limit: int = 2000) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return text[-limit:] or "(empty log)"
