"""What a protocol server knows about the device it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    from lab.personality import Personality
    from lab.servers.tls import TlsContexts


@dataclass(frozen=True, slots=True)
class DeviceContext:
    personality: Personality
    address: str
    tls: TlsContexts

    def server_tls(self) -> ssl.SSLContext:
        return self.tls.server_context(self.address, self.personality.title)
