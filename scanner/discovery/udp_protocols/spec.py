"""What a UDP protocol module declares: its ports and, per scan, the requests it sends.

Each protocol module in this package builds its requests (with the nonces a reply must
echo) and parses replies; it exposes one `PROTOCOL`, and `scanner/discovery/udp.py` lists
them all in its table and does the sending and matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    #: (address, port) -> the requests sent there.
    Requests = Callable[[str, int], tuple["Request", ...]]


@dataclass(frozen=True, slots=True)
class Request:
    """One datagram to send, and how to tell an answer to it."""

    label: str  # distinguishes two requests on one port (SNMP v1 and v2c)
    payload: bytes
    text: str  # what was sent, described
    #: A reply -> (label of the request it answers, summary), or None if it answers none.
    parse: Callable[[bytes], tuple[str, str] | None]
    community: str = ""  # SNMP community the request carries: an answer accepts it


@dataclass(frozen=True, slots=True)
class UdpProtocol:
    """A protocol discovery can speak, and where."""

    name: str  # "snmp", "dns", "tftp", "bacnet", ...
    ports: tuple[int, ...]  # the usual and the common alternate ports
    #: Draws this scan's nonces from the generator and returns the request builder.
    start: Callable[[random.Random], Requests]
    #: Replies may come from another source port of the probed address (SSDP, TFTP).
    any_source_port: bool = False


def unlabelled(parse: Callable[[bytes], str | None]) -> Callable[[bytes], tuple[str, str] | None]:
    """The parser of a request that stands alone on its port: its answer reads no label back."""

    def parse_unlabelled(data: bytes) -> tuple[str, str] | None:
        summary = parse(data)
        return None if summary is None else ("", summary)

    return parse_unlabelled


def one(payload: bytes, text: str, parse: Callable[[bytes], str | None]) -> Requests:
    """The same single request, unlabelled, for every address and port."""
    request = Request("", payload, text, unlabelled(parse))
    return lambda _address, _port: (request,)
