"""Default credentials against lab devices: found when planted, masked everywhere, and a
device that locks after 3 failures is never locked by a default scan."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

import pytest

from lab.personality import Personality, load_builtin, parse
from probes.registry import all_checks
from reports import json_report
from scanner.credential_lists import load_catalog
from scanner.judging.profiles import load_profile
from scanner.judging.report_data import collect
from scanner.model import Verdict
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

SECRET = "Xq-7plant-Zz"  # a password that appears nowhere else, to look for in every output


def planted_device() -> Personality:
    return parse(
        {
            "name": "planted-secret",
            "title": "Device with a site-specific factory login",
            "vendor": "shinsa-lab",
            "services": [{"port": 23, "protocol": "telnet", "banner": "planted"}],
            "accounts": [{"username": "op", "password": SECRET, "factory_default": True}],
        },
        "test",
    )


def _files_containing(folder: Path, needle: str) -> list[str]:
    return [f.name for f in folder.glob("s.sqlite*") if needle.encode() in f.read_bytes()]


async def test_a_found_password_is_masked_in_store_and_report(start_lab, tmp_path: Path):
    # Given a device whose factory login is in a user-supplied list
    lab = await start_lab([planted_device()])
    site_list = tmp_path / "site.yaml"
    site_list.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        f"  - {{protocols: [telnet], pairs: [[op, '{SECRET}']], source: site acceptance list}}\n"
    )
    profile = load_profile("base", all_checks())
    db = tmp_path / "s.sqlite"
    with Store(db) as store:
        # When it is scanned with that list
        scanned = await scan_lab(lab, store, credentials=load_catalog([site_list]))
        telnet = [r for r in scanned.results() if r.check_id == "creds.default.telnet"]
        data = collect(store, scanned.run_id, profile, all_checks(), today=date(2026, 11, 28))
        report = json_report.render(data)
    # Then the login is found, and the password is nowhere: not in reasons, evidence,
    # store files or the report
    assert [r.verdict for r in telnet] == [Verdict.FAIL]
    assert "op/••••" in telnet[0].reason
    assert SECRET not in report
    assert "op/••••" in report
    assert _files_containing(tmp_path, SECRET) == []
    assert json.loads(report)["summary"]["exit_code"] == 1


async def test_the_lock_after_3_device_is_never_locked_by_a_default_scan(start_lab, tmp_path):
    # Given a device that locks an account after 3 failures, with a non-default password
    lab = await start_lab([load_builtin("lockout-router")])
    (device,) = lab.devices
    with Store(tmp_path / "s.sqlite") as store:
        # When a default scan runs
        scanned = await scan_lab(lab, store)
        verdicts = {
            r.check_id: r.verdict for r in scanned.results() if r.check_id.startswith("creds.")
        }
    # Then no default login is reported, and no account was ever locked
    assert Verdict.FAIL not in verdicts.values()
    assert device.locked_accounts() == set()
