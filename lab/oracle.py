"""The naive oracle: expected results from a personality, as a table of one-line rules.

It must stay naive. If it starts to reason like the scanner, it stops being an oracle.
Rules assume the base profile (every identified service allowed) and the scanner's UDP
community list, which starts with "public".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.device import expected_service
from scanner.model import Verdict

if TYPE_CHECKING:
    from lab.personality import Personality, ServiceSpec

# services.cleartext-admin, by lab protocol (faults are handled before this table)
CLEARTEXT: dict[str, Verdict] = {
    "telnet": Verdict.FAIL,
    "ftp": Verdict.FAIL,
    "adb": Verdict.FAIL,
    "ssdp": Verdict.FAIL,
    "tftp": Verdict.FAIL,  # no authentication, no encryption
    "mqtt": Verdict.FAIL,  # any plain-TCP broker that answers CONNACK
    "ssh": Verdict.PASS,
    "https": Verdict.PASS,
    "mqtts": Verdict.PASS,
    "rtsp": Verdict.PASS,
    "modbus": Verdict.PASS,
    "s7": Verdict.PASS,
    "jetdirect": Verdict.PASS,
    "mdns": Verdict.PASS,
    "coap": Verdict.PASS,
    "bacnet": Verdict.PASS,
    "ntp": Verdict.PASS,
    "dns": Verdict.PASS,
}


def cleartext_verdict(spec: ServiceSpec) -> Verdict:
    if spec.fault:
        return Verdict.INCONCLUSIVE
    if spec.protocol == "http":
        return Verdict.PASS if spec.login == "none" else Verdict.FAIL
    if spec.protocol == "snmp":
        return Verdict.FAIL if "public" in spec.communities else Verdict.INCONCLUSIVE
    return CLEARTEXT[spec.protocol]


def unexpected_verdict(spec: ServiceSpec) -> Verdict:
    return Verdict.INCONCLUSIVE if spec.fault else Verdict.PASS


def expected_results(
    personality: Personality, ports: dict[tuple[str, int], int] | None = None
) -> dict[tuple[str, str], Verdict]:
    """{(service key, check ID): verdict} for a device; `ports` maps a personality's
    (transport, port) to the port actually bound, when the lab had to move it."""
    out: dict[tuple[str, str], Verdict] = {}
    for spec in personality.services:
        port = (ports or {}).get((spec.transport, spec.port), spec.port)
        key = expected_service(spec, port).key
        out[(key, "services.unexpected")] = unexpected_verdict(spec)
        out[(key, "services.cleartext-admin")] = cleartext_verdict(spec)
    return out
