"""The whole scan (discovery → fingerprint → exposed-services probe) against real daemons:
the verdicts a user would get for OpenSSH, dropbear, lighttpd, vsftpd, mosquitto, snmpd
and busybox telnetd."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner.model import Verdict
from tests.interop.scanning import scan_daemon

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.interop

CLOSED_TCP = (21, 23, 25, 80, 443, 1883, 8080)  # never 2024, the machine's own port


@pytest.mark.parametrize(
    ("fixture", "service", "cleartext", "unexpected"),
    [
        # profile below allows ssh on 22 only
        ("sshd", "tcp/22", Verdict.PASS, Verdict.PASS),
        ("dropbear", "tcp/22", Verdict.PASS, Verdict.PASS),
        ("lighttpd", "tcp/80", Verdict.FAIL, Verdict.FAIL),  # login form over plain HTTP
        ("vsftpd", "tcp/21", Verdict.FAIL, Verdict.FAIL),
        ("mosquitto", "tcp/1883", Verdict.FAIL, Verdict.FAIL),  # anonymous, no TLS
        ("mosquitto_auth", "tcp/1883", Verdict.FAIL, Verdict.FAIL),  # passwords in cleartext
        ("snmpd", "udp/161", Verdict.FAIL, Verdict.FAIL),  # community "public" answers
        ("telnetd", "tcp/23", Verdict.FAIL, Verdict.FAIL),
    ],
)
async def test_exposed_services_verdicts_on_real_daemons(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fixture: str,
    service: str,
    cleartext: Verdict,
    unexpected: Verdict,
) -> None:
    # Given a real daemon on its own address and a device profile that allows ssh/22 only
    daemon = request.getfixturevalue(fixture)
    tcp = tuple(sorted({*CLOSED_TCP, 22, daemon.port} - ({161} if service == "udp/161" else set())))
    # When it is scanned
    results = await scan_daemon(
        tmp_path,
        address=daemon.address,
        label=fixture,
        profile_yaml="profile: only-ssh\nextends: base\n"
        "params:\n  services.unexpected: {allowed: ['tcp/22 ssh']}\n",
        tcp=tcp,
        udp=(161,),
        read_timeout=3.0,
    )
    # Then the daemon's service gets exactly these verdicts, each with a reason
    got = {
        r.check_id: r
        for r in results
        if r.service_key == service and r.check_id.startswith("services.")
    }
    assert set(got) == {"services.cleartext-admin", "services.unexpected"}, results
    assert got["services.cleartext-admin"].verdict is cleartext, got["services.cleartext-admin"]
    assert got["services.unexpected"].verdict is unexpected, got["services.unexpected"]
    assert all(daemon.address in r.reason for r in got.values())
