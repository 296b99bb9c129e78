"""Expected session.* and web.access-control verdicts, as one-line rules on a personality.

A session can only be judged after a login, so the first rule is whether the scan has a
credential for the service: a factory default it finds (see `lab.oracle.creds_verdict`),
or the profile's test account (`test_account=True`, the account the personality lists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.oracle import expected_creds, service_key
from scanner.model import Verdict

if TYPE_CHECKING:
    from lab.personality import Personality, ServiceSpec

SESSION_CHECKS = (
    "session.cookie-flags",
    "session.fixation",
    "session.logout",
    "session.id-in-url",
    "web.access-control",
)


def _cookie_ok(spec: ServiceSpec) -> bool:
    attrs = {a.strip().split("=")[0].lower() for a in spec.cookie.split(";")}
    secure_ok = spec.protocol != "https" or "secure" in attrs
    return "httponly" in attrs and "samesite" in attrs and secure_ok


def _form_rules(spec: ServiceSpec) -> dict[str, Verdict]:
    # A page that needs the session exists: /home (redirect or URL session) or /admin.
    protected = spec.form_success == "redirect" or spec.session_in_url or spec.admin != "open"
    logout = {
        "none": Verdict.INCONCLUSIVE,  # no logout link to follow
        "ignores": Verdict.FAIL,
        "invalidates": Verdict.PASS,
    }[spec.logout]
    return {
        "session.cookie-flags": Verdict.PASS if _cookie_ok(spec) else Verdict.FAIL,
        "session.fixation": Verdict.FAIL if spec.fixation else Verdict.PASS,
        "session.logout": logout if protected else Verdict.INCONCLUSIVE,
        "session.id-in-url": Verdict.FAIL if spec.session_in_url else Verdict.PASS,
        "web.access-control": Verdict.FAIL if spec.admin == "open" else Verdict.PASS,
    }


def session_verdicts(p: Personality, spec: ServiceSpec, *, credential: bool) -> dict[str, Verdict]:
    if spec.redirect_to or spec.login == "none":
        return dict.fromkeys(SESSION_CHECKS, Verdict.NOT_APPLICABLE)  # no login of its own
    if spec.login == "always-200" or not credential:
        return dict.fromkeys(SESSION_CHECKS, Verdict.INCONCLUSIVE)  # no login to stand on
    if spec.login in ("basic", "digest"):
        return {
            "session.cookie-flags": Verdict.NOT_APPLICABLE,
            "session.fixation": Verdict.NOT_APPLICABLE,
            "session.logout": Verdict.NOT_APPLICABLE,
            "session.id-in-url": Verdict.PASS,
            "web.access-control": Verdict.PASS,  # 401 without the credential
        }
    if spec.login == "json":
        return {
            "session.cookie-flags": Verdict.NOT_APPLICABLE,  # a token, not a cookie
            "session.fixation": Verdict.NOT_APPLICABLE,
            "session.logout": Verdict.INCONCLUSIVE,  # no logout link on a JSON answer
            "session.id-in-url": Verdict.PASS,
            "web.access-control": Verdict.INCONCLUSIVE,  # no page known to need the token
        }
    return _form_rules(spec)


def expected_session(
    p: Personality,
    ports: dict[tuple[str, int], int] | None = None,
    *,
    test_account: bool = False,
) -> dict[tuple[str, str], Verdict]:
    creds = expected_creds(p, ports)
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        if spec.fault or spec.protocol not in ("http", "https"):
            continue
        key = service_key(spec, ports)
        found = creds.get((key, "creds.default.http")) is Verdict.FAIL
        credential = test_account or found
        for check, verdict in session_verdicts(p, spec, credential=credential).items():
            out[(key, check)] = verdict
    return out


def reflection_verdict(spec: ServiceSpec) -> Verdict:
    """web.xss.reflected: only the lab's search page can echo input; the root and error
    pages never do."""
    if spec.redirect_to:
        return Verdict.PASS  # the redirect answer's path is tested; it echoes nothing
    if spec.login in ("basic", "digest"):
        return Verdict.INCONCLUSIVE  # every page, the missing one included, answers 401
    return Verdict.FAIL if spec.search == "reflected" else Verdict.PASS


def expected_reflection(
    p: Personality, ports: dict[tuple[str, int], int] | None = None
) -> dict[tuple[str, str], Verdict]:
    out: dict[tuple[str, str], Verdict] = {}
    for spec in p.services:
        if spec.fault or spec.protocol not in ("http", "https"):
            continue
        key = service_key(spec, ports)
        out[(key, "web.xss.reflected")] = reflection_verdict(spec)
    return out
