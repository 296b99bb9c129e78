"""Fixtures for scanning lab devices with the real engine."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from lab import addresses
from lab.device import Lab
from lab.personality import Personality, builtin_names, load_builtin
from probes.registry import REGISTRY, all_checks
from scanner.credential_lists import CredentialCatalog, load_catalog
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.judging.profiles import Profile, load_profile
from scanner.model import Result, Service, Target
from scanner.net import Limits
from scanner.reporter import Reporter
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

    from scanner.probe import Probe
    from scanner.store import Store

# Offsets 10-149 of the worker's /24 are the integration tests'; tests/lab uses 150-253.
_BLOCKS = itertools.cycle(range(10, 130, 30))
#: closed ports scanned alongside the lab's, so "no extras" means something; never 2024
CLOSED_PORTS = (7, 25, 8000, 10001, 49152)


def all_personalities(copies: int) -> list[Personality]:
    return [load_builtin(n) for n in builtin_names()] * copies


@pytest.fixture
def first_address() -> str:
    return str(addresses.test_network(None).network_address + next(_BLOCKS))


@dataclass
class Scanned:
    lab: Lab
    store: Store
    run_id: str

    def results(self) -> list[Result]:
        return self.store.results(self.run_id)

    def services(self, address: str) -> list[Service]:
        return self.store.services(self.run_id, address)


def lab_ports(lab: Lab) -> PortSet:
    tcp = {s.port for d in lab.devices for s in d.services if s.transport == "tcp"}
    udp = {s.port for d in lab.devices for s in d.services if s.transport == "udp"}
    tcp |= set(CLOSED_PORTS)
    assert 2024 not in tcp
    assert 2024 not in udp
    return PortSet(tuple(sorted(tcp)), tuple(sorted(udp)))


async def scan_lab(
    lab: Lab,
    store: Store,
    *,
    profile: Profile | None = None,
    run_id: str = "run",
    syn: bool = False,
    registry: tuple[type[Probe], ...] = REGISTRY,
    reporter: Reporter | None = None,
    credentials: CredentialCatalog | None = None,
) -> Scanned:
    targets = tuple(Target(d.address, d.name) for d in lab.devices)
    request = ScanRequest(
        targets=targets,
        scope=Scope.of([d.address for d in lab.devices]),
        ports=lab_ports(lab),
        profile=profile or load_profile("base", all_checks()),
        limits=Limits(connect_timeout=2.0, read_timeout=2.0),
        syn=syn,
        registry=registry,
        credentials=credentials or load_catalog(),
    )
    store.start_run(
        run_id,
        profile_id=request.profile.id,
        profile_digest=request.profile.digest,
        scanner_version="test",
        request={},
        targets=[(t.address, t.label) for t in targets],
    )
    await scan(request, store, run_id, reporter or Reporter())
    store.finish_run(run_id)
    return Scanned(lab, store, run_id)


@pytest.fixture
async def start_lab(first_address: str, tmp_path: Path) -> AsyncIterator[object]:
    labs: list[Lab] = []

    async def start(personalities: Sequence[Personality]) -> Lab:
        lab = Lab(personalities, first_address)
        await lab.__aenter__()
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        await lab.close()
