"""Discovery benchmark: shinsa connect/SYN scan against nmap -sT/-sS on 50 loopback hosts.

50 addresses (127.0.30.1-50) each get 5 listening ports drawn (seeded) from 1-MAX; every
tool scans ports 1-MAX on all of them as a subprocess, several rounds with the tool order
rotated, and we report median wall time, probes/s, the scanning process's peak RSS, and
whether it found exactly the planted ports. shinsa runs as users run it: the installed
`shinsa discover` command, start-up included.

    .venv/bin/python bench/discovery/run.py [--rounds 3] [--seed 7]      # 1-1000: 50,000 probes
    .venv/bin/python bench/discovery/run.py --max-port 65535 --rounds 1  # 3.3 M probes

Port 2024 is never scanned nor drawn (it answers on every address of the development
machine): with --max-port past it, every tool's port list is 1-2023,2025-MAX.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTS = [f"127.0.30.{n}" for n in range(1, 51)]
PORT_RANGE = (1, 1000)
OPEN_PER_HOST = 5
RESERVED = {2024}
TOOL_TIMEOUT = 120.0  # seconds before a tool run is killed and counted as failed
LISTENER_LIFETIME = 900.0  # the listener child exits by itself after this long


def plant(seed: int, max_port: int = PORT_RANGE[1]) -> dict[str, tuple[int, ...]]:
    rng = random.Random(seed)
    candidates = [p for p in range(PORT_RANGE[0], max_port + 1) if p not in RESERVED]
    return {host: tuple(sorted(rng.sample(candidates, OPEN_PER_HOST))) for host in HOSTS}


def port_list(max_port: int) -> tuple[str, int]:
    """(nmap-syntax port list from 1 to max_port without the reserved ports, its size)."""
    ports = [p for p in range(PORT_RANGE[0], max_port + 1) if p not in RESERVED]
    runs: list[str] = []
    start = prev = ports[0]
    for p in ports[1:]:
        if p != prev + 1:
            runs.append(f"{start}-{prev}" if start != prev else str(start))
            start = p
        prev = p
    runs.append(f"{start}-{prev}" if start != prev else str(start))
    return ",".join(runs), len(ports)


def serve(seed: int, max_port: int) -> None:
    """Child process: listen on the planted ports, accept and drop, until stdin closes."""
    socks = []
    selector = selectors.DefaultSelector()
    for host, ports in plant(seed, max_port).items():
        for port in ports:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(4096)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            socks.append(sock)
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()  # EOF when the parent exits or closes the pipe
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("ready", flush=True)
    deadline = time.monotonic() + LISTENER_LIFETIME
    while not stop.is_set() and time.monotonic() < deadline:
        for key, _ in selector.select(0.2):
            listener = key.fileobj
            assert isinstance(listener, socket.socket)
            for _ in range(256):  # drain the accept queue, bounded per wakeup
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, ConnectionError):
                    break
                conn.close()
    for sock in socks:
        sock.close()


@dataclass
class Tool:
    name: str
    argv: list[str]
    parse: str  # "shinsa" | "nmap"
    walls: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    exact: list[bool] = field(default_factory=list)


def run_tool(argv: list[str], timeout: float = TOOL_TIMEOUT) -> tuple[float, int, str, int]:
    """Run one scan; return wall seconds, peak RSS (KiB) of that child, stdout, exit code."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        out = proc.stdout.read() if proc.stdout else ""
        # wait4 gives this child's own rusage, so RSS is the scanner's, not a sum.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stdout:
        proc.stdout.close()
    return wall, int(usage.ru_maxrss), out, proc.returncode


def parse_shinsa(out: str) -> dict[str, tuple[int, ...]]:
    document = json.loads(out)
    return {a: tuple(v["tcp"]) for a, v in document.items() if v["tcp"]}


