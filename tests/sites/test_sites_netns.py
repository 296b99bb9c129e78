"""Sites on real networks (issue 15, item 5): two sites as Linux network namespaces, each a
bridge with its devices (OpenSSH's sshd, lighttpd and a simulated lab device, each in a
namespace of its own with a MAC given here) and a `shinsa worker` inside; the central
Redis and PostgreSQL in a core namespace, reached by the sites only over the veth links
the fixture made (tests/sites/netns_sites.py).

The ground truth is read with standard tools in the same test: `ssh-keyscan` and `curl`
run inside a site's namespace, `ip -j` inside each device's. Scans run in the core (the
central machine), as `shinsa scan --broker` or the service's runner would.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from scanner.cli.app import main
from scanner.service import schema
from scanner.store import Store
from tests.sites.netns_sites import (
    Deployment,
    Device,
    connect_error,
    link_macs,
    routes,
    site_deployment,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.root, pytest.mark.slow]

PORTS = "22,80,1883"  # every device's ports (the lab's JSON hub has 80 and 1883)
SCAN_TIMEOUT = 180.0

SWEEP = """
import json, sys
from scanner.discovery.link import sweep
from scanner.scope import Scope
found = sweep(sys.argv[1], Scope.of([sys.argv[1]], []), timeout=0.5)
print(json.dumps({"method": found.method, "interface": found.interface, "found": found.found}))
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with site_deployment(tmp_path_factory.mktemp("sites-netns")) as made:
        yield made


def _run(argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _target_file(path: Path, lines: list[tuple[Device, str]]) -> str:
    path.write_text("".join(f"{d.address} {d.kind}-{d.address} site={s}\n" for d, s in lines))
    return f"@{path}"


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a `shinsa scan --broker` run's per-run store holds, per device."""

    run_id: str
    ports: dict[str, list[int]]  # address -> its services' ports
    macs: dict[str, list[str]]  # address -> its ("link", "mac") identity values


def _scan(deployment: Deployment, out: Path, targets: str) -> Scanned:
    """`shinsa scan --broker` in the core, as on the central machine."""
    done = deployment.shinsa_in_core(
        "scan", "--broker", deployment.broker, "--site", "plant-a", targets,
        "--db", deployment.database.url, "--out", str(out), "-p", PORTS, "--no-config",
        timeout=SCAN_TIMEOUT,
    )  # fmt: skip
    # 1: requirements not satisfied (these devices are weak on purpose); 3: errors or
    # inconclusive results
    assert done.returncode in (0, 1, 3), done.stderr[-3000:]
    found = re.search(r"json report: (\S+)/report\.json", done.stdout + done.stderr)
    assert found, done.stdout[-2000:]
    run_id = Path(found.group(1)).name
    with Store(out / "shinsa.sqlite", create=False) as store:
        addresses = [a for a, _, _ in store.targets(run_id)]
        said = store.identity(run_id)
        return Scanned(
            run_id,
            {a: [s.port for s in store.services(run_id, a)] for a in addresses},
            {
                a: [r[2] for r in said.get(a, []) if (r[0], r[1]) == ("link", "mac")]
                for a in addresses
            },
        )


def _tasks(deployment: Deployment, run_id: str) -> dict[str, dict[str, Any]]:
    """The central site_tasks rows of a run: address -> row."""
    with _service(deployment) as engine, engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.site_tasks).where(schema.site_tasks.c.run_id == run_id)
        ).mappings()
        return {r["address"]: dict(r) for r in rows}


def test_the_sites_are_networks_apart_by_standard_clients(deployment: Deployment) -> None:
    # nothing of the test on the machine's own interfaces
    own = json.loads(_run(["ip", "-j", "addr", "show"]).stdout)
    ours = re.compile(r"^10\.250\.8\d\.")
    assert not [a for link in own for a in link.get("addr_info", []) if ours.match(a["local"])]
    listening = _run(["ss", "-ltnuH"]).stdout
    assert not [line for line in listening.splitlines() if " 10.250.8" in line]
    # no namespace of the test routes anywhere but its own links
    for ns in deployment.namespaces:
        assert all(r["dst"] != "default" for r in routes(ns)), ns

    sites = list(deployment.sites.values())
    for site, other in ((sites[0], sites[1]), (sites[1], sites[0])):
        sshd, web, lab = site.device("sshd"), site.device("lighttpd"), site.device("lab")
        # a site's own devices answer standard clients run in the site's namespace
        keys = _run(site.run("ssh-keyscan", "-T", "5", "-t", "ed25519", sshd.address))
        assert f"{sshd.address} ssh-ed25519 " in keys.stdout, keys.stderr
        page = _run(site.run("curl", "-sS", "-m", "5", "-L", f"http://{web.address}/"))
        assert page.returncode == 0, page.stderr
        assert "Interop Camera Login" in page.stdout
        for port in lab.ports:
            assert connect_error(site.ns, lab.address, port) is None, (lab, port)
        # ... and another site's devices do not: no route to them at all
        for device in other.devices:
            for port in device.ports:
                assert connect_error(site.ns, device.address, port) == errno.ENETUNREACH
        foreign = other.device("sshd")
        keys = _run(site.run("ssh-keyscan", "-T", "3", foreign.address))
        assert "ssh-" not in keys.stdout
        page = _run(
            site.run("curl", "-sS", "-m", "3", f"http://{other.device('lighttpd').address}/")
        )
        assert page.returncode == 7  # curl: failed to connect
    # the core holds the central servers and reaches no device either
    for device in deployment.devices():
        assert (
            connect_error(deployment.core_ns, device.address, device.ports[0]) == errno.ENETUNREACH
        )


