"""A scan request kept as JSON (the run's `request` in the store), made a `ScanRequest` again.

Two readers: `shinsa scan --resume` (the request of the run it finishes) and a site worker
(scanner/sites/tasks.py: the request of a run another machine started, for the devices of
one task). Both must build exactly what `shinsa scan` built from its command line, so the
rules live here once: the profile and the devices' own profiles loaded again and refused
when their digest changed, the stored limits, scope, ports, checks and credential lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scanner.browser import BrowserOptions
from scanner.credential_lists import load_catalog
from scanner.discovery.ports import parse_ports
from scanner.engine import ScanRequest
from scanner.errors import ShinsaError
from scanner.judging.profiles import load_profile
from scanner.judging.report_data import stored_profiles, stored_selection
from scanner.model import Target
from scanner.net import Limits
from scanner.plugins import installed
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scanner.model import JSONValue
    from scanner.probe import Check


def all_checks() -> dict[str, Check]:
    """Every check: shinsa's own and the installed plugins' (scanner/plugins.py)."""
    return installed().checks()


def stored_seconds(value: JSONValue) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def stored_level(request: Mapping[str, JSONValue]) -> int | None:
    """The --level a stored run was scanned with (None: the profile's own)."""
    level = request.get("level")
    return level if isinstance(level, int) else None


def stored_targets(request: Mapping[str, JSONValue]) -> tuple[Target, ...]:
    """The run's devices: [address, label] or [address, label, profile] (then a site)."""
    found = request.get("targets")
    if not isinstance(found, list):
        raise ShinsaError("the stored request names no targets")
    return tuple(Target(*(str(v) for v in t)) for t in found if isinstance(t, list))


def rebuild(
    req: Mapping[str, JSONValue],
    *,
    profile_digest: str,
    targets: Sequence[Target] | None = None,
    max_scan_time: float | None = None,
    what: str = "the run",
) -> ScanRequest:
    """The ScanRequest `req` was made from, for `targets` (default: all of the run's).

    A profile (the run's or a device's own) whose digest differs from the one the run
    started with is refused: the results would be judged by rules nobody asked for."""
    checks = all_checks()
    profile = load_profile(str(req["profile"]), checks, level=stored_level(req))
    profiles = stored_profiles(req, checks)
    changed = [str(req["profile"])] if profile.digest != profile_digest else []
    digests = req.get("profiles")
    if isinstance(digests, dict):
        changed += [ref for ref, p in profiles.items() if digests.get(ref) != p.digest]
    if changed:
        raise ShinsaError(
            f"the profile {', '.join(changed)} is not the one {what} started with "
            "(its digest differs)"
        )
    limits = req.get("limits") or {}
    if not isinstance(limits, dict):
        limits = {}
    credentials = req.get("credentials") or []
    return ScanRequest(
        targets=tuple(targets) if targets is not None else stored_targets(req),
        scope=Scope.of(_strings(req.get("allow")), _strings(req.get("exclude"))),
        ports=parse_ports(str(req["ports"])),
        profile=profile,
        limits=Limits(
            global_connections=int(_number(limits.get("concurrency"), 256)),
            per_device=int(_number(limits.get("per_device"), 2)),
            connect_timeout=float(_number(limits.get("timeout"), 3.0)),
            read_timeout=float(_number(limits.get("timeout"), 3.0)),
            max_rate=stored_seconds(limits.get("max_rate")),
            scan_delay=stored_seconds(limits.get("scan_delay")) or 0.0,
        ),
        syn=bool(req.get("syn")),
        link_sweep=bool(req.get("link_sweep")),
        allow_intrusive=bool(req.get("allow_intrusive")),
        registry=installed().probes,
        # a request stored before the browser choice was kept: the default, enabled
        browser=BrowserOptions(enabled=req.get("browser", True) is not False),
        credentials=load_catalog(
            [Path(str(f)) for f in credentials] if isinstance(credentials, list) else []
        ),
        max_scan_time=max_scan_time or stored_seconds(req.get("max_scan_time")),
        checks=stored_selection(req),
        profiles=profiles,
    )


def _strings(value: JSONValue) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _number(value: JSONValue, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default
