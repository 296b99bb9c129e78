"""Drift: what changed on a device between an accepted state (the baseline) or the previous
run and this run. Computed after each run from the service's database, stored in the
`drift` table, sent by the alert channels (scanner/service/alerts/).

`Drift.to_json` is the stable shape every alert channel and `shinsa drift --json` carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: every kind of drift, in the order a report lists them (worst news first)
KINDS = (
    "device_unreachable",  # the device did not answer (or was not scanned to the end)
    "identity_changed",  # same address, another device (host key, certificate, UDN differ)
    "new_device",  # a device the baseline (or the previous run) did not have
    "service_opened",  # a port that was closed answers
    "new_failure",  # a check that passed (or was not run) now fails
    "status_regression",  # a requirement's status got worse (satisfied -> not_satisfied...)
    "cert_expiring",  # a certificate has fewer days left than the profile's threshold
    "service_closed",  # a port that answered is closed
    "fixed",  # a check that failed now passes
)


@dataclass(frozen=True, slots=True)
class Drift:
    device_id: int
    address: str
    against: str  # "baseline" | "previous"
    kind: str  # one of KINDS
    subject: str  # "tcp/23 telnet", a check ID, "iec62443-4-2 CR 1.1", a certificate
    before: str = ""
    after: str = ""
    severity: str = ""  # the failed check's severity, where one applies
    against_run_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "address": self.address,
            "against": self.against,
            "against_run_id": self.against_run_id,
            "kind": self.kind,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "severity": self.severity,
            "detail": self.detail,
        }
