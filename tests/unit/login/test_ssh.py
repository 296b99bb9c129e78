"""SSH login client: an asyncssh server in the test, a hang-up server, and a real OpenSSH."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from typing import TYPE_CHECKING

import asyncssh
import pytest

from probes._login import ssh
from probes._login.common import Pace
from scanner.credentials import Credential, Outcome
from scanner.model import Service

from .conftest import assert_no_secret, device, hang_up, tcp_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence
    from pathlib import Path

RIGHT = Credential("admin", "Tr0ub4dor&3", "vendor manual")
WRONG = [Credential("admin", f"wrong-{i}") for i in range(5)]


class _Server(asyncssh.SSHServer):
    """Password or keyboard-interactive; hangs up after `max_tries` failures (no message)."""

    def __init__(self, *, kbdint: bool, max_tries: int, stats: dict[str, int]) -> None:
        self._kbdint = kbdint
        self._max = max_tries
        self._failures = 0
        self._stats = stats

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._stats["connections"] += 1

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return not self._kbdint

    def kbdint_auth_supported(self) -> bool:
        return self._kbdint

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return "", "", "", [("Password: ", False)]

    def _check(self, username: str, password: str) -> bool:
        self._stats["attempts"] += 1
        if (username, password) == (RIGHT.username, RIGHT.password):
            return True
        self._failures += 1
        if self._failures >= self._max:
            self._conn.disconnect(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "Too many authentication failures"
            )
        return False

    def validate_password(self, username: str, password: str) -> bool:
        return self._check(username, password)

    def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        return len(responses) == 1 and self._check(username, responses[0])


@contextlib.asynccontextmanager
async def _asyncssh_server(
    address: str, *, kbdint: bool = False, max_tries: int = 3
) -> AsyncIterator[tuple[int, dict[str, int]]]:
    stats = {"connections": 0, "attempts": 0}
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        lambda: _Server(kbdint=kbdint, max_tries=max_tries, stats=stats),
        address,
        0,
        server_host_keys=[key],
    )
    try:
        yield server.sockets[0].getsockname()[1], stats
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("kbdint", [False, True], ids=["password", "keyboard-interactive"])
async def test_ssh_finds_the_password_several_per_connection(kbdint: bool) -> None:
    creds = [*WRONG, Credential("root", "toor-x"), RIGHT, Credential("admin", "never")]
    async with _asyncssh_server("127.0.35.40", kbdint=kbdint, max_tries=3) as (port, stats):
        run = await ssh.try_logins(device("127.0.35.40"), Service("tcp", port, "ssh"), creds)
    tried = [a.credential for a in run.attempts]
    # Grouped by username: admin's five wrong ones, then admin's right one; root never tried.
    assert tried == [*WRONG, RIGHT]
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 5 + [Outcome.ACCEPTED]
    assert "authentication failure" in run.attempts[0].detail
    assert "host key SHA256:" in run.attempts[-1].detail
    assert stats["connections"] == 2
    assert_no_secret(run, creds)


async def test_ssh_dropped_connection_is_throttled_never_rejected(
    fast_backoff: tuple[float, ...],
) -> None:
    async with tcp_server("127.0.35.41", hang_up) as (port, count):
        run = await ssh.try_logins(
            device("127.0.35.41"),
            Service("tcp", port, "ssh"),
            [RIGHT, *WRONG],
            pace=Pace(timeout=3),
        )
    assert [a.outcome for a in run.attempts] == [Outcome.THROTTLED]
    assert "retries" in run.attempts[0].detail
    assert count[0] == 1 + len(fast_backoff)


async def test_ssh_concurrent_connections_share_the_list() -> None:
    creds = [Credential("admin", f"w{i:03d}") for i in range(40)] + [RIGHT]
    async with _asyncssh_server("127.0.35.42", max_tries=6) as (port, stats):
        dev = device("127.0.35.42", per_device=4)
        run = await ssh.try_logins(
            dev, Service("tcp", port, "ssh"), creds, pace=Pace(connections=4)
        )
    assert run.attempts[-1].outcome is Outcome.ACCEPTED
    assert run.attempts[-1].credential == RIGHT
    assert all(a.outcome is Outcome.REJECTED for a in run.attempts[:-1])
    assert stats["connections"] <= 12  # about six passwords per key exchange


# --- a real OpenSSH with a temporary local user --------------------------------------------

SSHD_ADDRESS = "127.0.34.40"
USER = "shinsalogin"
PASSWORD = "Kx7-unit-login"


@pytest.fixture
def openssh(tmp_path: Path) -> Iterator[int]:
    if os.geteuid() != 0 or not shutil.which("useradd") or not os.path.exists("/usr/sbin/sshd"):
        pytest.skip("needs root, useradd and /usr/sbin/sshd for a local OpenSSH")
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", USER], check=True, timeout=30)
    proc = None
    try:
        subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n".encode(), check=True, timeout=30)
        key = tmp_path / "host_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
        )
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        cfg = tmp_path / "sshd_config"
        cfg.write_text(
            f"Port 22\nListenAddress {SSHD_ADDRESS}\nHostKey {key}\nPidFile {tmp_path / 'pid'}\n"
            "UsePAM no\nStrictModes no\nPasswordAuthentication yes\nMaxAuthTries 6\n"
        )
        proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        import socket

        while True:
            with contextlib.suppress(OSError), socket.create_connection((SSHD_ADDRESS, 22), 0.5):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("sshd did not start")
            time.sleep(0.05)
        yield 22
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        subprocess.run(["userdel", USER], check=False, timeout=30)


@pytest.mark.interop
async def test_ssh_against_openssh(openssh: int) -> None:
    right = Credential(USER, PASSWORD)
    creds = [Credential(USER, f"nope-{i}") for i in range(13)] + [right]
    run = await ssh.try_logins(device(SSHD_ADDRESS), Service("tcp", openssh, "ssh"), creds)
    assert [a.outcome for a in run.attempts] == [Outcome.REJECTED] * 13 + [Outcome.ACCEPTED]
    assert "OpenSSH" in run.attempts[-1].detail
    assert any("Too many authentication failures" in a.detail for a in run.attempts)
    assert_no_secret(run, creds)
