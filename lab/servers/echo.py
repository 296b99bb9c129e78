"""Hostile firmware (fault-secret-echo, `echo_secrets: true`): the secret a client logged in
with (or the SNMP community it asked with), repeated back in every form such firmware uses.

A scanner must never carry any of these into a report: tests/integration/test_secret_echo.py
greps every output for each of them.
"""

from __future__ import annotations

import base64
from urllib.parse import quote


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def echoes(secret: str) -> str:
    """`secret` as given, upper-cased, percent-encoded, base64-encoded and cut to 6 characters."""
    return f"{secret} {secret.upper()} {quote(secret, safe='')} {b64(secret)} {secret[:6]}"


def header_safe(text: str) -> str:
    """`text` as firmware puts it in a header value: printable ASCII kept as it is, anything
    that would end the value or the header (space, `;`, `,`, control and non-ASCII
    characters) percent-encoded, so h11 accepts whatever password was given."""
    return quote(text, safe="!#$%&'()*+-./:<=>?@[]^_`{|}~")
