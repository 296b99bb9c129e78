"""SSDP: a unicast M-SEARCH and the discovery headers of its answer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import Request, UdpProtocol, unlabelled
from scanner.model import bound_text

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


_SSDP_STATUS = re.compile(rb"^HTTP/1\.[01] 200[ \r\n]")
_SSDP_KEEP = ("SERVER", "ST", "USN", "LOCATION")


def ssdp_search(address: str, port: int) -> bytes:
    """A unicast M-SEARCH (UPnP 1.1 §1.3.3): HOST names the device, not the multicast group."""
    host = f"[{address}]" if ":" in address else address
    return (
        f'M-SEARCH * HTTP/1.1\r\nHOST: {host}:{port}\r\nMAN: "ssdp:discover"\r\n'
        "MX: 1\r\nST: ssdp:all\r\nUSER-AGENT: shinsa/0.1 UPnP/1.1\r\n\r\n"
    ).encode()


def parse_ssdp_response(data: bytes) -> str | None:
    """Summary of an SSDP search response (SERVER, ST, USN, LOCATION), or None."""
    if not _SSDP_STATUS.match(data):
        return None
    headers: dict[str, str] = {}
    for line in data.split(b"\r\n")[1:64]:  # a real response has a dozen headers
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            headers.setdefault(
                name.strip().upper().decode("latin-1"), value.strip().decode("latin-1")
            )
    if not any(key in headers for key in ("ST", "USN", "LOCATION")):
        return None  # an HTTP 200 without discovery headers is some other server
    return bound_text("; ".join(f"{k}: {headers[k]}" for k in _SSDP_KEEP if k in headers))


def _requests(address: str, port: int) -> tuple[Request, ...]:
    # HOST names the device and its port, so each target gets its own payload.
    payload = ssdp_search(address, port)
    return (Request("", payload, "SSDP M-SEARCH ST ssdp:all", unlabelled(parse_ssdp_response)),)


def _start(_rng: random.Random) -> Requests:
    return _requests


#: UPnP 1.1 §1.3.3 lets the device answer from any port.
PROTOCOL = UdpProtocol("ssdp", (1900,), _start, any_source_port=True)
