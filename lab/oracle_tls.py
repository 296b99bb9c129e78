"""The naive oracle for the tls.* checks: one-line rules from a service's `tls:` options.

The name sets below are this file's own short lists of what the lab's personalities plant
(OpenSSL cipher names), not the scanner's policy table. Two facts of the lab are written
down as they are: every TLS 1.0 suite this OpenSSL serves without being weak otherwise is a
CBC suite (so TLS 1.0 means "CBC only"), and OpenSSL's DEFAULT list holds static-RSA suites,
which an RSA certificate makes usable. Targets are scanned by address (no host name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.oracle import service_key
from scanner.model import Verdict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lab.personality import Personality, ServiceSpec

CHECKS = (
    "tls.versions",
    "tls.ciphers",
    "tls.forward-secrecy",
    "tls.cert.validity",
    "tls.cert.trust",
    "tls.cert.key",
    "tls.cert.signature",
    "tls.cert.name",
)
TLS_PROTOCOLS = frozenset({"https", "mqtts"})
ORDER = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
PLANTED_WEAK = frozenset({"NULL-MD5", "NULL-SHA", "AECDH-AES128-SHA", "AECDH-NULL-SHA"})
STATIC_RSA = frozenset(
    {"AES128-SHA", "AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "NULL-MD5", "NULL-SHA"}
)


@dataclass(frozen=True, slots=True)
class TlsParams:
    """The profile parameters the rules depend on (the base profile sets none of them)."""

    min_version: str = "TLSv1.2"
    min_days_left: int = 0
    accept_self_signed: bool = False
    lab_ca_trusted: bool = False  # tls.cert.trust's ca_file is the lab CA


def tls_verdicts(spec: ServiceSpec, params: TlsParams = TlsParams()) -> dict[str, Verdict]:
    o = spec.tls
    names = set(o.ciphers.split(":")) if o.ciphers else {"DEFAULT"}
    rsa = o.key.startswith("rsa-")
    low = ORDER.index(o.versions[0]) < ORDER.index(params.min_version)
    old_only = ORDER.index(o.versions[-1]) < ORDER.index("TLSv1.2")
    static = rsa and bool(names & (STATIC_RSA | {"DEFAULT"}))
    trust = params.accept_self_signed if o.issuer == "self" else params.lab_ca_trusted
    return {
        "tls.versions": Verdict.FAIL if low or old_only else Verdict.PASS,
        "tls.ciphers": Verdict.FAIL
        if names & PLANTED_WEAK or "TLSv1.0" in o.versions
        else Verdict.PASS,
        "tls.forward-secrecy": Verdict.FAIL if static else Verdict.PASS,
        "tls.cert.validity": Verdict.FAIL
        if o.validity != "ok" or o.expires_in_days < params.min_days_left
        else Verdict.PASS,
        "tls.cert.trust": Verdict.PASS if trust else Verdict.FAIL,
        "tls.cert.key": Verdict.FAIL if o.key == "rsa-1024" else Verdict.PASS,
        "tls.cert.signature": Verdict.FAIL if o.signature == "sha1" else Verdict.PASS,
        "tls.cert.name": Verdict.PASS if o.address else Verdict.FAIL,
    }


def expected_tls(
    p: Personality,
    ports: Mapping[tuple[str, int], int] | None = None,
    params: TlsParams = TlsParams(),
    *,
    by_name: bool = True,
) -> dict[tuple[str, str], Verdict]:
    """{(service key, check ID): verdict} for every TLS service that is not a fault.
    `by_name`: the scan labels the device with its personality name (a host name), so
    tls.cert.name looks for that name; else for the address."""
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        if spec.protocol not in TLS_PROTOCOLS or spec.fault:
            continue
        key = service_key(spec, ports)
        for check, verdict in tls_verdicts(spec, params).items():
            out[(key, check)] = verdict
        if by_name:  # the lab certificate names the device unless `names` are given
            named = p.name in (spec.tls.names or (p.name,))
            out[(key, "tls.cert.name")] = Verdict.PASS if named else Verdict.FAIL
    return out
