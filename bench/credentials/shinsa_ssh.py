"""shinsa's SSH login client on one list, for the credentials bench (run as a subprocess).

    python bench/credentials/shinsa_ssh.py ADDRESS USER PASSWORD_FILE [--connections 4]

Prints one JSON line: {"attempts": recorded attempts, "seconds": time in try_logins,
"found": the accepted password or null, "outcomes": {outcome: count}}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

from probes._login.common import Pace
from probes._login.ssh import try_logins
from scanner.credentials import Credential, Outcome
from scanner.model import Service
from scanner.net import Limits, Network
from scanner.scope import Scope


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("user")
    parser.add_argument("passwords", type=Path)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    words = args.passwords.read_text().splitlines()
    credentials = [Credential(args.user, word, "bench") for word in words]
    limits = Limits(per_device=args.connections)
    dev = Network(Scope.of([args.address]), limits).device(args.address)
    started = time.perf_counter()
    run = await try_logins(
        dev,
        Service("tcp", args.port, "ssh"),
        credentials,
        Pace(timeout=args.timeout, connections=args.connections),
    )
    seconds = time.perf_counter() - started
    found = [a.credential.password for a in run.attempts if a.outcome is Outcome.ACCEPTED]
    print(
        json.dumps(
            {
                "attempts": len(run.attempts),
                "seconds": seconds,
                "found": found[0] if found else None,
                "outcomes": Counter(a.outcome.value for a in run.attempts),
                "note": run.note,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
