"""`shinsa demo` and `shinsa lab …`: the simulated lab, driven from the CLI.

The lab runs in its own process (as `shinsa lab up` starts it), so the scan sees it exactly
as it would see real devices: over sockets, on their own 127.0.10.x addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import control
from lab.personality import builtin_names
from scanner.discovery.ports import DEFAULT_PORTS, PortSet
from scanner.engine import ScanRequest
from scanner.errors import ShinsaError
from scanner.judging.profiles import load_profile
from scanner.model import Target
from scanner.plugins import installed
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from lab.state import LabState

MACHINE_PORT = 2024  # answers on every address of this machine: never a device's, never probed


def lab_up(
    names: Sequence[str], devices: int, state_dir: Path, first_address: str = "127.0.10.1"
) -> LabState:
    chosen = list(names) or list(builtin_names())
    try:
        return control.up(chosen, devices or len(chosen), state_dir, first_address)
    except (control.LabError, ValueError) as exc:
        raise ShinsaError(str(exc)) from None


def lab_status(state_dir: Path) -> LabState | None:
    return control.status(state_dir)


def lab_down(state_dir: Path) -> bool:
    return control.down(state_dir)


def describe_lab(state: LabState) -> str:
    lines = [f"lab pid {state.pid}, started {state.started}, {len(state.devices)} device(s)"]
    for d in state.devices:
        services = ", ".join(f"{s.transport}/{s.port} {s.protocol}" for s in d.services)
        lines.append(f"  {d.address:<15} {d.name:<20} {services}")
    return "\n".join(lines)


def lab_ports(state: LabState) -> PortSet:
    """The default IoT port set plus every port the lab bound (it may have moved ports
    above 1024 when not root), never the machine's own port."""
    tcp = set(DEFAULT_PORTS.tcp) | {
        s.port for d in state.devices for s in d.services if s.transport == "tcp"
    }
    udp = set(DEFAULT_PORTS.udp) | {
        s.port for d in state.devices for s in d.services if s.transport == "udp"
    }
    tcp.discard(MACHINE_PORT)
    udp.discard(MACHINE_PORT)
    return PortSet(tuple(sorted(tcp)), tuple(sorted(udp)))


def run_demo(
    out: Path, devices: int, first_address: str, execute: Callable[[ScanRequest], int]
) -> int:
    """Start a lab of every built-in personality, scan it with the base profile, write the
    report, stop the lab. The scan's own exit code is printed, not returned: the demo lab is
    meant to fail."""
    state_dir = out / ".lab"
    lab_down(state_dir)  # a lab left over from an interrupted demo
    state = lab_up([], devices, state_dir, first_address)
    try:
        print(describe_lab(state))
        addresses = state.addresses
        request = ScanRequest(
            targets=tuple(Target(d.address, d.name) for d in state.devices),
            scope=Scope.of(addresses),
            ports=lab_ports(state),
            profile=load_profile("base", installed().checks()),
            registry=installed().probes,
        )
        code = execute(request)
    finally:
        lab_down(state_dir)
    print(f"demo scan finished with exit code {code} (1 = requirements not satisfied, as planted)")
    return 0
