"""shinsa's HTTP login client (Basic or form) on one list, for the credentials bench.

    python bench/credentials/shinsa_http.py ADDRESS USER PASSWORD_FILE [--port 80]
        [--connections 16]

The service is fingerprinted first, as a scan does, for the pages and login forms the
client is handed; only `try_logins` is timed ("seconds"; "fingerprint_seconds" is the
fingerprinting, which the bench takes off the wall time). Prints one JSON line like
shinsa_ssh.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

from probes._login.common import Pace
from probes._login.http import try_logins
from scanner.credentials import Credential, Outcome
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, Facts
from scanner.fingerprint.services import fingerprint
from scanner.net import Limits, Network
from scanner.scope import Scope


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("user")
    parser.add_argument("passwords", type=Path)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    words = args.passwords.read_text().splitlines()
    credentials = [Credential(args.user, word, "bench") for word in words]
    network = Network(Scope.of([args.address]), Limits(per_device=args.connections))
    dev = network.device(args.address)
    facts = Facts()
    fingerprint_started = time.perf_counter()
    services = await fingerprint(dev, [args.port], (), facts)
    (service,) = (s for s in services if s.port == args.port)
    pages = facts.get(HTTP_PAGES) or ()
    forms = facts.get(LOGIN_FORMS) or ()
    started = time.perf_counter()
    fingerprint_seconds = started - fingerprint_started
    run = await try_logins(
        dev,
        service,
        credentials,
        Pace(timeout=args.timeout, connections=args.connections),
        pages=pages,
        forms=forms,
    )
    seconds = time.perf_counter() - started
    found = [a.credential.password for a in run.attempts if a.outcome is Outcome.ACCEPTED]
    print(
        json.dumps(
            {
                "attempts": len(run.attempts),
                "seconds": seconds,
                "fingerprint_seconds": fingerprint_seconds,
                "found": found[0] if found else None,
                "outcomes": Counter(a.outcome.value for a in run.attempts),
                "method": run.method,
                "note": run.note,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
