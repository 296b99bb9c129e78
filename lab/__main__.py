"""`python -m lab serve|up|status|down`: the background lab process and a small CLI for it.

`shinsa lab ...` calls lab.control directly; this entry point exists because `up` needs a
process to spawn, and for using the lab without the scanner installed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from lab import control
from lab.personality import builtin_names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description="shinsa device lab")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "up"):
        sub = commands.add_parser(name)
        sub.add_argument("names", nargs="*", help="personalities (default: all built-ins)")
        sub.add_argument("--devices", type=int, default=None)
        sub.add_argument("--first-address", default=control.DEMO_FIRST_ADDRESS)
        if name == "serve":
            sub.add_argument("--state", type=Path, required=True, help="state file to write")
        else:
            sub.add_argument("--state-dir", type=Path, default=None)
    for name in ("status", "down"):
        commands.add_parser(name).add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.command == "serve":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        names = args.names or list(builtin_names())
        asyncio.run(
            control.serve(names, args.devices or len(names), args.state, args.first_address)
        )
        return 0
    state_dir = args.state_dir or control.default_state_dir()
    try:
        if args.command == "up":
            names = args.names or list(builtin_names())
            state = control.up(names, args.devices or len(names), state_dir, args.first_address)
            print(state.to_json())
        elif args.command == "status":
            running = control.status(state_dir)
            print(running.to_json() if running else "no lab running")
            return 0 if running else 1
        else:
            print("lab stopped" if control.down(state_dir) else "no lab running")
    except (control.LabError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
