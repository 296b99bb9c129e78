"""`shinsa diff`: two hand-made runs in a temporary store, compared per device."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from scanner.cli.diff import diff, render_json, render_text
from scanner.errors import ConfigError
from scanner.judging.assess import Status
from scanner.model import Evidence, Result, Service, Verdict
from scanner.store import Store
from tests.unit.test_report_formats import PROFILE, TODAY

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

CAM, NAS, PLC, GW = "127.0.20.3", "127.0.20.4", "127.0.20.5", "127.0.20.6"
SSH = Service("tcp", 22, "ssh")
TELNET = Service("tcp", 23, "telnet")
HTTPS = Service("tcp", 443, "https", tls=True)


def _cert(days: int) -> Evidence:
    return Evidence("tls_certificate", f"CN=cam, {days} days left", {"days_left": days})


def _run(
    store: Store,
    run_id: str,
    targets: Sequence[tuple[str, str]],
    services: dict[str, list[Service]],
    results: Sequence[Result],
) -> None:
    store.start_run(
        run_id,
        profile_id=PROFILE.id,
        profile_digest=PROFILE.digest,
        scanner_version="test",
        request={},
        targets=targets,
    )
    for address, svcs in services.items():
        store.put_services(run_id, address, svcs)
    for r in results:
        store.add_result(run_id, r)
    store.finish_run(run_id)


def _r(check: str, target: str, svc: Service | None, verdict: Verdict, *ev: Evidence) -> Result:
    return Result(check, target, svc, verdict, f"{check} {verdict}", ev)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "shinsa.sqlite") as s:
        # Run A: the camera has SSH and HTTPS, ciphers fail; the NAS is scanned; no gateway.
        _run(
            s,
            "A",
            [(CAM, "camera"), (NAS, "nas"), (PLC, "plc")],
            {CAM: [SSH, HTTPS], NAS: [TELNET], PLC: [TELNET]},
            [
                _r("services.unexpected", CAM, SSH, Verdict.PASS),
                _r("services.unexpected", CAM, HTTPS, Verdict.PASS),
                _r("ssh.ciphers", CAM, SSH, Verdict.FAIL),
                _r("web.hsts", CAM, HTTPS, Verdict.PASS, _cert(90)),
                _r("services.unexpected", NAS, TELNET, Verdict.PASS),
                _r("services.unexpected", PLC, TELNET, Verdict.PASS),
            ],
        )
        # Run B: the camera opened Telnet (which fails), fixed its ciphers, and its certificate
        # aged; the NAS is gone, a gateway is new; the PLC is unchanged.
        _run(
            s,
            "B",
            [(CAM, "camera"), (PLC, "plc"), (GW, "gateway")],
            {CAM: [SSH, TELNET, HTTPS], PLC: [TELNET], GW: [SSH]},
            [
                _r("services.unexpected", CAM, SSH, Verdict.PASS),
                _r("services.unexpected", CAM, HTTPS, Verdict.PASS),
                _r("services.unexpected", CAM, TELNET, Verdict.FAIL),
                _r("creds.default.telnet", CAM, TELNET, Verdict.PASS),  # on a new port: quiet
                _r("ssh.ciphers", CAM, SSH, Verdict.PASS),
                _r("web.hsts", CAM, HTTPS, Verdict.ERROR, _cert(30)),
                _r("services.unexpected", PLC, TELNET, Verdict.PASS),
                _r("services.unexpected", GW, SSH, Verdict.PASS),
            ],
        )
        yield s


def test_devices_in_only_one_run_are_listed_as_added_or_removed(store: Store):
    d = diff(store, "A", "B", profile=PROFILE, today=TODAY)
    assert d.added == ((GW, "gateway"),)
    assert d.removed == ((NAS, "nas"),)


def test_an_unchanged_device_is_not_listed(store: Store):
    d = diff(store, "A", "B", profile=PROFILE, today=TODAY)
    assert [dev.address for dev in d.devices] == [CAM]


def test_opened_and_closed_services_are_listed(store: Store):
    (cam,) = diff(store, "A", "B", profile=PROFILE, today=TODAY).devices
    assert cam.opened == (TELNET,)
    assert cam.closed == ()
    (back,) = diff(store, "B", "A", profile=PROFILE, today=TODAY).devices
    assert back.closed == (TELNET,)


def test_verdict_changes_are_named_fixed_new_failure_or_changed_and_a_new_port_only_fails(
    store: Store,
):
    (cam,) = diff(store, "A", "B", profile=PROFILE, today=TODAY).devices
    kinds = {(c.check_id, c.service): (c.kind, c.before, c.after) for c in cam.checks}
    assert kinds == {
        ("ssh.ciphers", "tcp/22"): ("fixed", Verdict.FAIL, Verdict.PASS),
        ("services.unexpected", "tcp/23"): ("new failure", None, Verdict.FAIL),
        ("web.hsts", "tcp/443"): ("changed", Verdict.PASS, Verdict.ERROR),
    }


def test_requirement_status_changes_use_the_reports_assessment(store: Store):
    (cam,) = diff(store, "A", "B", profile=PROFILE, today=TODAY).devices
    changes = {(s.framework, s.requirement): (s.before, s.after) for s in cam.requirements}
    # CR 7.7 and 3.4.7 (services.unexpected): every port allowed, then Telnet is not
    assert changes[("iec-62443-4-2", "CR 7.7")] == (Status.SATISFIED, Status.NOT_SATISFIED)
    assert changes[("nist-sp-800-171r2", "3.4.7")] == (Status.SATISFIED, Status.NOT_SATISFIED)
    # CR 4.3 (ssh.ciphers, partial coverage): the fail is fixed, but never "satisfied"
    assert changes[("iec-62443-4-2", "CR 4.3")] == (
        Status.NOT_SATISFIED,
        Status.PARTIALLY_ASSESSED,
    )


def test_certificate_days_left_changes_come_from_the_tls_evidence(store: Store):
    (cam,) = diff(store, "A", "B", profile=PROFILE, today=TODAY).devices
    assert [(c.service, c.before, c.after) for c in cam.certificates] == [("tcp/443", 90, 30)]


def test_the_text_rendering_lists_every_change(store: Store):
    text = render_text(diff(store, "A", "B", profile=PROFILE, today=TODAY))
    assert text.splitlines() == [
        "shinsa diff A -> B (profile acme-cam-200)",
        f"device added: {GW} (gateway)",
        f"device removed: {NAS} (nas)",
        f"{CAM} (camera)",
        "  port opened: tcp/23 telnet",
        "  new failure: services.unexpected on tcp/23: (none) -> fail",
        "  fixed: ssh.ciphers on tcp/22: fail -> pass",
        "  changed: web.hsts on tcp/443: pass -> error",
        "  requirement iec-62443-4-2 CR 7.7: satisfied -> not_satisfied",
        "  requirement iec-62443-4-2 CR 1.5: not_assessed -> partially_assessed",
        "  requirement iec-62443-4-2 CR 4.3: not_satisfied -> partially_assessed",
        "  requirement nist-sp-800-171r2 3.4.7: satisfied -> not_satisfied",
        "  certificate on tcp/443: 90 days left -> 30 days left",
    ]


def test_the_json_rendering_carries_the_same_changes(store: Store):
    out = json.loads(render_json(diff(store, "A", "B", profile=PROFILE, today=TODAY)))
    assert out["changed"] is True
    assert out["added"] == [{"address": GW, "label": "gateway"}]
    (cam,) = out["devices"]
    assert cam["opened"] == [{"transport": "tcp", "port": 23, "protocol": "telnet"}]
    assert {c["kind"] for c in cam["checks"]} == {"fixed", "new failure", "changed"}
    assert cam["certificates"] == [
        {"service": "tcp/443", "days_left_before": 90, "days_left_after": 30}
    ]


def test_a_run_compared_with_itself_has_no_changes(store: Store):
    d = diff(store, "A", "A", profile=PROFILE, today=TODAY)
    assert not d.changed
    assert render_text(d).splitlines()[-1] == "no changes"


def test_an_unknown_run_id_is_a_config_error_naming_it(store: Store):
    with pytest.raises(ConfigError, match="run 'nope' is not in"):
        diff(store, "A", "nope", profile=PROFILE, today=TODAY)
