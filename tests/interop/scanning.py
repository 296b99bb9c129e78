"""One scan of one real daemon through the engine, for the interop tests: a profile (YAML
text extending a built-in one) written to `tmp_path`, a Store there, the results back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.registry import REGISTRY, all_checks
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest
from scanner.judging.profiles import load_profile
from scanner.model import Target
from scanner.net import Limits
from scanner.scope import Scope
from tests.stored_scan import stored_scan

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from scanner.model import Result


async def scan_daemon(
    tmp_path: Path,
    *,
    address: str,
    label: str,
    profile_yaml: str,
    tcp: Sequence[int],
    udp: Sequence[int] = (),
    read_timeout: float = 5.0,
    job_timeout: float = 600.0,
) -> list[Result]:
    profile_file = tmp_path / "interop-profile.yaml"
    profile_file.write_text(profile_yaml)
    profile = load_profile(str(profile_file), all_checks())
    request = ScanRequest(
        targets=(Target(address, label),),
        scope=Scope.of([address]),
        ports=PortSet(tuple(tcp), tuple(udp)),
        profile=profile,
        registry=REGISTRY,
        limits=Limits(connect_timeout=2.0, read_timeout=read_timeout),
        job_timeout=job_timeout,
    )
    return (await stored_scan(request, tmp_path / "scan.sqlite")).results
