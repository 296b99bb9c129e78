"""Behaviour benchmark: do the long waits of the behavioural checks overlap across devices?

No peer measures lockout or session expiry over the network (testers use a stopwatch), so
the comparison is shinsa against itself: the wall time of one scan of ONE device, and of one
scan of N identical devices, in the same run. Every wait is an asyncio sleep, so N devices
should take about as long as one (target ratio N/1 <= 1.5).

Families (each a lab personality built here, on 127.0.40.0/24 and up; never port 2024):

- idle: a web form login whose sessions end after IDLE s idle; `session.idle-timeout` with
  max_idle_seconds just above it (the probe brackets the timeout in one window).
- lockout: a web form login that locks the account for LOCK s after 3 failures;
  `auth.lockout` (intrusive) with a test account.

Only the probes of the family run (and what they need: the default-credentials probes are
left out, the account comes from the profile), so the figure is the family's.

    .venv/bin/python bench/behaviour/run.py [--devices 20] [--rounds 3] [--only idle,lockout]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lab.device import Lab  # noqa: E402 - the repository root goes on sys.path first
from lab.personality import Personality, parse  # noqa: E402
from probes.lockout import AccountLockout  # noqa: E402
from probes.registry import REGISTRY, all_checks  # noqa: E402
from scanner.credential_lists import load_catalog  # noqa: E402
from scanner.discovery.ports import PortSet  # noqa: E402
from scanner.engine import ScanRequest, scan  # noqa: E402
from scanner.judging.profiles import load_profile  # noqa: E402
from scanner.model import Target, Verdict  # noqa: E402
from scanner.net import Limits  # noqa: E402
from scanner.reporter import Reporter  # noqa: E402
from scanner.scope import Scope  # noqa: E402
from scanner.store import Store  # noqa: E402

if TYPE_CHECKING:
    from scanner.probe import Probe

PASSWORD = "Bench-qa-2026!"  # noqa: S105 - the lab account's password, planted by this bench
PASSWORD_ENV = "SHINSA_BENCH_QA"  # noqa: S105 - the variable's name, not a secret
IDLE = 20.0
LOCK = 6.0


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    first_address: str
    personality: Personality
    profile_yaml: str
    check: str
    probes: tuple[type[Probe], ...]


def _web(name: str, extra: dict[str, object], auth: dict[str, object] | None = None) -> Personality:
    service: dict[str, object] = {
        "port": 80,
        "protocol": "http",
        "login": "form",
        "form_success": "redirect",
        **extra,
    }
    data: dict[str, object] = {
        "name": name,
        "title": name,
        "vendor": "bench",
        "services": [service],
        "accounts": [{"username": "qa", "password": PASSWORD}],
    }
    if auth:
        data["auth"] = auth
    return parse(data, "bench")


def families() -> list[Family]:
    expiry = tuple(p for p in REGISTRY if "session.idle-timeout" in {c.id for c in p.checks})
    account = f"test_account: {{username: qa, password_env: {PASSWORD_ENV}}}\n"
    return [
        Family(
            "idle",
            "127.0.40.1",
            _web("bench-idle", {"idle_timeout": IDLE}),
            "profile: bench-idle\nextends: base\n"
            + account
            + "params:\n  session.idle-timeout: {max_idle_seconds: 25, resolution_seconds: 2}\n",
            "session.idle-timeout",
            expiry,
        ),
        Family(
            "lockout",
            "127.0.41.1",
            _web("bench-lock", {}, {"lockout": {"after": 3, "seconds": LOCK}}),
            "profile: bench-lockout\nextends: base\nallow_intrusive: true\n" + account,
            "auth.lockout",
            (AccountLockout,),
        ),
    ]


async def one_scan(family: Family, devices: int, folder: Path) -> tuple[float, list[Verdict]]:
    """Wall seconds of one scan of `devices` copies, and the family check's verdicts."""
    profile_file = folder / f"{family.name}.yaml"
    profile_file.write_text(family.profile_yaml)
    profile = load_profile(str(profile_file), all_checks())
    async with Lab([family.personality] * devices, family.first_address) as lab:
        targets = tuple(Target(d.address, d.name) for d in lab.devices)
        request = ScanRequest(
            targets=targets,
            scope=Scope.of([d.address for d in lab.devices]),
            ports=PortSet((80,), ()),
            profile=profile,
            limits=Limits(connect_timeout=2.0, read_timeout=5.0),
            registry=family.probes,
            credentials=load_catalog(),
        )
        with Store(folder / f"{family.name}-{devices}-{time.time_ns()}.sqlite") as store:
            run_id = f"bench-{time.time_ns()}"
            store.start_run(
                run_id,
                profile_id=profile.id,
                profile_digest=profile.digest,
                scanner_version="bench",
                request={},
                targets=[(t.address, t.label) for t in targets],
            )
            started = time.monotonic()
            await scan(request, store, run_id, Reporter())
            wall = time.monotonic() - started
            verdicts = [r.verdict for r in store.results(run_id) if r.check_id == family.check]
    return wall, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="idle,lockout")
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    chosen = [f for f in families() if f.name in args.only.split(",")]
    missing = [f.name for f in chosen if not f.probes]
    if missing:
        print(f"no probe for family {', '.join(missing)} in this tree", file=sys.stderr)
        return 2
    print(f"{'family':<8} {'devices':>7} {'median s':>9} {'verdicts'}")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="shinsa-bench-behaviour-") as tmp:
        folder = Path(tmp)
        for family in chosen:
            medians = {}
            for n in (1, args.devices):
                walls, seen = [], set()
                for _ in range(args.rounds):
                    wall, verdicts = asyncio.run(one_scan(family, n, folder))
                    walls.append(wall)
                    seen |= {v.value for v in verdicts}
                    if len(verdicts) != n:
                        print(f"{family.name}: {len(verdicts)} results for {n} devices")
                        return 1
                medians[n] = statistics.median(walls)
                print(f"{family.name:<8} {n:>7} {medians[n]:>9.2f} {','.join(sorted(seen))}")
            ratio = medians[args.devices] / medians[1]
            worst = max(worst, ratio)
            print(f"{family.name:<8} ratio {args.devices}/1 = {ratio:.2f} (target <= 1.5)")
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
