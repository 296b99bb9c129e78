"""The standard HTTP client the web programs' `verify()` logs in with (httpx).

It connects from an address of its own in the web block, as an operator's workstation
would, so that a program that limits failed logins per client address (OctoPrint) answers
`verify` about the account, not about the address the scanner used.
"""

from __future__ import annotations

import httpx

#: Source address of every `verify()` login: in 127.0.72.0/24, used by no program.
VERIFY_SOURCE = "127.0.72.250"
TIMEOUT = 15.0


def client(address: str, port: int, *, source: str = VERIFY_SOURCE) -> httpx.Client:
    # trust_env=False: no proxy from the environment may carry a loopback request elsewhere.
    return httpx.Client(
        base_url=f"http://{address}:{port}",
        timeout=TIMEOUT,
        trust_env=False,
        transport=httpx.HTTPTransport(local_address=source),
    )
