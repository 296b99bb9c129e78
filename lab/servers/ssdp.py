"""SSDP (UPnP discovery): a unicast M-SEARCH gets an HTTP/1.1 200 OK naming the root device."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from lab.personality import ServiceSpec
    from lab.servers.context import DeviceContext

DEVICE_TYPE = "urn:schemas-upnp-org:device:Basic:1"
DEFAULT_SERVER = "Linux/5.10 UPnP/1.0 shinsa-lab/1.0"


def answerer(spec: ServiceSpec, device: DeviceContext) -> Callable[[bytes], bytes | None]:
    # Stable per device: a scanner comparing two scans of one lab sees the same UUID.
    seed = f"shinsa-lab:{device.personality.name}:{device.address}"
    udn = f"uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"
    http_ports = [
        s.port for s in device.personality.services if s.protocol == "http" and not s.fault
    ]
    location = f"http://{device.address}:{http_ports[0] if http_ports else 80}/description.xml"
    server = spec.server or DEFAULT_SERVER

    def answer(data: bytes) -> bytes | None:
        lines = data.decode("utf-8", "replace").split("\r\n")
        if lines[0].split() != ["M-SEARCH", "*", "HTTP/1.1"]:
            return None
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().upper()] = value.strip()
        if "ssdp:discover" not in headers.get("MAN", ""):
            return None
        search = headers.get("ST", "")
        if search in ("ssdp:all", "upnp:rootdevice"):
            st, usn = "upnp:rootdevice", f"{udn}::upnp:rootdevice"
        elif search == DEVICE_TYPE:
            st, usn = DEVICE_TYPE, f"{udn}::{DEVICE_TYPE}"
        elif search == udn:
            st, usn = udn, udn
        else:
            return None  # a search target this device is not: silence, per UPnP
        reply = [
            "HTTP/1.1 200 OK",
            "CACHE-CONTROL: max-age=1800",
            "EXT:",
            f"LOCATION: {location}",
            f"SERVER: {server}",
            f"ST: {st}",
            f"USN: {usn}",
        ]
        return ("\r\n".join(reply) + "\r\n\r\n").encode()

    return answer
