"""web.xss.reflected's judge, pure: what the reflection tests saw, one verdict."""

from __future__ import annotations

import pytest

from probes.web_reflection import Reflections, judge
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext, ServiceResults
from scanner.scope import Scope

ADDRESS = "127.0.75.63"


def about() -> ServiceResults:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    return ProbeContext(Target(ADDRESS), net, Facts()).about(Service("tcp", 80, "http"))


@pytest.mark.parametrize(
    ("seen", "verdict", "reason"),
    [
        (
            Reflections(False, "connection refused"),
            Verdict.INCONCLUSIVE,
            "no page of this service could be read (connection refused).",
        ),
        (
            Reflections(True, tested=("/ ?q",), reflected=({"input": "/ ?q", "context": "x"},)),
            Verdict.FAIL,
            "the marker's tag came back unescaped in HTML from / ?q.",
        ),
        (
            Reflections(True, errors=("/ ?q: HTTP 401 before any handler",)),
            Verdict.INCONCLUSIVE,
            "no input reached a page handler (/ ?q: HTTP 401 before any handler).",
        ),
        (
            Reflections(True, tested=("/ ?q",), cut=("/: cut at 256 KiB",)),
            Verdict.INCONCLUSIVE,
            "could not be read whole (/: cut at 256 KiB)",
        ),
        (
            Reflections(True, tested=("/ ?q", "/x (path)")),
            Verdict.PASS,
            "2 input(s) tested; none echoed",
        ),
    ],
)
def test_the_judge_never_passes_what_was_not_tested(
    seen: Reflections, verdict: Verdict, reason: str
):
    result = judge(about(), seen)
    assert result.verdict is verdict
    assert result.reason.startswith(f"tcp/80 http on {ADDRESS}: ")
    assert reason in result.reason
