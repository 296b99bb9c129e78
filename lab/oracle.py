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
    from collections.abc import Mapping

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


def service_key(spec: ServiceSpec, ports: Mapping[tuple[str, int], int] | None) -> str:
    """The key a perfect scan gives `spec`'s service, on the port the lab really bound."""
    return expected_service(spec, (ports or {}).get((spec.transport, spec.port), spec.port)).key


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


# --- creds.default.* -----------------------------------------------------------------------
#: the base profile's default-credentials parameters (LoginBudget's defaults)
BASE_PER_ACCOUNT = 2
BASE_GENERIC_TOP = 25
#: lab protocol -> default-credentials check family, in the order the scanner runs them
CREDS_FAMILY = {
    "ssh": "ssh",
    "telnet": "telnet",
    "ftp": "ftp",
    "http": "http",
    "https": "http",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
    "snmp": "snmp",
    "rtsp": "rtsp",
}
_FAMILY_ORDER = ("ssh", "telnet", "ftp", "http", "mqtt", "snmp", "rtsp")


def creds_verdict(p: Personality, spec: ServiceSpec, first_surface: bool) -> Verdict:
    """One-line rules; `first_surface`: the first service (in scan order) whose failed
    logins spend the device-wide per-account budget."""
    family = CREDS_FAMILY[spec.protocol]
    findable = _findable(family)
    planted = any(a.factory_default and (a.username, a.password) in findable for a in p.accounts)
    if family == "snmp":
        return Verdict.FAIL if {"public", "private"} & set(spec.communities) else Verdict.PASS
    if family == "ssh" and spec.login == "none":
        return Verdict.INCONCLUSIVE  # banner-only: the handshake never gets to a login
    if family == "http" and spec.login == "none":
        return Verdict.NOT_APPLICABLE  # no login surface
    if family == "http" and spec.login == "always-200":
        return Verdict.INCONCLUSIVE  # the control login "succeeds" too: no oracle
    if family == "rtsp" and spec.login == "none":
        return Verdict.FAIL  # stream served without credentials
    if family in ("ftp", "mqtt") and spec.anonymous:
        return Verdict.FAIL  # anonymous access, tried first
    if planted:
        return Verdict.FAIL
    if p.auth.throttle is not None:
        return Verdict.INCONCLUSIVE  # throttled before the list ends
    if p.auth.lockout is not None and p.auth.lockout.scope == "source":
        return Verdict.INCONCLUSIVE  # the scanner's address is locked before the list ends
    if p.auth.delay is not None and p.auth.delay.max > 2.0:
        return Verdict.INCONCLUSIVE  # answers slower than the scan's read timeout
    if not first_surface:
        return Verdict.INCONCLUSIVE  # budget spent before
    # An honest pass needs every candidate tried: the base profile's generic list has more
    # passwords per account than the budget of two (issue 10).
    return Verdict.PASS if _list_fits_budget(family) else Verdict.INCONCLUSIVE


def _base_candidates(family: str) -> tuple[tuple[str, str], ...]:
    """The base profile's candidates for `family` on a lab device (nothing identifies
    one): the generic top 25 of the shipped lists."""
    from scanner.credential_lists import load_catalog

    pairs = load_catalog().select(family, {}, generic_top=BASE_GENERIC_TOP).pairs
    return tuple((c.username, c.password) for c in pairs)


def _findable(family: str) -> frozenset[tuple[str, str]]:
    """Factory pairs a default scan reaches within its budget: the first two candidates of
    each account, in list order."""
    seen: dict[str, int] = {}
    out = set()
    for user, password in _base_candidates(family):
        seen[user] = seen.get(user, 0) + 1
        if seen[user] <= BASE_PER_ACCOUNT:
            out.add((user, password))
    return frozenset(out)


def _list_fits_budget(family: str) -> bool:
    """Whether every base-profile candidate fits the default per-account budget."""
    users = [u for u, _ in _base_candidates(family)]
    return all(users.count(u) <= BASE_PER_ACCOUNT for u in set(users))


