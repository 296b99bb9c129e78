"""Expected auth.lockout verdicts, as one-line rules on a personality's auth policy.

The probe is intrusive: with the base profile it is skipped everywhere. With it allowed and
an account known (the profile's test account, which the personality lists, or a factory
login the scan finds), the policy decides: a lock or throttle within `max_attempts`
failures, or a delay that grows to at least 1 s, passes; nothing, or a lock only later,
fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.oracle import expected_creds, service_key
from scanner.model import Verdict

if TYPE_CHECKING:
    from lab.personality import Personality, ServiceSpec

LOGIN_PROTOCOLS = frozenset({"ssh", "telnet", "ftp", "http", "https", "mqtt", "mqtts"})
MAX_ATTEMPTS = 5  # the auth.lockout default


def reacts(p: Personality, max_attempts: int = MAX_ATTEMPTS) -> bool:
    policy = p.auth
    lock = policy.lockout is not None and policy.lockout.after <= max_attempts
    throttle = policy.throttle is not None and policy.throttle.after <= max_attempts
    delay = policy.delay is not None and policy.delay.for_streak(max_attempts) >= 1.0
    return lock or throttle or delay


def lockout_verdict(
    p: Personality, spec: ServiceSpec, *, intrusive: bool, account: bool
) -> Verdict:
    if not intrusive:
        return Verdict.SKIPPED
    if spec.protocol in ("http", "https") and (spec.login == "none" or spec.redirect_to):
        return Verdict.NOT_APPLICABLE  # no login surface of its own
    if spec.protocol == "ssh" and spec.login == "none":
        return Verdict.INCONCLUSIVE  # banner-only: no login to measure
    if not account:
        return Verdict.INCONCLUSIVE  # the rules below need a working login
    return Verdict.PASS if reacts(p) else Verdict.FAIL


def expected_lockout(
    p: Personality,
    ports: dict[tuple[str, int], int] | None = None,
    *,
    intrusive: bool = False,
    test_account: bool = False,
) -> dict[tuple[str, str], Verdict]:
    creds = expected_creds(p, ports)
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        if spec.fault or spec.protocol not in LOGIN_PROTOCOLS:
            continue
        key = service_key(spec, ports)
        family = "http" if spec.protocol in ("http", "https") else spec.protocol.rstrip("s")
        found = creds.get((key, f"creds.default.{family}")) is Verdict.FAIL
        account = test_account or found
        out[(key, "auth.lockout")] = lockout_verdict(p, spec, intrusive=intrusive, account=account)
    return out