def parse_nmap(out: str) -> dict[str, tuple[int, ...]]:
    found: dict[str, tuple[int, ...]] = {}
    root = ET.fromstring(out)  # noqa: S314 - nmap's own output on this machine
    for host in root.iter("host"):
        address = host.find("address")
        if address is None:
            continue
        ports = sorted(
            int(p.get("portid", "0"))
            for p in host.iter("port")
            if (state := p.find("state")) is not None and state.get("state") == "open"
        )
        if ports:
            found[address.get("addr", "")] = tuple(ports)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-port", type=int, default=PORT_RANGE[1], help="scan ports 1-MAX")
    parser.add_argument("--timeout", type=float, default=TOOL_TIMEOUT, help="per tool run, s")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.seed, args.max_port)
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it

    planted = plant(args.seed, args.max_port)
    spec, per_host = port_list(args.max_port)
    probes = len(HOSTS) * per_host
    target = f"127.0.30.1-{len(HOSTS)}"
    # The command users run (the venv's console script), not a module that skips the CLI.
    script = Path(sys.executable).with_name("shinsa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "scanner"]
    shinsa = [*command, "discover", target, "--ports", spec, "--json"]
    nmap = ["nmap", "-T4", f"-p{spec}", "-n", "-Pn", "--open", "-oX", "-", target]
    tools = [
        Tool("shinsa-connect", shinsa, "shinsa"),
        Tool("nmap-sT", [nmap[0], "-sT", *nmap[1:]], "nmap"),
    ]
    root = os.geteuid() == 0
    if root:
        tools += [
            Tool("shinsa-syn", [*shinsa, "--syn"], "shinsa"),
            Tool("nmap-sS", [nmap[0], "-sS", *nmap[1:]], "nmap"),
        ]

    listener = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--seed",
            str(args.seed),
            "--max-port",
            str(args.max_port),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = listener.stdout.readline() if listener.stdout else ""
        if ready.strip() != "ready":
            print("listener failed to start", file=sys.stderr)
            return 1
        for round_no in range(max(1, args.rounds)):
            shift = round_no % len(tools)
            for tool in tools[shift:] + tools[:shift]:  # rotate so no tool always goes first
                wall, rss, out, code = run_tool(tool.argv, args.timeout)
                try:
                    found = parse_shinsa(out) if tool.parse == "shinsa" else parse_nmap(out)
                except (ValueError, ET.ParseError):
                    found = {}
                tool.walls.append(wall)
                tool.rss_kib.append(rss)
                tool.exact.append(code == 0 and found == planted)
                time.sleep(0.5)  # let TIME_WAIT and half-open state settle between tools
    finally:
        if listener.stdin:
            listener.stdin.close()
        try:
            listener.wait(timeout=5)
        except subprocess.TimeoutExpired:
            listener.kill()
            listener.wait(timeout=5)

    print(
        f"{probes} probes ({len(HOSTS)} hosts x {per_host} ports, 1-{args.max_port} "
        f"without {sorted(RESERVED)}), {args.rounds} rounds, "
        f"root={root}, ulimit -n {hard} (was {soft})"
    )
    print(f"{'tool':16} {'median s':>9} {'probes/s':>10} {'max RSS MB':>11}  exact")
    rate: dict[str, float] = {}
    for tool in tools:
        median = statistics.median(tool.walls)
        rate[tool.name] = probes / median
        walls = ", ".join(f"{w:.2f}" for w in tool.walls)
        print(
            f"{tool.name:16} {median:9.2f} {rate[tool.name]:10.0f} "
            f"{max(tool.rss_kib) / 1024:11.1f}  {all(tool.exact)} "
            f"({sum(tool.exact)}/{len(tool.exact)}; walls {walls})"
        )
    print("throughput ratios (higher = shinsa faster):")
    for a, b in (
        ("shinsa-connect", "nmap-sT"),
        ("shinsa-syn", "nmap-sT"),
        ("shinsa-syn", "nmap-sS"),
    ):
        if a in rate and b in rate:
            print(f"  {a} / {b}: {rate[a] / rate[b]:.2f}x")
    return 0 if all(all(t.exact) for t in tools) else 1


if __name__ == "__main__":
    raise SystemExit(main())
