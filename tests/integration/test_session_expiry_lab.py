"""Session expiry against lab devices with short timers: verdicts from the oracle, timeouts
measured within the profile's resolution, and the waits of all devices run at once."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from lab.oracle_expiry import EXPIRY_CHECKS, Limits, expected_expiry
from lab.personality import load_builtin
from probes.default_credentials import (
    DefaultHttpLogin,
    DefaultMqttLogin,
    DefaultSshLogin,
    DefaultTelnetLogin,
)
from probes.mqtt_session import MqttKeepAlive
from probes.registry import all_checks
from probes.session_expiry import SessionExpiry
from scanner.judging.profiles import load_profile
from scanner.model import Verdict
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from pathlib import Path

    from lab.device import LabDevice
    from scanner.judging.profiles import Profile
    from scanner.model import Result

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def first_address() -> str:
    """The lab's first address, in this suite's own block (127.0.74.0/24, shared with the
    interop daemons at .1-.20): the worker's 127.0.2x block is shared with other runs."""
    return "127.0.74.100"


#: The probes these tests need: the factory logins, then the expiry checks. (The web
#: session checks would log in beside them and end a one-session device's session.)
REGISTRY = (
    DefaultSshLogin,
    DefaultTelnetLogin,
    DefaultHttpLogin,
    DefaultMqttLogin,
    SessionExpiry,
    MqttKeepAlive,
)
IDLE_ONLY = Limits(max_idle_seconds=6)
OTHERS = Limits(max_session_seconds=6, max_sessions=2, keepalive_seconds=2)
ALL_THREE = Limits(max_idle_seconds=6, max_session_seconds=6, max_sessions=2)


def _profile(tmp_path: Path, limits: Limits) -> Profile:
    params = {
        "session.idle-timeout": {"max_idle_seconds": limits.max_idle_seconds},
        "session.absolute-timeout": {"max_session_seconds": limits.max_session_seconds},
        "session.concurrent-limit": {"max_sessions": limits.max_sessions},
        "session.mqtt-keepalive": {"keepalive_seconds": limits.keepalive_seconds},
    }
    lines = ["profile: expiry-test", "extends: base", "params:"]
    lines += [f"  {check}: {values}" for check, values in params.items()]
    path = tmp_path / "expiry.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_profile(str(path), all_checks())


def _expiry_results(scanned) -> dict[tuple[str, str, str], Result]:
    return {
        (r.target, r.service_key, r.check_id): r
        for r in scanned.results()
        if r.check_id in EXPIRY_CHECKS
    }


def _expected(lab, limits: Limits) -> dict[tuple[str, str, str], Verdict]:
    out = {}
    for device in lab.devices:
        ports = {(s.transport, s.port): s.port for s in device.services}
        for (key, check), verdict in expected_expiry(
            device.personality, ports, limits=limits
        ).items():
            out[(device.address, key, check)] = verdict
    return out


def _verdicts(results: dict[tuple[str, str, str], Result]) -> dict[tuple[str, str, str], Verdict]:
    return {k: r.verdict for k, r in results.items()}


def _details(result: Result) -> dict[str, Any]:
    (evidence,) = result.evidence
    assert isinstance(evidence.details, dict)
    return evidence.details


async def test_idle_timeouts_are_measured_within_the_resolution(start_lab, tmp_path: Path):
    # Given devices whose web, SSH and telnet sessions idle out after 3-5 s, one device
    # that keeps one web session at a time, one whose sessions never expire, and one whose
    # web sessions end 5 s after the login whatever they do
    names = [
        "idle-timeout-camera",
        "single-session-hmi",
        "eternal-session-router",
        "absolute-timeout-kiosk",
    ]
    lab = await start_lab([load_builtin(n) for n in names])
    camera, hmi, eternal, _ = lab.devices
    with Store(tmp_path / "s.sqlite") as store:
        # When they are scanned with a 6 s idle limit (resolution 1 s: 10 %, at least 1 s)
        scanned = await scan_lab(
            lab, store, profile=_profile(tmp_path, IDLE_ONLY), registry=REGISTRY
        )
        results = _expiry_results(scanned)
    # Then every verdict is the oracle's
    assert _verdicts(results) == _expected(lab, IDLE_ONLY)
    idle = {(t, key): r for (t, key, check), r in results.items() if check == IDLE_CHECK}
    # and each measured timeout brackets the planted one to the resolution
    for (address, key), planted in (
        ((camera.address, "tcp/80"), 4.0),
        ((hmi.address, "tcp/80"), 3.0),
    ):
        ended = _details(idle[(address, key)])["ended_after"]
        assert ended["at_most"] - ended["more_than"] <= 1.05, ended
        assert ended["more_than"] - 0.5 <= planted <= ended["at_most"] + 0.5, ended
    for key, planted in ((_key(camera, "ssh"), 5.0), (_key(camera, "telnet"), 3.0)):
        closed = _details(idle[(camera.address, key)])["closed_after"]
        assert abs(closed - planted) <= 1.0, (key, closed)
    # and the one-session device was found out and searched one session a round
    hmi_idle = _details(idle[(hmi.address, "tcp/80")])
    assert hmi_idle["alive_after_all_logins"] == 1
    assert any("one session at a time" in n for n in hmi_idle["notes"])
    assert hmi_idle["rounds"] <= 4
    # and a session that never ends fails, with the wait in the timeline
    never = idle[(eternal.address, "tcp/80")]
    assert never.verdict is Verdict.FAIL
    assert max(row["idle"] for row in _details(never)["timeline"]) >= 7.0


