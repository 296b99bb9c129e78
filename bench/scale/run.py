"""Scale: does a scan's cost grow linearly with the number of targets? (issue 11 #11)

    .venv/bin/python bench/scale/run.py [--sizes 1000,2500,5000,10000] [--rounds 3]
                                        [--lab 1000] [--no-lab] [--no-empty]

1. Empty targets: `shinsa scan 127.1.0.1-<last> --ports 80,443 -q --format json` for each
   size, on 127.1.0.0/18 where nothing listens, `--rounds` times. For each size: median wall
   time, peak RSS of the scan process (`os.wait4`, the largest of the rounds), the JSON
   report's bytes per device, time per target relative to the smallest size, and the
   marginal cost (ms per target added since the previous size, start-up cancelled out).
   Required: at most 1.1x (linear), under 500 MB at 10,000 targets, at most 2 KB of JSON
   per empty device.
2. Simulated devices: labs of every built-in personality (`shinsa lab up`, at most
   lab/control.py's MAX_DEVICES = 254 per lab, so 1,000 devices are four labs of 250 on
   127.2.0.1, 127.2.1.1, 127.2.2.1, 127.2.3.1), scanned in one run with the base profile on
   the demo's ports (the default set and every port the labs bound): wall time, peak RSS,
   report sizes. Required: under 1 GB.

Every run is the installed `shinsa` command (`.venv/bin/shinsa`), as a user runs it, in a
subprocess with a timeout; port 2024 is never in a port list. Exit code 1 if a requirement
is missed or a scan fails.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scanner.discovery.ports import DEFAULT_PORTS  # the demo's port set (scanner/cli/demo.py)

SHINSA = Path(sys.executable).parent / "shinsa"
EMPTY_FIRST = ipaddress.IPv4Address("127.1.0.1")  # 127.1.0.0/18: nothing listens there
EMPTY_BLOCK = ipaddress.IPv4Network("127.1.0.0/18")
LAB_BLOCK = ipaddress.IPv4Network("127.2.0.0/16")
LAB_PER_INSTANCE = 250  # within MAX_DEVICES (254), one /24 each
MACHINE_PORT = 2024  # the development machine's own: never probed
RUN_TIMEOUT = 1800.0

MAX_GROWTH = 1.1
MAX_EMPTY_RSS_MB = 500.0
MAX_JSON_PER_EMPTY = 2048
MAX_LAB_RSS_MB = 1024.0


@dataclass(frozen=True, slots=True)
class Run:
    targets: int
    seconds: float
    rss_mb: float
    exit_code: int
    reports: dict[str, int]  # file name -> bytes
    devices: int  # devices in the JSON report
    with_services: int
    unfinished: int  # devices not scanned to the end (a fault personality's deadline)


def scan(argv: list[str], out: Path, expect: int, codes: tuple[int, ...]) -> Run:
    """Run `shinsa scan` with `argv`, measure it, read back its JSON report. An exit code
    not in `codes`, or a traceback, is a failed run."""
    cmd = [str(SHINSA), "scan", *argv, "--out", str(out), "-q"]
    log = out / "scan.log"  # a file, not a pipe: nobody reads a pipe while it runs
    started = time.monotonic()
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=sink, start_new_session=True)
    deadline = started + RUN_TIMEOUT
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise SystemExit(f"timed out after {RUN_TIMEOUT:.0f} s: {' '.join(cmd)}")
        time.sleep(0.05)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = log.read_text(encoding="utf-8", errors="replace")
    if proc.returncode not in codes or "Traceback" in stderr:
        raise SystemExit(f"scan failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-2000:]}")
    # the run's directory, not the `latest` link to it
    runs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    (run_dir,) = [p for p in runs if (p / "report.json").exists()]
    reports = {p.name: p.stat().st_size for p in run_dir.glob("report*")}
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    devices = report["devices"]
    if len(devices) != expect:
        raise SystemExit(f"{len(devices)} devices in the report, expected {expect}")
    return Run(
        targets=expect,
        seconds=seconds,
        rss_mb=usage.ru_maxrss / 1024,  # KB on Linux
        exit_code=proc.returncode,
        reports=reports,
        devices=len(devices),
        with_services=sum(1 for d in devices if d["services"]),
        unfinished=sum(1 for d in devices if not d["finished"]),
    )


def empty_series(sizes: list[int], rounds: int, tmp: Path) -> bool:
    print(
        f"empty targets (127.1.0.0/18, --ports 80,443, base profile, --format json), "
        f"median of {rounds}"
    )
    print(
        f"{'targets':>8} {'s':>7} {'ms/target':>9} {'x linear':>8} {'marginal ms':>11} "
        f"{'RSS MB':>7} {'JSON B/dev':>10}"
    )
    ok = True
    first: Run | None = None
    previous: Run | None = None
    for n in sizes:
        last = EMPTY_FIRST + n - 1
        if last not in EMPTY_BLOCK:
            raise SystemExit(f"{n} targets leave {EMPTY_BLOCK}")
        runs = []
        for r in range(rounds):
            out = tmp / f"empty-{n}-{r}"
            out.mkdir()
            argv = [f"{EMPTY_FIRST}-{last}", "--ports", "80,443", "--format", "json"]
            runs.append(scan(argv, out, n, (0,)))  # nothing to fail
        run = sorted(runs, key=lambda x: x.seconds)[len(runs) // 2]
        rss = max(x.rss_mb for x in runs)
        first = first or run
        growth = (run.seconds / n) / (first.seconds / first.targets)
        # the cost of the targets added since the previous size: start-up cancels out
        marginal = (
            f"{1000 * (run.seconds - previous.seconds) / (n - previous.targets):>11.3f}"
            if previous
            else f"{'':>11}"
        )
        previous = run
        per_device = run.reports["report.json"] / n
        print(
            f"{n:>8} {run.seconds:>7.2f} {1000 * run.seconds / n:>9.3f} {growth:>8.2f} "
            f"{marginal} {rss:>7.1f} {per_device:>10.0f}"
        )
        if any(x.with_services for x in runs):
            print("  !! an 'empty' target had open services")
            ok = False
        if growth > MAX_GROWTH:
            print(f"  !! time per target {growth:.2f}x the {first.targets} case (max {MAX_GROWTH})")
            ok = False
        if per_device > MAX_JSON_PER_EMPTY:
            print(
                f"  !! {per_device:.0f} bytes of JSON per empty device (max {MAX_JSON_PER_EMPTY})"
            )
            ok = False
        if n >= 10_000 and rss >= MAX_EMPTY_RSS_MB:
            print(f"  !! {rss:.0f} MB at {n} targets (max {MAX_EMPTY_RSS_MB:.0f})")
            ok = False
    return ok


def _lab(command: str, state_dir: Path, *extra: str) -> str:
    done = subprocess.run(
        [str(SHINSA), "lab", command, "--state-dir", str(state_dir), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0 and command != "status":
        raise SystemExit(f"lab {command} failed: {done.stderr[-2000:]}")
    return done.stdout


def lab_scan(devices: int, tmp: Path) -> bool:
    labs: list[Path] = []
    addresses: list[str] = []
    tcp: set[int] = set()
    udp: set[int] = set()
    try:
        left, i = devices, 0
        while left > 0:
            count = min(LAB_PER_INSTANCE, left)
            first = ipaddress.IPv4Address(int(LAB_BLOCK.network_address) + 256 * i + 1)
            state_dir = tmp / f"lab-{i}"
            labs.append(state_dir)
            _lab("up", state_dir, "--devices", str(count), "--first-address", str(first))
            state = json.loads((state_dir / "lab.json").read_text(encoding="utf-8"))
            for d in state["devices"]:
                if ipaddress.IPv4Address(d["address"]) not in LAB_BLOCK:
                    raise SystemExit(f"lab device {d['address']} outside {LAB_BLOCK}")
                addresses.append(d["address"])
                for s in d["services"]:
                    (tcp if s["transport"] == "tcp" else udp).add(int(s["port"]))
            left -= count
            i += 1
        tcp |= set(DEFAULT_PORTS.tcp)
        udp |= set(DEFAULT_PORTS.udp)
        tcp.discard(MACHINE_PORT)
        udp.discard(MACHINE_PORT)
        ports = f"T:{','.join(map(str, sorted(tcp)))},U:{','.join(map(str, sorted(udp)))}"
        targets = tmp / "lab-targets.txt"
        targets.write_text("\n".join(addresses) + "\n", encoding="utf-8")
        out = tmp / "lab-scan"
        out.mkdir()
        print(
            f"\nsimulated devices: {len(labs)} lab(s), {len(addresses)} devices, base profile, "
            f"{len(tcp)} TCP + {len(udp)} UDP ports, --format json,jsonl"
        )
        argv = [f"@{targets}", "--allow", str(LAB_BLOCK), "--ports", ports]
        # 1: the weak personalities fail requirements, as planted; 3: and a fault device
        # (hang, trickle) could not be scanned to the end
        run = scan([*argv, "--format", "json,jsonl"], out, len(addresses), (1, 3))
    finally:
        for state_dir in labs:
            _lab("down", state_dir)
    mb = {k: v / 1e6 for k, v in run.reports.items()}
    print(
        f"{run.targets} devices ({run.with_services} with services, {run.unfinished} "
        f"unfinished): {run.seconds:.1f} s, "
        f"peak RSS {run.rss_mb:.0f} MB, exit {run.exit_code}, "
        + ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(mb.items()))
    )
    ok = run.rss_mb < MAX_LAB_RSS_MB
    if not ok:
        print(f"  !! {run.rss_mb:.0f} MB (max {MAX_LAB_RSS_MB:.0f})")
    if run.with_services < run.targets * 0.9:
        print(f"  !! only {run.with_services} of {run.targets} lab devices showed services")
        ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="1000,2500,5000,10000")
    parser.add_argument("--rounds", type=int, default=3, help="runs per size (median)")
    parser.add_argument("--lab", type=int, default=1000, help="simulated devices")
    parser.add_argument("--no-lab", action="store_true")
    parser.add_argument("--no-empty", action="store_true")
    args = parser.parse_args()
    if not SHINSA.exists():
        raise SystemExit(f"{SHINSA} not found: install shinsa into this venv first")
    ok = True
    with tempfile.TemporaryDirectory(prefix="shinsa-scale-") as tmp:
        if not args.no_empty:
            sizes = sorted(int(s) for s in args.sizes.split(","))
            ok &= empty_series(sizes, args.rounds, Path(tmp))
        if not args.no_lab:
            ok &= lab_scan(args.lab, Path(tmp))
    print("\nall requirements met" if ok else "\nREQUIREMENT MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
