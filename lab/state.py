"""The running lab as a JSON file: what `shinsa lab status` shows and scans can target."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from lab.device import LabDevice


@dataclass(frozen=True, slots=True)
class ServiceState:
    transport: str
    port: int
    protocol: str
    tls: bool = False


@dataclass(frozen=True, slots=True)
class DeviceState:
    name: str
    address: str
    services: tuple[ServiceState, ...]


@dataclass(frozen=True, slots=True)
class LabState:
    pid: int
    started: str  # ISO 8601, UTC
    devices: tuple[DeviceState, ...]

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(d.address for d in self.devices)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> LabState:
        """Raises ValueError when the text is not a lab state."""
        try:
            data = json.loads(text)
            return cls(
                pid=int(data["pid"]),
                started=str(data["started"]),
                devices=tuple(
                    DeviceState(
                        name=str(d["name"]),
                        address=str(d["address"]),
                        services=tuple(
                            ServiceState(
                                transport=str(s["transport"]),
                                port=int(s["port"]),
                                protocol=str(s["protocol"]),
                                tls=bool(s.get("tls", False)),
                            )
                            for s in d["services"]
                        ),
                    )
                    for d in data["devices"]
                ),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a lab state: {exc}") from exc


def device_state(device: LabDevice) -> DeviceState:
    return DeviceState(
        name=device.name,
        address=device.address,
        services=tuple(
            ServiceState(s.transport, s.port, s.protocol, s.tls) for s in device.services
        ),
    )


def write_atomically(path: Path, text: str) -> None:
    """Readers polling for the file never see it half written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
