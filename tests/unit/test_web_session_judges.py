"""The web session checks' judges for access control and logout, pure: what the replays
saw, one verdict each, and a request that failed is never a pass."""

from __future__ import annotations

import pytest

from probes.web_session import AccessSeen, LogoutSeen, judge_access_control, judge_logout
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext, ServiceResults
from scanner.scope import Scope

ADDRESS = "127.0.75.64"
LOGIN = f"tcp/80 http on {ADDRESS}, after a login via form"


def about() -> ServiceResults:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    return ProbeContext(Target(ADDRESS), net, Facts()).about(Service("tcp", 80, "http"))


@pytest.mark.parametrize(
    ("seen", "verdict", "says"),
    [
        (AccessSeen(("/a",), open_pages=("/a",)), Verdict.FAIL, "/a answered with the same"),
        (AccessSeen(("/a",), protected=(("/a", b"x"),)), Verdict.PASS, "1 page(s) behind"),
        (AccessSeen(("/a",), notes=("/a: reset",)), Verdict.INCONCLUSIVE, "no page that shows"),
    ],
)
def test_access_control(seen: AccessSeen, verdict: Verdict, says: str):
    result = judge_access_control(about(), LOGIN, seen)
    assert (result.verdict, result.check_id) == (verdict, "web.access-control")
    assert result.reason.startswith(f"{LOGIN}: ")
    assert says in result.reason
    assert result.evidence[0].details["pages_tried"] == ["/a"]


@pytest.mark.parametrize(
    ("seen", "verdict", "says"),
    [
        (LogoutSeen(skipped="auth"), Verdict.NOT_APPLICABLE, "HTTP authentication has no logout"),
        (LogoutSeen(skipped="no link"), Verdict.INCONCLUSIVE, "no logout link"),
        (LogoutSeen(skipped="nothing protected"), Verdict.INCONCLUSIVE, "would prove nothing"),
        (
            LogoutSeen(logout="/out", replayed="/a", failed="the logout request failed: reset"),
            Verdict.ERROR,
            "the logout request failed: reset.",
        ),
        (
            LogoutSeen(logout="/out", replayed="/a", status=200, still_open=True),
            Verdict.FAIL,
            "after /out, the old session still opens /a.",
        ),
        (
            LogoutSeen(logout="/out", replayed="/a", status=302),
            Verdict.PASS,
            "no longer opens /a (HTTP 302).",
        ),
    ],
)
def test_logout(seen: LogoutSeen, verdict: Verdict, says: str):
    result = judge_logout(about(), LOGIN, seen)
    assert (result.verdict, result.check_id) == (verdict, "session.logout")
    assert says in result.reason
