"""Expected session-expiry verdicts, as one-line rules on a personality and the profile's limits.

The checks wait only for limits the profile sets: with none (the base profile) every one is
skipped. A session can only be judged after a login: a factory default the scan finds (see
`lab.oracle.creds_verdict`) or the profile's test account (`test_account=True`). Limits in
tests sit well away from the planted timers, so a timer either clearly ends a session
within the limit or clearly does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.oracle import expected_creds, service_key
from scanner.model import Verdict

if TYPE_CHECKING:
    from lab.personality import Personality, ServiceSpec

IDLE, ABSOLUTE, CONCURRENT = (
    "session.idle-timeout",
    "session.absolute-timeout",
    "session.concurrent-limit",
)
KEEPALIVE = "session.mqtt-keepalive"
EXPIRY_CHECKS = (IDLE, ABSOLUTE, CONCURRENT, KEEPALIVE)
_FAMILY = {"http": "http", "https": "http", "ssh": "ssh", "telnet": "telnet", "mqtt": "mqtt"}
_FAMILY["mqtts"] = "mqtt"


@dataclass(frozen=True, slots=True)
class Limits:
    """The profile's parameters for the four checks; 0 = not set (skipped)."""

    max_idle_seconds: float = 0.0
    max_session_seconds: float = 0.0
    max_sessions: int = 0
    keepalive_seconds: int = 0


def _within(timers: tuple[float, ...], limit: float) -> Verdict:
    return Verdict.PASS if any(0 < t <= limit for t in timers) else Verdict.FAIL


def _measured(limits: Limits, rules: dict[str, Verdict]) -> dict[str, Verdict]:
    """The rules for the checks the profile asks for; the others are skipped."""
    asked = {
        IDLE: limits.max_idle_seconds,
        ABSOLUTE: limits.max_session_seconds,
        CONCURRENT: limits.max_sessions,
        KEEPALIVE: limits.keepalive_seconds,
    }
    return {check: v if asked[check] else Verdict.SKIPPED for check, v in rules.items()}


def web_rules(spec: ServiceSpec, limits: Limits, *, credential: bool) -> dict[str, Verdict]:
    if spec.redirect_to or spec.login == "none":
        return dict.fromkeys((IDLE, ABSOLUTE, CONCURRENT), Verdict.NOT_APPLICABLE)
    if spec.login == "always-200" or not credential:
        return dict.fromkeys((IDLE, ABSOLUTE, CONCURRENT), Verdict.INCONCLUSIVE)
    if spec.login in ("basic", "digest"):
        return dict.fromkeys((IDLE, ABSOLUTE, CONCURRENT), Verdict.NOT_APPLICABLE)  # no session
    if spec.login == "json":
        return dict.fromkeys((IDLE, ABSOLUTE, CONCURRENT), Verdict.INCONCLUSIVE)  # no page known
    return {
        IDLE: _within((spec.idle_timeout, spec.absolute_timeout), limits.max_idle_seconds),
        ABSOLUTE: _within((spec.absolute_timeout,), limits.max_session_seconds),
        CONCURRENT: _within((spec.max_sessions,), limits.max_sessions),
    }


def shell_rules(spec: ServiceSpec, limits: Limits, *, credential: bool) -> dict[str, Verdict]:
    if (spec.protocol == "ssh" and spec.login == "none") or not credential:
        return dict.fromkeys((IDLE, ABSOLUTE, CONCURRENT), Verdict.INCONCLUSIVE)
    return {
        IDLE: _within((spec.idle_timeout,), limits.max_idle_seconds),
        ABSOLUTE: Verdict.FAIL,  # the lab ends no busy shell
        CONCURRENT: Verdict.FAIL,  # 32 connections at once, more than any test limit
    }


def keepalive_rule(spec: ServiceSpec, *, credential: bool) -> dict[str, Verdict]:
    if not credential:
        return {KEEPALIVE: Verdict.INCONCLUSIVE}
    return {KEEPALIVE: Verdict.PASS if spec.keepalive_enforced else Verdict.FAIL}


def expected_expiry(
    p: Personality,
    ports: dict[tuple[str, int], int] | None = None,
    *,
    test_account: bool = False,
    limits: Limits = Limits(),
) -> dict[tuple[str, str], Verdict]:
    """{(service key, check ID): verdict} for session.idle-timeout, -absolute-timeout,
    -concurrent-limit (web, SSH, telnet) and session.mqtt-keepalive (MQTT)."""
    creds = expected_creds(p, ports)
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        family = _FAMILY.get(spec.protocol)
        if spec.fault or family is None:
            continue
        key = service_key(spec, ports)
        credential = test_account or creds.get((key, f"creds.default.{family}")) is Verdict.FAIL
        if family == "http":
            rules = web_rules(spec, limits, credential=credential)
        elif family == "mqtt":
            rules = keepalive_rule(spec, credential=credential)
        else:
            rules = shell_rules(spec, limits, credential=credential)
        for check, verdict in _measured(limits, rules).items():
            out[(key, check)] = verdict
    return out