def test_each_sites_worker_reaches_only_its_own_devices(
    deployment: Deployment, tmp_path: Path
) -> None:
    a, b = deployment.sites["plant-a"], deployment.sites["plant-b"]
    a_sshd, b_web = a.device("sshd"), b.device("lighttpd")
    a_lab, b_sshd = a.device("lab"), b.device("sshd")
    # plant-a's sshd sent to plant-b's worker, plant-b's lighttpd to plant-a's; one device
    # of each site at its own site beside them
    crossed = _target_file(
        tmp_path / "crossed.txt",
        [(a_sshd, "plant-b"), (b_web, "plant-a"), (a_lab, "plant-a"), (b_sshd, "plant-b")],
    )
    scanned = _scan(deployment, tmp_path / "crossed", crossed)
    tasks = _tasks(deployment, scanned.run_id)
    assert set(tasks) == {a_sshd.address, b_web.address, a_lab.address, b_sshd.address}
    # every device was taken by the worker of the site it was sent to
    assert tasks[a_sshd.address]["worker"] == "plant-b-0@tests"
    assert tasks[b_web.address]["worker"] == "plant-a-0@tests"
    assert tasks[a_lab.address]["worker"] == "plant-a-0@tests"
    assert tasks[b_sshd.address]["worker"] == "plant-b-0@tests"
    # out of the worker's reach: not scanned at all, the device failed with the reason (no
    # route from that site), never read as "nothing open"; no service, no MAC
    for wrong, site in ((a_sshd, "plant-b"), (b_web, "plant-a")):
        assert tasks[wrong.address]["state"] == "failed"
        assert (
            f"no route from worker {site}-0@tests of site {site}" in tasks[wrong.address]["reason"]
        )
        assert scanned.ports[wrong.address] == [], wrong
        assert tasks[wrong.address]["services"] == []
        assert scanned.macs[wrong.address] == []
    # in reach: found, with the MAC its veth end has
    assert scanned.ports[a_lab.address] == list(a_lab.ports)
    assert scanned.ports[b_sshd.address] == [22]
    assert scanned.macs[a_lab.address] == [a_lab.mac]
    assert scanned.macs[b_sshd.address] == [b_sshd.mac]

    # the same two devices, each sent to its own site, are found
    right = _target_file(tmp_path / "right.txt", [(a_sshd, "plant-a"), (b_web, "plant-b")])
    scanned = _scan(deployment, tmp_path / "right", right)
    tasks = _tasks(deployment, scanned.run_id)
    assert tasks[a_sshd.address]["worker"] == "plant-a-0@tests"
    assert tasks[b_web.address]["worker"] == "plant-b-0@tests"
    assert scanned.ports == {a_sshd.address: [22], b_web.address: [80]}
    assert scanned.macs == {a_sshd.address: [a_sshd.mac], b_web.address: [b_web.mac]}
    assert {t["state"] for t in tasks.values()} == {"done"}


def test_arp_sweep_in_each_site_finds_exactly_its_devices_with_their_macs(
    deployment: Deployment,
) -> None:
    for site in deployment.sites.values():
        # ground truth: each device's interface as `ip -j` shows it inside its namespace
        truth: dict[str, str] = {}
        for device in site.devices:
            shown = link_macs(device)
            assert shown == {device.address: device.mac}
            truth.update(shown)
        done = _run(site.run(sys.executable, "-c", SWEEP, site.subnet), timeout=60)
        assert done.returncode == 0, done.stderr
        swept = json.loads(done.stdout)
        assert swept["method"] == "ARP"
        assert swept["interface"] == site.bridge
        assert swept["found"] == truth


