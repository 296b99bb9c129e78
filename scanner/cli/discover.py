"""`shinsa discover`: find open TCP ports (connect or SYN scan) and answering UDP services.

Targets take the same syntax as `shinsa scan`: addresses, CIDRs, ranges, host names, @files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from scanner.cli import options
from scanner.discovery import syn
from scanner.discovery import tcp as discovery
from scanner.discovery.ports import DEFAULT_PORTS, PortSet, describe, parse_ports
from scanner.discovery.targets import parse_targets
from scanner.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.discovery import udp


def expand_targets(specs: Sequence[str]) -> list[str]:
    """Addresses from the same target syntax as `shinsa scan` (`discovery.targets`), in order."""
    return [t.address for t in parse_targets(specs).targets]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `discover` on the main CLI's subparsers."""
    parser = sub.add_parser(
        "discover",
        help="find open TCP ports and answering UDP services",
        description=__doc__,
    )
    _add_arguments(parser)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="address, CIDR, range (a.b.c.d-e), host name or @file",
    )
    parser.add_argument(
        "--ports",
        "-p",
        type=options.nonempty,
        default=None,
        metavar="SPEC",
        help="nmap syntax, e.g. 22,80,1-1000,U:161,1900 (default: the IoT default set)",
    )
    parser.add_argument("--syn", action="store_true", help="SYN scan (root, IPv4)")
    parser.add_argument(
        "--timeout",
        type=options.seconds(0, 60),
        default=1.0,
        metavar="S",
        help="per-probe timeout (more than 0, at most 60)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scan and print; 0 on success, 2 on a bad target or port specification."""
    try:
        addresses = expand_targets(args.targets)
        ports = parse_ports(args.ports) if args.ports else DEFAULT_PORTS
    except ConfigError as exc:
        print(f"shinsa discover: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    tcp, udp_found = _scan(addresses, ports, use_syn=args.syn, timeout=args.timeout)
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


def _scan(
    addresses: list[str], ports: PortSet, *, use_syn: bool, timeout: float
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[udp.UdpReply, ...]]]:
    """TCP and UDP results. asyncio (and the UDP prober) load only when UDP ports are asked
    for: a TCP-only discovery is a blocking scan, and the command starts ~30 ms sooner."""
    if not ports.udp:
        return _tcp(addresses, ports.tcp, use_syn=use_syn, timeout=timeout), {}
    import asyncio  # deferred: see the docstring

    from scanner.discovery import udp  # deferred with asyncio, which it needs

    async def both() -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[udp.UdpReply, ...]]]:
        udp_task = asyncio.create_task(
            udp.udp_scan(addresses, ports.udp, timeout=max(timeout, 1.0))
        )
        tcp: dict[str, tuple[int, ...]] = {}
        if ports.tcp:
            tcp = await asyncio.to_thread(
                _tcp, addresses, ports.tcp, use_syn=use_syn, timeout=timeout
            )
        return tcp, await udp_task

    return asyncio.run(both())


def _tcp(
    addresses: list[str], ports: Sequence[int], *, use_syn: bool, timeout: float
) -> dict[str, tuple[int, ...]]:
    """Open TCP ports: SYN scan (IPv4 and IPv6) when asked and possible, connect scan
    otherwise."""
    tcp: dict[str, tuple[int, ...]] = {}
    if not ports:
        return tcp
    connect_targets = addresses
    if use_syn:
        if syn.syn_available():
            connect_targets = []
            tcp.update(syn.syn_scan(addresses, ports, timeout=timeout))
        else:
            print(
                "notice: --syn needs root (raw sockets); falling back to a connect scan",
                file=sys.stderr,
            )
    if connect_targets:
        tcp.update(discovery.connect_scan_blocking(connect_targets, ports, timeout=timeout))
    return tcp


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (`python -m scanner.cli.discover`) until cli.py wires it in."""
    parser = argparse.ArgumentParser(prog="shinsa discover", description=__doc__)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
