"""The browser in a whole scan: started by the first page a probe asks for, its surface
published before the probes that use it run, and closed (no Chromium left) when the scan
ends. The device is the lab's JSON hub, whose login only its script sends."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

import pytest

from lab.device import LabDevice
from lab.personality import load_builtin
from probes.login_surface import LoginSurfaces
from probes.registry import all_checks
from scanner.browser import BrowserOptions
from scanner.discovery.ports import parse_ports
from scanner.engine import ScanRequest, scan
from scanner.facts import LOGIN_SURFACES, FactKey
from scanner.judging.profiles import load_profile
from scanner.model import Evidence, Target, Verdict
from scanner.net import Limits
from scanner.probe import Check, ServiceProbe
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from scanner.model import Result, Service
    from scanner.probe import ProbeContext

pytestmark = pytest.mark.browser

ADDRESS = "127.0.71.30"
SEEN = Check("test.surface-seen", "the login surface was published", "reads LOGIN_SURFACES")


class _SurfaceReader(ServiceProbe):
    """Stands for the login checks: uses the fact and reports what it found."""

    checks: ClassVar[tuple[Check, ...]] = (SEEN,)
    protocols: ClassVar[frozenset[str]] = frozenset({"http"})
    uses: ClassVar[frozenset[FactKey[Any]]] = frozenset({LOGIN_SURFACES})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        found = [s for s in ctx.facts.get(LOGIN_SURFACES) or () if s.service.key == service.key]
        details = {
            f"{i}": f"{s.source} {s.method} {s.url} {s.content_type} "
            f"{s.username_field}/{s.password_field} {s.failure_status}"
            for i, s in enumerate(found)
        }
        verdict = Verdict.PASS if found else Verdict.FAIL
        ev = Evidence("surfaces", f"{len(found)} surface(s)", details)
        return [ctx.result(SEEN, verdict, "read", ev, service=service)]


class _Notices(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.notices: list[str] = []

    def notice(self, message: str) -> None:
        self.notices.append(message)


def _chromium_children() -> list[int]:
    """Chromium processes whose parent chain leads to this test process."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, _, rest = f.read().rpartition(")")
            except OSError:
                continue
            parents[int(entry)] = int(rest.split()[1])
            names[int(entry)] = head.partition("(")[2]
    mine = os.getpid()

    def descends(pid: int) -> bool:
        for _ in range(64):
            pid = parents.get(pid, 0)
            if pid == mine:
                return True
            if pid <= 1:
                return False
        return False

    return [p for p, n in names.items() if "chrom" in n and descends(p)]


@pytest.mark.parametrize("browser_on", [True, False])
async def test_a_scan_publishes_the_surface_before_its_users_and_closes_chromium(
    tmp_path: Path, browser_on: bool
):
    async with LabDevice(load_builtin("json-api-hub"), ADDRESS):
        request = ScanRequest(
            targets=(Target(ADDRESS),),
            scope=Scope.of([ADDRESS]),
            ports=parse_ports("80"),
            profile=load_profile("base", all_checks()),
            limits=Limits(connect_timeout=2.0, read_timeout=3.0),
            registry=(_SurfaceReader, LoginSurfaces),  # the reader listed first on purpose
            browser=BrowserOptions(enabled=browser_on, bind=ADDRESS),
        )
        reporter = _Notices()
        with Store(tmp_path / "s.sqlite") as store:
            store.start_run(
                "r",
                profile_id="base",
                profile_digest="d",
                scanner_version="test",
                request={},
                targets=[(ADDRESS, "")],
            )
            await scan(request, store, "r", reporter)
            results = store.results("r")
    seen = [r for r in results if r.check_id == SEEN.id]
    assert [r.verdict for r in seen] == [Verdict.PASS], seen
    (detail,) = seen[0].evidence[0].details.values()
    source = "chromium" if browser_on else "scripts"
    status = "401" if browser_on else "0"
    expected = f"{source} POST http://{ADDRESS}/api/login application/json username/password"
    assert detail == f"{expected} {status}"
    browser_notices = [n for n in reporter.notices if "Chromium" in n]
    assert len(browser_notices) == (0 if browser_on else 1)
    assert _chromium_children() == []