def expected_creds(
    p: Personality, ports: dict[tuple[str, int], int] | None = None
) -> dict[tuple[str, str], Verdict]:
    """{(service key, check ID): verdict} for the default-credentials checks."""
    login_specs = [s for s in p.services if not s.fault and s.protocol in CREDS_FAMILY]
    ordered = sorted(
        login_specs, key=lambda s: (_FAMILY_ORDER.index(CREDS_FAMILY[s.protocol]), s.port)
    )
    spending = [s for s in ordered if _spends_budget(s)]
    out: dict[tuple[str, str], Verdict] = {}
    for spec in ordered:
        port = (ports or {}).get((spec.transport, spec.port), spec.port)
        key = expected_service(spec, port).key
        first = bool(spending) and spending[0] is spec
        out[(key, f"creds.default.{CREDS_FAMILY[spec.protocol]}")] = creds_verdict(p, spec, first)
    return out


def _spends_budget(spec: ServiceSpec) -> bool:
    """Services whose factory-login attempts fail and so use up the per-account budget."""
    return not (
        spec.protocol == "snmp"
        or (spec.protocol == "ssh" and spec.login == "none")
        or (spec.protocol in ("http", "https") and spec.login in ("none", "always-200"))
        or (spec.protocol == "rtsp" and spec.login == "none")
        or (spec.protocol in ("ftp", "mqtt", "mqtts") and spec.anonymous)
    )


# --- web.login.cleartext, web.hsts, web.secrets-in-url -----------------------------------
HSTS_MIN = 15_552_000  # the web.hsts default min_max_age


def _hsts_ok(header: str) -> bool:
    return "max-age=" in header and int(header.split("max-age=")[1].split(";")[0]) >= HSTS_MIN


def web_verdicts(p: Personality, spec: ServiceSpec) -> dict[str, Verdict]:
    """One-line rules on what GET / (and the device's own redirects) show."""
    if spec.redirect_to:  # judged on the HTTPS page it sends everyone to
        target = next(s for s in p.services if s.port == spec.redirect_to and not s.fault)
        return {
            "web.login.cleartext": Verdict.NOT_APPLICABLE
            if target.login == "none"
            else Verdict.PASS,
            "web.hsts": Verdict.PASS if _hsts_ok(target.hsts) else Verdict.FAIL,
            "web.secrets-in-url": Verdict.PASS,
            "web.https-redirect": Verdict.PASS,
        }
    tls = spec.protocol == "https"
    has_login = spec.login != "none"
    if not has_login:
        transport = Verdict.NOT_APPLICABLE
    elif not tls or spec.form_action == "http":
        transport = Verdict.FAIL
    else:
        transport = Verdict.PASS
    if not tls:
        hsts = Verdict.NOT_APPLICABLE
    else:
        hsts = Verdict.PASS if _hsts_ok(spec.hsts) else Verdict.FAIL
    # the JSON page's form has no method or action: a script submits it (unknowable)
    secrets = Verdict.INCONCLUSIVE if spec.login == "json" else Verdict.PASS
    if tls:
        redirect = Verdict.NOT_APPLICABLE  # HTTPS already
    else:
        redirect = Verdict.NOT_APPLICABLE if spec.login == "none" else Verdict.FAIL
    return {
        "web.login.cleartext": transport,
        "web.hsts": hsts,
        "web.secrets-in-url": secrets,
        "web.https-redirect": redirect,
    }


def expected_web(
    p: Personality, ports: dict[tuple[str, int], int] | None = None
) -> dict[tuple[str, str], Verdict]:
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        if spec.fault or spec.protocol not in ("http", "https"):
            continue
        key = service_key(spec, ports)
        for check, verdict in web_verdicts(p, spec).items():
            out[(key, check)] = verdict
    return out
