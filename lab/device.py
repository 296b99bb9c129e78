"""Lab devices: a personality served on one loopback address, and labs of many devices.

Binding low ports: ports below 1024 need root (or CAP_NET_BIND_SERVICE). When binding one
raises PermissionError the device binds port + 10000 instead (23 -> 10023) and records the
port it really bound in `services`, so tests and scanners aim at the right place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from lab.addresses import consecutive
from lab.auth import AuthState, LoggedAttempt
from lab.personality import Personality, ServiceSpec
from lab.servers import (
    adb,
    faults,
    ftp,
    http,
    jetdirect,
    modbus,
    mqtt,
    rtsp,
    s7,
    ssh,
    telnet,
    udp,
)
from lab.servers.context import DeviceContext
from lab.servers.streams import Listener
from lab.servers.tls import TlsContexts
from scanner.model import Service

if TYPE_CHECKING:
    from types import TracebackType

UNPRIVILEGED_OFFSET = 10000
#: Everything a device started must be closed within this long; hung clients are aborted.
CLOSE_TIMEOUT = 2.0

_Start = Callable[[ServiceSpec, DeviceContext, str, int], Awaitable[Listener]]
_SERVERS: dict[str, _Start] = {
    "telnet": telnet.start,
    "http": http.start,
    "https": http.start,
    "ftp": ftp.start,
    "rtsp": rtsp.start,
    "mqtt": mqtt.start,
    "mqtts": mqtt.start,
    "ssh": ssh.start,
    "modbus": modbus.start,
    "s7": s7.start,
    "adb": adb.start,
    "jetdirect": jetdirect.start,
    "snmp": udp.start,
    "ssdp": udp.start,
    "mdns": udp.start,
    "coap": udp.start,
    "tftp": udp.start,
    "ntp": udp.start,
    "bacnet": udp.start,
}
_TLS_PROTOCOLS = frozenset({"https", "mqtts"})


def expected_service(spec: ServiceSpec, port: int) -> Service:
    """What a perfect scanner reports for `spec` bound on `port`: the lab's ground truth."""
    if spec.fault:
        return Service(transport=spec.transport, port=port, protocol="unknown")
    return Service(
        transport=spec.transport,
        port=port,
        protocol=spec.protocol,
        tls=spec.protocol in _TLS_PROTOCOLS,
    )


class LabDevice:
    """One simulated device; `async with` starts every service and stops them all again."""

    def __init__(
        self, personality: Personality, address: str, tls: TlsContexts | None = None
    ) -> None:
        self.personality = personality
        self.address = consecutive(str(address), 1)[0]  # refuses anything but loopback
        self.services: tuple[Service, ...] = ()
        #: Every protocol's logins go through this one state (device-wide lockout/throttle).
        self.auth = AuthState(personality)
        self._context = DeviceContext(personality, self.address, tls or TlsContexts(), self.auth)
        self._listeners: list[Listener] = []

    @property
    def name(self) -> str:
        return self.personality.name

    def locked_accounts(self) -> set[str]:
        """Usernames locked at any time since the device started (lockout scope: account)."""
        return self.auth.locked_accounts()

    def locked_sources(self) -> set[str]:
        """Client addresses locked at any time since the device started (scope: source)."""
        return self.auth.locked_sources()

    def throttled_sources(self) -> set[str]:
        """Client addresses refused as throttled at any time since the device started."""
        return self.auth.throttled_sources()

    def is_locked(self, key: str) -> bool:
        """Whether a username (or, with scope: source, a client address) is locked right now."""
        return self.auth.is_locked(key)

    def failures(self, username: str) -> int:
        """Failed logins for `username` on every protocol, refusals while locked included."""
        return self.auth.failures(username)

    def login_attempts(self) -> list[LoggedAttempt]:
        """Every checked login (protocol, username, source, result), oldest first."""
        return self.auth.attempts()

    async def __aenter__(self) -> LabDevice:
        services: list[Service] = []
        try:
            for spec in self.personality.services:
                listener = await self._start(spec)
                self._listeners.append(listener)
                services.append(expected_service(spec, listener.port))
        except BaseException:
            await self.close()
            raise
        self.services = tuple(services)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        listeners, self._listeners = self._listeners, []
        if listeners:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await asyncio.gather(*(lst.close() for lst in listeners))

    async def _start(self, spec: ServiceSpec) -> Listener:
        start = faults.start if spec.fault else _SERVERS[spec.protocol]
        try:
            return await start(spec, self._context, self.address, spec.port)
        except PermissionError:
            if spec.port >= 1024 or spec.port + UNPRIVILEGED_OFFSET > 65535:
                raise
            return await start(spec, self._context, self.address, spec.port + UNPRIVILEGED_OFFSET)

    def __repr__(self) -> str:
        return f"LabDevice({self.name!r}, {self.address!r})"


class Lab:
    """Many devices on consecutive addresses, started together and stopped together."""

    def __init__(
        self,
        personalities: Sequence[Personality],
        first_address: str = "127.0.10.1",
        tls: TlsContexts | None = None,
    ) -> None:
        """`tls`: certificates and SSH host keys to reuse (another lab's: its devices come
        back with the same keys, as a device that moved to another address)."""
        tls = tls or TlsContexts()  # one cache for the whole lab
        addresses = consecutive(first_address, len(personalities))
        self.devices = [LabDevice(p, a, tls) for p, a in zip(personalities, addresses, strict=True)]

    async def __aenter__(self) -> Lab:
        try:
            for device in self.devices:
                await device.__aenter__()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        # Concurrently, so a lab of many devices still stops within one device's CLOSE_TIMEOUT.
        await asyncio.gather(*(device.close() for device in self.devices))
