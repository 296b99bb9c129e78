"""dropbear and OpenSSH for the session-expiry interop tests, on 127.0.62.0/24, one daemon
per address so each keeps port 22.

- `dropbear`: dropbear 2022.83, optionally with `-I` (idle timeout). Its idle clock is
  "no packet either way" (`ses.last_packet_time_idle`, set on every packet sent or
  received except keepalive traffic), so a shell that printed its prompt and hears nothing
  more is ended `-I` seconds after the prompt.
- OpenSSH comes from `lockout_daemons.plain_sshd` (no PAM, one allowed user, extra
  options), with the addresses below.

Logins are those of a temporary local user (`lockout_daemons.local_user`). Like the other
daemon modules, nothing here imports pytest: a missing binary raises `MissingBinary` naming
the Debian package, a daemon that dies or never answers raises `DaemonFailed` with its log.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from typing import TYPE_CHECKING

from tests.interop.lockout_daemons import Daemon
from tests.interop.tls_daemons import START_TIMEOUT, DaemonFailed, require, stop

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

IDLE_DROPBEAR_ADDRESS = "127.0.62.1"
DROPBEAR_ADDRESS = "127.0.62.2"
CHANNEL_TIMEOUT_SSHD_ADDRESS = "127.0.62.3"
CLIENT_ALIVE_SSHD_ADDRESS = "127.0.62.4"
CLIENT_ALIVE_OFF_SSHD_ADDRESS = "127.0.62.5"
CHANNEL_ONLY_SSHD_ADDRESS = "127.0.62.6"

PORT = 22


def _answers(address: str) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, PORT), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def dropbear(address: str, directory: Path, *, idle_timeout: int = 0) -> Iterator[Daemon]:
    """dropbear in the foreground, taking passwords for every local user with a shell;
    `idle_timeout` > 0 adds `-I idle_timeout`."""
    binary = require("/usr/sbin/dropbear", "dropbear-bin")
    keygen = require("dropbearkey", "dropbear-bin")
    name = "expiry-dropbear"
    directory = directory / name
    directory.mkdir(parents=True)
    keys: list[str] = []
    # An RSA key besides ed25519: dropbear 2022.83 with only an ed25519 key dies on an
    # assertion (rsa.c:164) when asyncssh picks rsa-sha2-256.
    for kind in ("ed25519", "rsa"):
        key = directory / f"{kind}_host_key"
        subprocess.run(
            [keygen, "-t", kind, "-f", str(key)], check=True, capture_output=True, timeout=30
        )
        keys += ["-r", str(key)]
    argv = [
        binary,
        *("-F", "-E", "-p", f"{address}:{PORT}", *keys),
        *("-P", str(directory / "dropbear.pid")),
        *(("-I", str(idle_timeout)) if idle_timeout else ()),
    ]
    if _answers(address):
        # Readiness is "the port answers": a leftover server there would fake it.
        raise DaemonFailed(f"{name}: {address}:{PORT} is already taken by another process")
    with (directory / f"{name}.log").open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops its children too
        )
    daemon = Daemon(name, address, PORT, directory, proc)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(address):
            if proc.poll() is not None:
                raise DaemonFailed(f"{name} exited with {proc.returncode}:\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonFailed(
                    f"{name} not answering on {address}:{PORT} after {START_TIMEOUT:g} s:\n"
                    f"{daemon.log_tail()}"
                )
            time.sleep(0.05)
        yield daemon
    finally:
        stop(proc)
