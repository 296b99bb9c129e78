"""What a protocol server knows about the device it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio
    import ssl

    from lab.auth import AuthState
    from lab.personality import Personality
    from lab.servers.tls import TlsContexts


@dataclass(frozen=True, slots=True)
class DeviceContext:
    personality: Personality
    address: str
    tls: TlsContexts
    auth: AuthState

    def server_tls(self) -> ssl.SSLContext:
        return self.tls.server_context(
            self.address, self.personality.title, host=self.personality.name
        )


def peer_address(writer: asyncio.StreamWriter) -> str:
    """The client's IP address: what scope: source lockouts and throttles count by."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return "unknown"
