"""A real `shinsa serve` for the web tests: a throwaway CA and server certificate (the lab
CA of lab/servers/tls.py), users and tokens made with the CLI, the server started as a
child process on an address of the web block (127.0.91.0/24) and stopped at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.personality import TlsOptions
from lab.servers.tls import certificate_pem, lab_ca_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PORT = 8443  # fixed, on an address of our own (each test module has its own address)
START_SECONDS = 40.0


@dataclass(frozen=True, slots=True)
class Served:
    address: str
    port: int
    db_url: str
    ca: Path
    folder: Path

    @property
    def base_url(self) -> str:
        return f"https://{self.address}:{self.port}"


def tls_files(folder: Path, address: str) -> tuple[Path, Path, Path]:
    """(certificate chain, key, CA) for `address`, signed by the lab CA, valid 800 days."""
    cert, key = certificate_pem(
        address, address, TlsOptions(issuer="lab-ca", address=True, expires_in_days=800)
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.pem").write_bytes(cert)
    (folder / "key.pem").write_bytes(key)
    shutil.copy(lab_ca_file(), folder / "ca.pem")
    return folder / "cert.pem", folder / "key.pem", folder / "ca.pem"


def shinsa(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    full.pop("SHINSA_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def add_user(db_url: str, name: str, role: str, password: str) -> None:
    done = shinsa(
        "user", "add", name, "--role", role, "--db", db_url, env={"SHINSA_PASSWORD": password}
    )
    assert done.returncode == 0, done.stderr


def add_token(db_url: str, name: str, role: str) -> str:
    done = shinsa("token", "add", name, "--role", role, "--db", db_url)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def worker_address(base: int) -> str:
    """127.0.91.(base + n) for pytest-xdist worker gwN (base alone without xdist): each
    worker that runs a module's tests starts its own service, on its own address."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return f"127.0.91.{base + (int(worker) if worker.isdigit() else 0) % 8}"


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_port(address: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"shinsa serve exited {proc.returncode}: {log.read_text()}")
        if _listening(address, port):
            return
        time.sleep(0.2)
    raise AssertionError(f"shinsa serve did not listen in {START_SECONDS} s: {log.read_text()}")


@contextlib.contextmanager
def serve(
    folder: Path, address: str, *options: str, users: tuple[tuple[str, str, str], ...] = ()
) -> Iterator[Served]:
    """`shinsa serve` over TLS on address:PORT with `options`; `users` (name, role,
    password) added first with `shinsa user add`."""
    cert, key, ca = tls_files(folder / "tls", address)
    db_url = f"sqlite:///{folder / 'service.sqlite'}"
    for name, role, password in users:
        add_user(db_url, name, role, password)
    if _listening(address, PORT):  # someone else's server: its answers are not ours
        raise AssertionError(f"{address}:{PORT} is in use already")
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scanner",
                "serve",
                "--db",
                db_url,
                "--listen",
                f"{address}:{PORT}",
                "--tls-cert",
                str(cert),
                "--tls-key",
                str(key),
                "--data",
                str(folder / "data"),
                *options,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_port(address, PORT, proc, log)
            yield Served(address, PORT, db_url, ca, folder)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