@dataclass(frozen=True, slots=True)
class SpanningRun:
    """What `shinsa schedule run-now --wait` of a definition spanning both sites made."""

    schedule_id: int
    run_id: str
    runs_before: int  # the service's runs before it (the other tests' scans are runs too)
    runs_after: int


@pytest.fixture(scope="module")
def spanning_run(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> SpanningRun:
    """A definition whose target file gives each device its own site, run once from the
    core with SHINSA_BROKER set, as the service's runner does for a scheduled run."""
    where = tmp_path_factory.mktemp("schedule")
    devices = deployment.devices()
    targets = _target_file(
        where / "both-sites.txt", [(d, deployment.site_of(d.address)) for d in devices]
    )
    local = deployment.database.local_url
    add = ["schedule", "add", "--db", local, "--cron", "0 3 * * *", "--site", "plant-a"]
    assert main([*add, "-p", PORTS, "plants", targets]) == 0
    with _service(deployment) as engine, engine.connect() as conn:
        schedule_id = conn.execute(
            sa.select(schema.schedules.c.id).where(schema.schedules.c.name == "plants")
        ).scalar_one()
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar_one()
    done = deployment.shinsa_in_core(
        "schedule", "run-now", "plants", "--wait",
        "--data", str(where / "service"), "--db", deployment.database.url,
        env={"SHINSA_BROKER": deployment.broker},
        timeout=SCAN_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    with _service(deployment) as engine, engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar_one()
    return SpanningRun(schedule_id, done.stdout.strip().splitlines()[-1], before, after)


@contextlib.contextmanager
def _service(deployment: Deployment) -> Iterator[sa.Engine]:
    """The service's database, by PostgreSQL's unix socket (no network from the test)."""
    engine = sa.create_engine(deployment.database.local_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_one_scheduled_definition_spanning_two_sites_makes_one_run(
    deployment: Deployment, spanning_run: SpanningRun
) -> None:
    devices = deployment.devices()
    run_id = spanning_run.run_id
    rd, dv, res = schema.run_devices, schema.devices, schema.results
    with _service(deployment) as engine, engine.connect() as conn:
        runs = conn.execute(
            sa.select(schema.runs).where(schema.runs.c.schedule_id == spanning_run.schedule_id)
        ).mappings().all()  # fmt: skip
        members = conn.execute(
            sa.select(rd.c.address, rd.c.state, dv.c.mac)
            .join(dv, dv.c.id == rd.c.device_id)
            .where(rd.c.run_id == run_id)
        ).all()
        results: dict[str, int] = dict(
            conn.execute(
                sa.select(rd.c.address, sa.func.count())
                .select_from(res)
                .join(rd, (rd.c.run_id == res.c.run_id) & (rd.c.device_id == res.c.device_id))
                .where(res.c.run_id == run_id)
                .group_by(rd.c.address)
            ).all()
        )
    # exactly one new run, of this definition
    assert spanning_run.runs_after == spanning_run.runs_before + 1
    assert [r["id"] for r in runs] == [run_id]
    assert runs[0]["status"] == "complete", runs[0]["status_reason"]
    assert (runs[0]["devices_total"], runs[0]["devices_done"]) == (len(devices), len(devices))
    # both sites' devices in it, each done, with its MAC and results
    assert sorted((m.address, m.state, m.mac) for m in members) == sorted(
        (d.address, "done", d.mac) for d in devices
    )
    assert set(results) == {d.address for d in devices}
    assert all(n > 0 for n in results.values())
    # each scanned by its own site's worker
    tasks = _tasks(deployment, run_id)
    assert {a: t["worker"] for a, t in tasks.items()} == {
        d.address: f"{deployment.site_of(d.address)}-0@tests" for d in devices
    }


def test_a_spanning_runs_devices_stay_in_their_own_sites_inventory(
    deployment: Deployment, spanning_run: SpanningRun
) -> None:
    rd, dv = schema.run_devices, schema.devices
    with _service(deployment) as engine, engine.connect() as conn:
        filed = dict(
            conn.execute(
                sa.select(rd.c.address, dv.c.site)
                .join(dv, dv.c.id == rd.c.device_id)
                .where(rd.c.run_id == spanning_run.run_id)
            ).all()
        )
    # plant-b's devices were scanned by plant-b's worker from inside plant-b: the
    # inventory (and the identity keys, per site) should know them as plant-b's
    assert filed == {d.address: deployment.site_of(d.address) for d in deployment.devices()}
