"""`lab up/status/down` round trip through a real background process."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from lab import addresses, control
from tests.lab.lab_clients import close, connect, read_until

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab


def first_address() -> str:
    return str(addresses.test_network(None).network_address + 100)


async def test_up_status_down_round_trip(tmp_path: Path) -> None:
    state = await asyncio.to_thread(
        control.up, ["hardened-gateway", "fault-silent"], 3, tmp_path, first_address()
    )
    try:
        assert [d.name for d in state.devices] == [
            "hardened-gateway",
            "fault-silent",
            "hardened-gateway",
        ]
        assert state.devices[2].address == str(addresses.test_network(None).network_address + 102)
        on_disk = json.loads((tmp_path / control.STATE_FILE).read_text())
        assert on_disk["pid"] == state.pid
        assert {"transport": "tcp", "port": 443, "protocol": "https", "tls": True} in on_disk[
            "devices"
        ][0]["services"]
        reader, writer = await connect(state.devices[0].address, 22)
        assert (await read_until(reader, b"\n")).startswith(b"SSH-2.0-")
        await close(writer)
        assert control.status(tmp_path) == state
        with pytest.raises(control.LabError, match="already running"):
            control.up(["fault-silent"], 1, tmp_path, first_address())
    finally:
        stopped = await asyncio.to_thread(control.down, tmp_path)
    assert stopped
    assert control.status(tmp_path) is None
    assert not (tmp_path / control.STATE_FILE).exists()
    assert control.down(tmp_path) is False


def test_stale_state_file_is_detected(tmp_path: Path) -> None:
    stale = {"pid": 2**22 + 12345, "started": "2020-01-01T00:00:00+00:00", "devices": []}
    (tmp_path / control.STATE_FILE).write_text(json.dumps(stale))
    assert control.status(tmp_path) is None
    assert not (tmp_path / control.STATE_FILE).exists()


def test_up_reports_a_serve_process_that_dies(tmp_path: Path) -> None:
    address = str(addresses.test_network(None).network_address + 110)
    with socket.socket() as blocker:  # holds the device's ssh port, so the child cannot bind
        blocker.bind((address, 22))
        blocker.listen()
        with pytest.raises(control.LabError, match="exited during start-up"):
            control.up(["fault-silent"], 1, tmp_path, address)
    assert status_is_clean(tmp_path)


def status_is_clean(state_dir: Path) -> bool:
    return control.status(state_dir) is None and not (state_dir / control.STATE_FILE).exists()


def test_non_loopback_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(control.LabError, match="loopback"):
        control.up(["fault-silent"], 1, tmp_path, "192.0.2.1")


def test_unknown_personality_is_refused_before_spawning(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no built-in personality"):
        control.up(["no-such"], 1, tmp_path, first_address())
    assert not (tmp_path / control.LOG_FILE).exists()


def test_module_cli_status_without_lab(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lab", "status", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "no lab running" in result.stdout
