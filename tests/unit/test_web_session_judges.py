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
LOGIN_JA = f"{ADDRESS} の tcp/80 (http)（form でログインした後）"


def about() -> ServiceResults:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    return ProbeContext(Target(ADDRESS), net, Facts()).about(Service("tcp", 80, "http"))


@pytest.mark.parametrize(
    ("seen", "verdict", "says", "says_ja"),
    [
        (
            AccessSeen(("/a",), open_pages=("/a",)),
            Verdict.FAIL,
            "/a answered with the same",
            "/a はセッションなしでも同じ内容を返した",
        ),
        (
            AccessSeen(("/a",), protected=(("/a", b"x"),)),
            Verdict.PASS,
            "1 page(s) behind",
            "1 ページはセッションなしの要求を拒否した",
        ),
        (
            AccessSeen(("/a",), notes=("/a: reset",)),
            Verdict.INCONCLUSIVE,
            "no page that shows",
            "セッションがあるときだけ内容を示すページが見つからず",
        ),
    ],
)
def test_access_control(seen: AccessSeen, verdict: Verdict, says: str, says_ja: str):
    result = judge_access_control(about(), LOGIN, LOGIN_JA, seen)
    assert (result.verdict, result.check_id) == (verdict, "web.access-control")
    assert result.reason.startswith(f"{LOGIN}: ")
    assert says in result.reason
    # the Japanese names the same device, service and pages
    assert result.reason_ja.startswith(f"{LOGIN_JA}: ")
    assert says_ja in result.reason_ja
    assert result.evidence[0].summary_ja
    assert result.evidence[0].details["pages_tried"] == ["/a"]


@pytest.mark.parametrize(
    ("seen", "verdict", "says", "says_ja"),
    [
        (
            LogoutSeen(skipped="auth"),
            Verdict.NOT_APPLICABLE,
            "HTTP authentication has no logout",
            "HTTP 認証にはログアウトがなく",
        ),
        (
            LogoutSeen(skipped="no link"),
            Verdict.INCONCLUSIVE,
            "no logout link",
            "ログアウトのリンクがない",
        ),
        (
            LogoutSeen(skipped="nothing protected"),
            Verdict.INCONCLUSIVE,
            "would prove nothing",
            "何も証明できない",
        ),
        (
            LogoutSeen(
                logout="/out",
                replayed="/a",
                failed="the logout request failed: reset",
                failed_ja="ログアウトの要求が失敗した: reset",
            ),
            Verdict.ERROR,
            "the logout request failed: reset.",
            "ログアウトの要求が失敗した: reset。",
        ),
        (
            LogoutSeen(logout="/out", replayed="/a", status=200, still_open=True),
            Verdict.FAIL,
            "after /out, the old session still opens /a.",
            "/out の後も、古いセッションで /a が開ける。",
        ),
        (
            LogoutSeen(logout="/out", replayed="/a", status=302),
            Verdict.PASS,
            "no longer opens /a (HTTP 302).",
            "/a が開けない（HTTP 302）。",
        ),
    ],
)
def test_logout(seen: LogoutSeen, verdict: Verdict, says: str, says_ja: str):
    result = judge_logout(about(), LOGIN, LOGIN_JA, seen)
    assert (result.verdict, result.check_id) == (verdict, "session.logout")
    assert says in result.reason
    assert result.reason_ja.startswith(f"{LOGIN_JA}: ")
    assert says_ja in result.reason_ja
