"""NTP (RFC 5905): a client request with a random transmit timestamp, and the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.discovery.udp_protocols.spec import UdpProtocol, one
from scanner.model import bound_text

if TYPE_CHECKING:
    import random

    from scanner.discovery.udp_protocols.spec import Requests


_NTP_PACKET = 48
_NTP_CLIENT, _NTP_SERVER = 3, 4


def ntp_client_request(transmit: bytes) -> bytes:
    """An NTPv4 mode-3 request whose transmit timestamp is the 8 random bytes `transmit`.

    The server copies it into the reply's origin timestamp (RFC 5905 §8), which makes it
    our nonce; a random value also avoids disclosing the local clock (RFC 9109 §4).
    """
    if len(transmit) != 8:
        raise ValueError("an NTP timestamp is 8 bytes")
    return bytes(((4 << 3) | _NTP_CLIENT,)) + bytes(39) + transmit


def parse_ntp_response(data: bytes, transmit: bytes) -> str | None:
    """Summary (`NTPv4 stratum 2`) of a server reply to our request, or None."""
    if len(data) < _NTP_PACKET:
        return None  # extension fields and a MAC may follow the 48-byte header, never less
    first, stratum = data[0], data[1]
    version, mode = (first >> 3) & 0x7, first & 0x7
    if mode != _NTP_SERVER or not 1 <= version <= 4 or data[24:32] != transmit:
        return None
    summary = f"NTPv{version} stratum {stratum}"
    refid = data[12:16]
    if stratum in (0, 1):
        # Stratum 0 carries a kiss code, stratum 1 a reference source, both 4 ASCII
        # characters (RFC 5905 §7.3 and §7.4).
        code = bound_text(refid.rstrip(b"\x00"), 4)
        summary += f" ({'kiss code' if stratum == 0 else 'reference'} {code})" if code else ""
    elif stratum >= 16:
        summary += " (unsynchronised)"
    return summary


def _start(rng: random.Random) -> Requests:
    transmit = rng.getrandbits(64).to_bytes(8, "big")
    return one(
        ntp_client_request(transmit),
        "NTPv4 client request (mode 3)",
        lambda data: parse_ntp_response(data, transmit),
    )


PROTOCOL = UdpProtocol("ntp", (123,), _start)