async def test_absolute_timeout_concurrent_limit_and_mqtt_keepalive(start_lab, tmp_path: Path):
    # Given a kiosk ending web sessions 5 s after the login and keeping two at most, a
    # router whose sessions never end, and a camera whose broker enforces keep-alive
    names = ["absolute-timeout-kiosk", "eternal-session-router", "idle-timeout-camera"]
    lab = await start_lab([load_builtin(n) for n in names])
    kiosk, eternal, camera = lab.devices
    with Store(tmp_path / "s.sqlite") as store:
        # When the profile limits sessions to 6 s, two at once, and keep-alive 2 s
        scanned = await scan_lab(lab, store, profile=_profile(tmp_path, OTHERS), registry=REGISTRY)
        results = _expiry_results(scanned)
    # Then every verdict is the oracle's
    assert _verdicts(results) == _expected(lab, OTHERS)
    absolute = _details(results[(kiosk.address, "tcp/80", "session.absolute-timeout")])
    assert 4.0 <= absolute["ended_after"]["at_most"] <= 6.5, absolute
    concurrent = _details(results[(kiosk.address, "tcp/80", "session.concurrent-limit")])
    assert concurrent["alive_after_all_logins"] == 2
    keepalive = results[(camera.address, _key(camera, "mqtt"), "session.mqtt-keepalive")]
    assert 2.5 <= _details(keepalive)["closed_after"] <= 4.0
    broker = results[(eternal.address, _key(eternal, "mqtt"), "session.mqtt-keepalive")]
    assert broker.verdict is Verdict.FAIL


async def test_the_waits_of_ten_devices_run_at_the_same_time(start_lab, tmp_path: Path):
    # Given ten devices whose web sessions idle out after 4 s
    lab = await start_lab([load_builtin("idle-timeout-camera")] * 10)
    profile = _profile(tmp_path, IDLE_ONLY)
    with Store(tmp_path / "s.sqlite") as store:
        # When they are scanned for the idle timeout on the web only
        started = time.monotonic()
        scanned = await scan_lab(
            lab, store, profile=profile, registry=(DefaultHttpLogin, SessionExpiry)
        )
        took = time.monotonic() - started
        results = _expiry_results(scanned)
    web = [r for (_, key, check), r in results.items() if key == "tcp/80" and check == IDLE_CHECK]
    # Then every device passes, and the scan takes about one search (7 s + logins), far
    # less than ten searches one after another
    assert [r.verdict for r in web] == [Verdict.PASS] * 10
    assert took < 20.0, took


async def test_idle_and_absolute_waits_run_side_by_side_where_both_sessions_are_kept(
    start_lab, tmp_path: Path
):
    # Given a router whose sessions never end, a camera whose sessions idle out, a kiosk
    # that keeps two web sessions and ends each 5 s after its login, and a panel that keeps
    # one web session at a time
    names = [
        "eternal-session-router",
        "idle-timeout-camera",
        "absolute-timeout-kiosk",
        "single-session-hmi",
    ]
    lab = await start_lab([load_builtin(n) for n in names])
    eternal, camera, kiosk, hmi = lab.devices
    with Store(tmp_path / "s.sqlite") as store:
        # When the profile sets all three limits: 6 s idle, 6 s in all, two sessions
        scanned = await scan_lab(
            lab, store, profile=_profile(tmp_path, ALL_THREE), registry=REGISTRY
        )
        results = _expiry_results(scanned)
    # Then every verdict is the oracle's: the concurrent check's extra logins and the busy
    # session spoil no idle measurement, on a one-session device neither
    assert _verdicts(results) == _expected(lab, ALL_THREE)

    def schedule(device: LabDevice, key: str, check: str = IDLE_CHECK) -> str:
        value = _details(results[(device.address, key, check)])["schedule"]
        assert isinstance(value, str)
        return value

    # and the waits ran side by side where the device kept every session opened, on the
    # web and in shells, one after the other where it did not
    side_by_side = [(eternal, "tcp/80"), (eternal, _key(eternal, "ssh"))]
    side_by_side += [(camera, "tcp/80"), (camera, _key(camera, "ssh"))]
    side_by_side += [(camera, _key(camera, "telnet"))]
    for device, key in side_by_side:
        for check in (IDLE_CHECK, ABSOLUTE_CHECK):
            assert schedule(device, key, check).startswith("side by side"), (device.name, key)
    for device in (kiosk, hmi):
        assert schedule(device, "tcp/80").startswith("one after the other"), device.name
    # and where nothing ever ends, each of the router's services took about one wait
    # (6 + 1 s) and its logins, not two waits
    for key in ("tcp/80", _key(eternal, "ssh")):
        idle = results[(eternal.address, key, IDLE_CHECK)]
        assert idle.verdict is Verdict.FAIL
        assert idle.duration is not None
        assert 7.0 <= idle.duration < 12.0, (key, idle.duration)


def test_the_base_profile_skips_every_expiry_check_without_waiting():
    # (test_lab_scan checks the scan; here the oracle's side of it)
    expected = expected_expiry(load_builtin("idle-timeout-camera"))
    assert set(expected.values()) == {Verdict.SKIPPED}
    assert len(expected) == 10  # three checks on web, SSH and telnet, one on MQTT


IDLE_CHECK = "session.idle-timeout"
ABSOLUTE_CHECK = "session.absolute-timeout"


def _key(device: LabDevice, protocol: str) -> str:
    return next(s.key for s in device.services if s.protocol == protocol)
