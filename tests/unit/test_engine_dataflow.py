"""Jobs of a device start as soon as what they need and use is settled, not in rounds.

A quick provider's users must not wait for the slowest unrelated job of the device: the
login checks that use LOGIN_SURFACES would otherwise start only after, say, the SSH login
probe, which changes what a device that throttles across protocols lets them do (measured
on the lab's throttled camera: 60 s of Retry-After waits instead of 5 s).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, ClassVar

from probes.registry import all_checks
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest
from scanner.facts import LOGIN_SURFACES, FactKey
from scanner.judging.profiles import load_profile
from scanner.model import Target, Verdict
from scanner.net import Limits
from scanner.probe import Check, ServiceProbe
from scanner.scope import Scope
from tests.stored_scan import stored_scan

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from scanner.model import Result, Service
    from scanner.probe import ProbeContext

ADDRESS = "127.0.71.70"
SLOW = 1.5
STARTED: dict[str, float] = {}
ENDED: dict[str, float] = {}


class _Probe(ServiceProbe):
    protocols: ClassVar[frozenset[str]] = frozenset({"*"})
    seconds: ClassVar[float] = 0.0

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        name = type(self).__name__
        STARTED[name] = time.monotonic()
        await asyncio.sleep(self.seconds)
        ENDED[name] = time.monotonic()
        return [ctx.result(c, Verdict.PASS, name, service=service) for c in self.checks]


class Slow(_Probe):
    checks: ClassVar[tuple[Check, ...]] = (Check("test.slow", "slow", "sleeps"),)
    seconds = SLOW


class QuickProvider(_Probe):
    checks: ClassVar[tuple[Check, ...]] = ()
    provides: ClassVar[frozenset[FactKey[Any]]] = frozenset({LOGIN_SURFACES})


class User(_Probe):
    checks: ClassVar[tuple[Check, ...]] = (Check("test.user", "user", "uses the fact"),)
    uses: ClassVar[frozenset[FactKey[Any]]] = frozenset({LOGIN_SURFACES})


async def test_a_quick_providers_user_starts_before_the_slowest_job_ends(tmp_path: Path):
    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")  # identified at once, no fingerprint waits
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(banner, ADDRESS, 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        request = ScanRequest(
            (Target(ADDRESS),),
            Scope.of([ADDRESS]),
            PortSet((port,), ()),
            load_profile("base", all_checks()),
            limits=Limits(connect_timeout=0.5, read_timeout=0.5),
            registry=(Slow, User, QuickProvider),
        )
        run = await stored_scan(request, tmp_path / "s.sqlite")
        verdicts = {r.check_id: r.verdict for r in run.results}
    finally:
        listener.close()
    assert verdicts == {"test.slow": Verdict.PASS, "test.user": Verdict.PASS}
    assert STARTED["User"] >= ENDED["QuickProvider"]  # the use still waits for its provider
    assert STARTED["User"] < ENDED["Slow"] - SLOW / 2  # but not for the unrelated slow job
