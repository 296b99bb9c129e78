"""The idle search's arithmetic, the parameters, and the lab's session timers."""

from __future__ import annotations

import pytest

from lab.personality import parse
from lab.servers.web import WebApp, WebRequest
from probes._login.mqtt import connect_packet
from probes._timing import Observation, bracket, consistent, next_times
from probes.mqtt_session import _with_keep_alive, judge_keep_alive
from probes.session_expiry import (
    AbsoluteParams,
    ConcurrentParams,
    IdleParams,
    judge_absolute,
    judge_busy_gap,
    judge_concurrent,
    judge_shell_idle,
    judge_web_idle,
)
from scanner.credentials import Credential
from scanner.errors import ConfigError
from scanner.model import Verdict


def _seen(*pairs: tuple[float, bool]) -> list[Observation]:
    return [Observation(i, idle, idle, alive) for i, (idle, alive) in enumerate(pairs)]


def test_one_round_spreads_sessions_up_to_the_limit_plus_the_resolution():
    assert next_times(0.0, None, 7.0, 12, 1.0) == [1, 2, 3, 4, 5, 6, 7]
    # max_idle 600, resolution 60: eleven sessions bracket the timeout in one pass
    assert next_times(0.0, None, 660.0, 12, 60.0) == [60.0 * i for i in range(1, 12)]


def test_with_one_session_the_search_is_binary_and_starts_at_the_verdict():
    assert next_times(0.0, None, 7.0, 1, 1.0) == [7.0]
    assert next_times(0.0, 7.0, 7.0, 1, 1.0) == [3.5]
    assert next_times(1.75, 3.5, 7.0, 1, 1.0) == [2.625]
    assert next_times(2.625, 3.5, 7.0, 1, 1.0) == []  # within the resolution: done


def test_too_few_sessions_leave_a_bracket_the_next_round_splits():
    first = next_times(0.0, None, 7.0, 2, 1.0)
    assert first == [3.5, 7.0]
    assert next_times(3.5, 7.0, 7.0, 2, 1.0) == [4.667, 5.833]


def test_the_bracket_is_the_longest_survival_below_the_first_end():
    assert bracket(_seen((1, True), (2, True), (3, True), (4, False), (5, False))) == (3, 4)
    assert bracket(_seen((1, True), (7, True))) == (7, None)
    assert bracket([]) == (0.0, None)


def test_a_session_alive_after_another_ended_shows_logins_end_sessions():
    assert consistent(_seen((1, True), (2, False), (3, False)))
    assert not consistent(_seen((1, False), (2, True), (3, True)))


def test_parameters_default_to_not_required_and_derive_the_resolution():
    assert IdleParams().max_idle_seconds == 0
    idle = IdleParams(max_idle_seconds=600)
    assert (idle.resolution, idle.top) == (60.0, 660.0)
    assert IdleParams(max_idle_seconds=5).resolution == 1.0  # at least 1 s
    assert IdleParams(max_idle_seconds=600, max_wait_seconds=300).top == 300.0
    assert AbsoluteParams(max_session_seconds=3600).top == 3960.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: IdleParams(max_idle_seconds=-1),
        lambda: IdleParams(max_idle_seconds="ten"),  # type: ignore[arg-type]
        lambda: ConcurrentParams(max_sessions=99),
        lambda: ConcurrentParams(max_sessions=True),
    ],
)
def test_bad_parameters_are_refused(make):
    with pytest.raises(ConfigError):
        make()


def test_the_connect_packet_announces_the_keep_alive_asked_for():
    packet = _with_keep_alive(connect_packet(Credential("u", "p"), 4), 2)
    at = packet.index(b"\x00\x04MQTT") + 8
    assert packet[at : at + 2] == b"\x00\x02"
    assert len(packet) == len(connect_packet(Credential("u", "p"), 4))


# --- the lab's timers -----------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app(options: dict[str, object]) -> tuple[WebApp, _Clock]:
    personality = parse(
        {
            "name": "t",
            "services": [{"port": 80, "protocol": "http", "login": "form", **options}],
            "accounts": [{"username": "admin", "password": "pw"}],
        },
        "test",
    )
    clock = _Clock()
    return WebApp(personality.services[0], personality, clock=clock), clock


def _login(app: WebApp) -> str:
    body = f"csrf_token={app.csrf_token}&username=admin&password=pw".encode()
    answer = app.respond(WebRequest("POST", "/login", {}, body))
    cookie = dict(answer.headers)["Set-Cookie"]
    return cookie.split(";")[0].split("=", 1)[1]


def _opens(app: WebApp, session: str) -> bool:
    answer = app.respond(WebRequest("GET", "/", {"cookie": f"session={session}"}))
    return "Welcome" in answer.body


def test_a_lab_session_idle_longer_than_idle_timeout_ends_and_a_request_refreshes_it():
    app, clock = _app({"idle_timeout": 4})
    session = _login(app)
    clock.now += 3.9
    assert _opens(app, session)  # refreshed here
    clock.now += 3.9
    assert _opens(app, session)
    clock.now += 4.1
    assert not _opens(app, session)


def test_a_lab_session_ends_at_absolute_timeout_however_busy():
    app, clock = _app({"absolute_timeout": 5})
    session = _login(app)
    for _ in range(4):
        clock.now += 1.2
        assert _opens(app, session)
    clock.now += 1.2
    assert not _opens(app, session)


