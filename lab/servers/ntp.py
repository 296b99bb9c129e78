"""NTP (RFC 5905): a mode-3 client request gets a mode-4 server reply at stratum 2.

The reply's origin timestamp is the request's transmit timestamp (§8), which is what a
client checks; the other timestamps are this machine's clock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

PACKET = 48
CLIENT, SERVER = 3, 4
STRATUM = 2
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
REFERENCE_ID = bytes((192, 0, 2, 1))  # "upstream server", a TEST-NET-1 address (RFC 5737)
PRECISION = -20  # about a microsecond, log2 seconds


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    return lambda data: respond(data, time.time())


def respond(data: bytes, now: float) -> bytes | None:
    if len(data) < PACKET:
        return None
    version, mode = (data[0] >> 3) & 7, data[0] & 7
    if mode != CLIENT or not 1 <= version <= 4:
        return None
    stamp = timestamp(now)
    return (
        bytes((version << 3 | SERVER, STRATUM, data[2], PRECISION & 0xFF))
        + (0x0100).to_bytes(4, "big")  # root delay, NTP short format: ~4 ms
        + (0x0100).to_bytes(4, "big")  # root dispersion
        + REFERENCE_ID
        + timestamp(now - 64)  # reference: the last (pretend) synchronisation
        + data[40:48]  # origin = the client's transmit timestamp
        + stamp  # receive
        + stamp  # transmit
    )


def timestamp(unix: float) -> bytes:
    seconds = int(unix) + NTP_EPOCH_OFFSET
    fraction = int((unix % 1) * 2**32)
    return (seconds & 0xFFFFFFFF).to_bytes(4, "big") + fraction.to_bytes(4, "big")
