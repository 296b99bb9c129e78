"""banner.login-notice when a profile requires it, against lab devices and the oracle:
SSH pre-authentication banners, Telnet/FTP greetings, web login pages and realms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lab.oracle_banners import expected_banners
from lab.personality import load_builtin
from probes.registry import all_checks
from scanner.judging.profiles import load_profile
from scanner.model import Verdict
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

DEVICES = (
    "https-only-camera",
    "modern-ssh-gateway",
    "legacy-ssh-switch",
    "weak-camera",
    "legacy-plc",
    "home-router",
)


async def test_required_login_notices_equal_the_oracle(start_lab, tmp_path: Path):
    # Given devices with and without a notice on each kind of login surface
    lab = await start_lab([load_builtin(n) for n in DEVICES])
    profile_file = tmp_path / "notice.yaml"
    profile_file.write_text(
        "profile: notice\nextends: base\nparams:\n  banner.login-notice: {required: true}\n"
    )
    profile = load_profile(str(profile_file), all_checks())
    with Store(tmp_path / "s.sqlite") as store:
        # When they are scanned with a profile that requires a system-use notification
        scanned = await scan_lab(lab, store, profile=profile)
        results = [r for r in scanned.results() if r.check_id == "banner.login-notice"]
    got = {(r.target, r.service_key): r.verdict for r in results}
    expected = {}
    for device in lab.devices:
        ports = {(s.transport, s.port): s.port for s in device.services}
        for (key, check), verdict in expected_banners(
            device.personality, ports, notice_required=True
        ).items():
            if check == "banner.login-notice":
                expected[(device.address, key)] = verdict
    # Then every login surface is judged as the oracle says, with pass and fail cases of
    # SSH and the web login page among them
    assert got == expected
    by_device = {
        (d.name, key): got[(d.address, key)]
        for d in lab.devices
        for (a, key) in got
        if a == d.address
    }
    assert by_device[("modern-ssh-gateway", "tcp/22")] is Verdict.PASS
    assert by_device[("legacy-ssh-switch", "tcp/22")] is Verdict.FAIL
    assert by_device[("home-router", "tcp/22")] is Verdict.INCONCLUSIVE  # banner-only SSH
    assert by_device[("https-only-camera", "tcp/443")] is Verdict.PASS
    assert by_device[("weak-camera", "tcp/80")] is Verdict.FAIL
    ssh = next(r for r in results if r.verdict is Verdict.PASS and r.service_key == "tcp/22")
    assert "authorized use only" in str(ssh.evidence[0].details["text"])
