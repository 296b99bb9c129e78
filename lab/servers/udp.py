"""UDP services: one datagram in, at most one datagram back to the sender.

Each protocol module supplies a pure `answerer(spec, device) -> (bytes -> bytes | None)`;
this module only moves datagrams, so malformed input can never take an endpoint down.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from lab.servers import bacnet, coap, mdns, ntp, snmp, ssdp, tftp
from lab.servers.streams import Listener

if TYPE_CHECKING:
    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

log = logging.getLogger(__name__)

Answer = Callable[[bytes], bytes | None]
MAX_DATAGRAM = 4096  # anything larger is not a query these devices understand

_ANSWERERS: dict[str, Callable[[ServiceSpec, DeviceContext], Answer]] = {
    "snmp": snmp.answerer,
    "ssdp": ssdp.answerer,
    "mdns": mdns.answerer,
    "coap": coap.answerer,
    "tftp": tftp.answerer,
    "ntp": ntp.answerer,
    "bacnet": bacnet.answerer,
}
#: Protocols whose server answers from a fresh port, not the one asked: TFTP picks a new
#: transfer ID (port) for every request (RFC 1350 §4).
_FRESH_PORT = frozenset({"tftp"})


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer, host: str, fresh_port: bool = False) -> None:
        self._answer = answer
        self._host = host
        self._fresh_port = fresh_port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # create_datagram_endpoint always hands a datagram transport to its protocol.
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(data) > MAX_DATAGRAM or self.transport is None:
            return
        try:
            reply = self._answer(data)
        except (ValueError, IndexError, struct.error) as exc:
            # Malformed queries get silence, as from a real device.
            log.debug("ignored malformed datagram from %s: %s", addr, exc)
            return
        if reply is None:
            return
        if self._fresh_port:
            self._send_from_fresh_port(reply, addr)
        else:
            self.transport.sendto(reply, addr)

    def _send_from_fresh_port(self, reply: bytes, addr: tuple[str | object, int]) -> None:
        # One small datagram on a non-blocking socket: sendto never waits. The port closes
        # at once because the only fresh-port reply here is a TFTP ERROR, which ends the
        # transfer and is never retransmitted (RFC 1350 §7).
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.bind((self._host, 0))
                sock.sendto(reply, addr)
        except OSError as exc:
            log.debug("could not answer %s from a fresh port: %s", addr, exc)


class UdpListener(Listener):
    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    async def close(self) -> None:
        self._transport.close()


async def start(spec: ServiceSpec, device: DeviceContext, host: str, port: int) -> Listener:
    answer = _ANSWERERS[spec.protocol](spec, device)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Responder(answer, host, spec.protocol in _FRESH_PORT), local_addr=(host, port)
    )
    return UdpListener(transport)