def test_a_lab_device_with_max_sessions_ends_the_oldest_at_a_new_login():
    app, _ = _app({"max_sessions": 1})
    first = _login(app)
    second = _login(app)
    assert not _opens(app, first)
    assert _opens(app, second)


def test_lab_timers_must_be_seconds():
    with pytest.raises(ValueError, match="idle_timeout"):
        _app({"idle_timeout": -1})
    with pytest.raises(ValueError, match="keepalive_enforced: unknown field"):
        _app({"keepalive_enforced": True})


# --- the judges, without a network ------------------------------------------------------------


def test_an_idle_shell_is_judged_from_when_it_closed():
    params = IdleParams(max_idle_seconds=300, resolution_seconds=30)
    ended = judge_shell_idle(params, 120.0, 120.0, 0)
    assert ended.verdict is Verdict.PASS
    assert ended.reason == "the device closed an idle shell after 120.0 s (limit 300 s)."
    assert ended.details is not None
    assert ended.details["closed_after"] == 120.0
    never = judge_shell_idle(params, None, 331.0, 2)
    assert never.verdict is Verdict.FAIL
    assert never.reason == "an idle shell was still open after 331.0 s (limit 300 s)."
    assert never.details is not None
    assert never.details["channels_closed_but_login_kept"] == 2
    # closed, but only after the longest idle time checked: still a failure
    assert judge_shell_idle(params, 400.0, 331.0, 0).verdict is Verdict.FAIL
    # a wait cut short by max_wait_seconds proves nothing either way
    cut = IdleParams(max_idle_seconds=300, resolution_seconds=30, max_wait_seconds=100)
    short = judge_shell_idle(cut, None, 100.0, 0)
    assert short.verdict is Verdict.INCONCLUSIVE
    assert "not waited for" in short.reason


def test_the_idle_search_is_judged_from_its_bracket():
    params = IdleParams(max_idle_seconds=10, resolution_seconds=1)
    ended = judge_web_idle(params, _seen((4.0, True), (5.0, False)), "/x", {}, rounds=2)
    assert ended.verdict is Verdict.PASS
    assert ended.reason.startswith("an idle session ended after 4.0 < t ≤ 5.0 s")
    assert ended.details is not None
    assert ended.details["ended_after"] == {"more_than": 4.0, "at_most": 5.0}
    kept = judge_web_idle(params, [Observation(1, 11.0, 11.2, True)], "/x", {}, rounds=1)
    assert kept.verdict is Verdict.FAIL
    assert kept.reason == "a session idle for 11.2 s still opened /x (limit 10 s)."
    failed = judge_web_idle(params, [], "/x", {}, rounds=1, errors=["ConnectError"])
    assert failed.verdict is Verdict.ERROR
    assert failed.reason == "no idle session could be judged: ConnectError."
    assert judge_web_idle(params, [], "/x", {}, rounds=0).verdict is Verdict.INCONCLUSIVE


def test_the_absolute_limit_and_the_concurrent_limit_are_judged_from_counts_and_times():
    params = AbsoluteParams(max_session_seconds=60, resolution_seconds=6)
    assert judge_absolute(params, 5.0, [], 50.0, True, 66.5).verdict is Verdict.FAIL
    ended = judge_absolute(params, 5.0, [], 50.0, False, 55.0)
    assert ended.verdict is Verdict.PASS
    assert ended.reason == "a busy session ended 50.0 < t ≤ 55.0 s after its login (limit 60 s)."
    assert judge_concurrent(2, 3, 3, "", {}).verdict is Verdict.FAIL
    assert judge_concurrent(2, 1, 3, "", {}).verdict is Verdict.PASS
    assert judge_concurrent(2, 2, 2, "refused", {}).verdict is Verdict.PASS
    only = judge_concurrent(2, 2, 2, "", {})
    assert only.verdict is Verdict.INCONCLUSIVE
    assert only.reason == "only 2 session(s) were opened (limit 2)."


def test_a_busy_session_that_could_have_idled_out_proves_no_absolute_limit():
    assert judge_busy_gap({"interval": 5.0}, 5.0, 20.0) is None  # requests came more often
    assert judge_busy_gap({"interval": 5.0}, 5.0, None) is None  # no idle end known
    doubt = judge_busy_gap({"interval": 5.0}, 5.0, 4.0)
    assert doubt is not None
    assert doubt.verdict is Verdict.INCONCLUSIVE
    assert doubt.details == {"interval": 5.0, "idle_end": 4.0}


def test_the_mqtt_keep_alive_is_judged_from_when_the_broker_closed():
    verdict, reason, reason_ja, facts = judge_keep_alive(2, 3.2)
    assert verdict is Verdict.PASS
    assert reason == "the broker closed a silent client 3.2 s after its CONNECT (keep-alive 2 s)."
    # the Japanese says the same facts: when it closed, and the keep-alive announced
    assert "3.2 秒後に切断" in reason_ja
    assert "キープアライブ 2 秒" in reason_ja
    assert facts == {"keepalive_seconds": 2, "waited": 4.0, "closed_after": 3.2}
    verdict, reason, reason_ja, _ = judge_keep_alive(2, None)
    assert verdict is Verdict.FAIL
    assert "still connected" in reason
    assert "4 秒沈黙" in reason_ja
    assert "接続されたまま" in reason_ja
