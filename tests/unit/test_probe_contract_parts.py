"""The parts of the probe contract no built-in probe uses yet, but plugins may (and
`scanner/plugins.py` accepts): `needs` (a job runs only when the device has the facts it
needs, else its checks are `not_applicable` with the reason) and `DeviceProbe` (one job per
device, over every service discovery found)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from probes.registry import all_checks
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest
from scanner.facts import LOGIN_SURFACES, FactKey
from scanner.judging.profiles import load_profile
from scanner.model import Target, Verdict
from scanner.net import Limits
from scanner.probe import Check, DeviceProbe, ServiceProbe
from scanner.scope import Scope
from tests.stored_scan import stored_scan

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from scanner.model import Result, Service
    from scanner.probe import Probe, ProbeContext

ADDRESS = "127.0.75.150"
SEEN: list[tuple[str, ...]] = []


class NeedsSurfaces(ServiceProbe):
    checks: ClassVar[tuple[Check, ...]] = (Check("test.needs", "t", "needs login surfaces"),)
    protocols: ClassVar[frozenset[str]] = frozenset({"*"})
    needs: ClassVar[frozenset[FactKey[Any]]] = frozenset({LOGIN_SURFACES})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        raise AssertionError("ran without the fact it needs")


class WholeDevice(DeviceProbe):
    checks: ClassVar[tuple[Check, ...]] = (Check("test.device", "t", "sees every service"),)

    async def run(self, ctx: ProbeContext, services: Sequence[Service]) -> list[Result]:
        SEEN.append(tuple(sorted(f"{s.transport}/{s.port}" for s in services)))
        return [ctx.result(self.checks[0], Verdict.PASS, f"{len(services)} services")]


async def _scan(tmp_path: Path, registry: tuple[type[Probe], ...]) -> dict[str, Result]:
    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            await writer.drain()
        except ConnectionError:
            pass  # the scanner's own probes hang up early
        finally:
            writer.close()

    listeners = [await asyncio.start_server(banner, ADDRESS, 0) for _ in range(2)]
    ports = tuple(sorted(ls.sockets[0].getsockname()[1] for ls in listeners))
    try:
        request = ScanRequest(
            (Target(ADDRESS),),
            Scope.of([ADDRESS]),
            PortSet(ports, ()),
            load_profile("base", all_checks()),
            limits=Limits(connect_timeout=0.5, read_timeout=0.5),
            registry=registry,
        )
        run = await stored_scan(request, tmp_path / "s.sqlite")
        results = {f"{r.check_id} {r.service}": r for r in run.results}
    finally:
        for ls in listeners:
            ls.close()
    return results


async def test_a_job_whose_needs_are_missing_is_not_applicable_with_the_reason(tmp_path: Path):
    results = await _scan(tmp_path, (NeedsSurfaces,))
    assert len(results) == 2  # one per SSH service, none ran
    for r in results.values():
        assert r.verdict is Verdict.NOT_APPLICABLE
        assert "needs http.login_surfaces, which no earlier step found" in r.reason


async def test_a_device_probe_runs_once_over_every_service(tmp_path: Path):
    SEEN.clear()
    results = await _scan(tmp_path, (WholeDevice,))
    assert len(SEEN) == 1
    assert len(SEEN[0]) == 2
    assert all(s.startswith("tcp/") for s in SEEN[0])
    (only,) = results.values()
    assert (only.check_id, only.verdict, only.reason) == ("test.device", Verdict.PASS, "2 services")


def test_results_about_a_service_carry_it_and_name_it_in_one_way():
    from scanner.facts import Facts
    from scanner.model import Evidence, Service
    from scanner.net import Network
    from scanner.probe import ProbeContext

    target = Target(ADDRESS)
    ctx = ProbeContext(target, Network(Scope.of([ADDRESS])).device(ADDRESS), Facts())
    service = Service("tcp", 2222, "ssh")
    about = ctx.about(service)
    check = WholeDevice.checks[0]
    result = about.result(check, Verdict.FAIL, f"{about.where} said no.", Evidence("k", "s", {}))
    assert about.where == f"tcp/2222 ssh on {ADDRESS}"
    assert (result.service, result.target, result.reason) == (
        service,
        ADDRESS,
        f"tcp/2222 ssh on {ADDRESS} said no.",
    )
    assert result.evidence == (Evidence("k", "s", {}),)
