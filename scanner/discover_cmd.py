"""`shinsa discover`: find open TCP ports (connect or SYN scan) and answering UDP services.

Targets here are literal addresses, CIDR blocks, or last-octet ranges (`127.0.30.1-50`);
the full target parser (names, files, scope) replaces `expand_targets` later.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from typing import TYPE_CHECKING

from scanner import discovery, syn, udp
from scanner.errors import ConfigError
from scanner.ports import DEFAULT_PORTS, PortSet, describe, parse_ports

if TYPE_CHECKING:
    from collections.abc import Sequence

#: More addresses than this is a typo (a /8), not a device lab.
MAX_TARGETS = 65_536


def expand_targets(specs: Sequence[str]) -> list[str]:
    """Addresses from `10.0.0.5`, `10.0.0.0/24`, `10.0.0.1-50` or `fe80::1`, in order, unique."""
    out: dict[str, None] = {}
    for spec in specs:
        for address in _expand_one(spec.strip()):
            out[address] = None
            if len(out) > MAX_TARGETS:
                raise ConfigError(f"more than {MAX_TARGETS} target addresses; narrow {spec!r}")
    if not out:
        raise ConfigError("no target addresses given")
    return list(out)


def _expand_one(spec: str) -> list[str]:
    if "/" in spec:
        try:
            network = ipaddress.ip_network(spec, strict=False)
        except ValueError as exc:
            raise ConfigError(f"bad target {spec!r}: {exc}") from exc
        if network.num_addresses > MAX_TARGETS:
            raise ConfigError(f"target {spec!r} has more than {MAX_TARGETS} addresses")
        hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
        return [str(h) for h in hosts]
    if "-" in spec and "." in spec:
        head, _, last = spec.rpartition("-")
        try:
            first = ipaddress.IPv4Address(head)
        except ValueError as exc:
            raise ConfigError(f"bad target range {spec!r}: {exc}") from exc
        if not last.isdecimal() or not first.packed[3] <= int(last) <= 255:
            raise ConfigError(f"bad target range {spec!r}: end must be {first.packed[3]}-255")
        base = int(first) - first.packed[3]
        return [str(ipaddress.IPv4Address(base + n)) for n in range(first.packed[3], int(last) + 1)]
    try:
        return [str(ipaddress.ip_address(spec))]
    except ValueError as exc:
        raise ConfigError(f"bad target {spec!r}: not an address, CIDR or range") from exc


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `discover` on the main CLI's subparsers."""
    parser = sub.add_parser(
        "discover",
        help="find open TCP ports and answering UDP services",
        description=__doc__,
    )
    _add_arguments(parser)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="+", metavar="TARGET", help="address, CIDR or a.b.c.d-e")
    parser.add_argument(
        "--ports",
        "-p",
        default=None,
        metavar="SPEC",
        help="nmap syntax, e.g. 22,80,1-1000,U:161,1900 (default: the IoT default set)",
    )
    parser.add_argument("--syn", action="store_true", help="SYN scan (root, IPv4)")
    parser.add_argument("--timeout", type=float, default=1.0, metavar="S", help="per-probe timeout")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scan and print; 0 on success, 2 on a bad target or port specification."""
    try:
        addresses = expand_targets(args.targets)
        ports = parse_ports(args.ports) if args.ports else DEFAULT_PORTS
        if not 0 < args.timeout <= 60:
            raise ConfigError("--timeout must be between 0 and 60 seconds")
    except ConfigError as exc:
        print(f"shinsa discover: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    tcp, udp_found = asyncio.run(_scan(addresses, ports, use_syn=args.syn, timeout=args.timeout))
    elapsed = time.monotonic() - started
    if args.json:
        document = {
            address: {
                "tcp": list(tcp.get(address, ())),
                "udp": [
                    {
                        "port": r.port,
                        "protocol": r.protocol,
                        "request": r.request,
                        "response": r.response,
                        "community": r.community,
                    }
                    for r in udp_found.get(address, ())
                ],
            }
            for address in addresses
        }
        print(json.dumps(document, indent=None, separators=(",", ":")))
        return 0
    print(f"scanned {len(addresses)} address(es), {describe(ports)}, in {elapsed:.2f} s")
    for address in addresses:
        open_tcp = tcp.get(address, ())
        replies = udp_found.get(address, ())
        if not open_tcp and not replies:
            continue
        print(address)
        for port in open_tcp:
            print(f"  tcp/{port} open")
        for reply in replies:
            print(f"  udp/{reply.port} {reply.protocol}: {reply.response}")
    return 0


async def _scan(
    addresses: list[str], ports: PortSet, *, use_syn: bool, timeout: float
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[udp.UdpReply, ...]]]:
    udp_task = asyncio.create_task(
        udp.udp_scan(addresses, ports.udp, timeout=max(timeout, 1.0)) if ports.udp else _empty()
    )
    tcp: dict[str, tuple[int, ...]] = {}
    if ports.tcp:
        connect_targets = addresses
        if use_syn:
            if syn.syn_available():
                v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
                connect_targets = [a for a in addresses if a not in set(v4)]
                if connect_targets:
                    print(
                        "notice: SYN scan is IPv4 only; IPv6 targets get a connect scan",
                        file=sys.stderr,
                    )
                if v4:
                    tcp.update(
                        await asyncio.to_thread(syn.syn_scan, v4, ports.tcp, timeout=timeout)
                    )
            else:
                print(
                    "notice: --syn needs root (raw sockets); falling back to a connect scan",
                    file=sys.stderr,
                )
        if connect_targets:
            tcp.update(await discovery.connect_scan(connect_targets, ports.tcp, timeout=timeout))
    return tcp, await udp_task


async def _empty() -> dict[str, tuple[udp.UdpReply, ...]]:
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (`python -m scanner.discover_cmd`) until cli.py wires it in."""
    parser = argparse.ArgumentParser(prog="shinsa discover", description=__doc__)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
