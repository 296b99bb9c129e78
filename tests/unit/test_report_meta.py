"""The HTML report's title block and its dates: a profile's `report:` section, the command
line over it (kept with the run by `scan`, given again to `report`), and one time zone per
report (reports/dates.py)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from probes.registry import all_checks
from reports.dates import Clock, zone_name
from scanner import __version__, cli
from scanner.cli import commands
from scanner.errors import ConfigError
from scanner.judging.profiles import load_profile
from scanner.judging.report_meta import (
    NO_META,
    ReportMeta,
    checked,
    from_json,
    local_zone,
    zone,
)
from scanner.model import Result, Service, Verdict
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path

CAM = "127.0.10.3"


def _profile(tmp_path: Path, report: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(f"profile: acme\nextends: base\n{report}", encoding="utf-8")
    return path


def test_a_profiles_report_section_is_read_and_a_child_overrides_its_parent_field_by_field(
    tmp_path,
):
    parent = tmp_path / "family.yaml"
    parent.write_text(
        "profile: family\nextends: base\nreport:\n  organisation: Example Test Lab\n"
        "  product: ACME CAM\n",
        encoding="utf-8",
    )
    child = tmp_path / "model.yaml"
    child.write_text(
        f"profile: model\nextends: {parent}\nreport:\n  product: ACME CAM-200\n"
        "  firmware: '2.0.7'\n  timezone: Europe/Berlin\n",
        encoding="utf-8",
    )
    meta = load_profile(str(child), all_checks()).report
    assert meta == ReportMeta(
        product="ACME CAM-200",
        firmware="2.0.7",
        organisation="Example Test Lab",
        timezone="Europe/Berlin",
    )
    assert load_profile("base", all_checks()).report == NO_META


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("report: ACME\n", "report: must be a mapping"),
        ("report:\n  vendor: ACME\n", "report.vendor: unknown field"),
        ("report:\n  firmware: 2\n", "report.firmware: must be text"),
        ("report:\n  tester: ''\n", "report.tester: must be a non-empty string"),
        ("report:\n  timezone: Mars/Olympus\n", "not an IANA time zone name"),
        ("report:\n  timezone: ../../etc/passwd\n", "not an IANA time zone name"),
        ("report:\n  product: " + "x" * 201 + "\n", "one line of at most 200"),
    ],
)
def test_a_bad_report_section_is_a_config_error_naming_the_file_and_line(
    tmp_path, section, message
):
    path = _profile(tmp_path, section)
    with pytest.raises(ConfigError, match=message) as err:
        load_profile(str(path), all_checks())
    assert "acme.yaml line" in str(err.value)


def test_the_command_line_wins_field_by_field_and_an_unknown_zone_is_refused():
    profile = ReportMeta(product="ACME CAM", customer="ACME Corp.", timezone="UTC")
    given = ReportMeta(product="ACME CAM-200", timezone="Asia/Tokyo")
    assert given.over(profile) == ReportMeta(
        product="ACME CAM-200", customer="ACME Corp.", timezone="Asia/Tokyo"
    )
    with pytest.raises(ConfigError, match="--tz: 'JST' is not an IANA time zone"):
        checked(ReportMeta(timezone="JST"))
    assert zone("Asia/Tokyo").key == "Asia/Tokyo"
    # what a scan stored reads back; what it does not know is ignored
    assert from_json({"product": "P", "colour": "red", "model": 3}) == ReportMeta(product="P")
    assert from_json(None) == NO_META


def test_the_scans_zone_is_read_from_tz_or_left_unknown():
    assert local_zone({"TZ": "Asia/Tokyo"}) == "Asia/Tokyo"
    assert local_zone({"TZ": ":Europe/Berlin"}) == "Europe/Berlin"
    assert local_zone({"TZ": "not a zone"}) == ""


def test_a_report_shows_times_in_the_zone_it_was_told_else_japans_or_the_scans():
    assert zone_name("en", "", "Europe/Berlin") == "Europe/Berlin"
    assert zone_name("en", "", "") == "UTC"
    assert zone_name("ja", "", "Europe/Berlin") == "Asia/Tokyo"  # JST unless told otherwise
    assert zone_name("ja", "America/New_York", "Europe/Berlin") == "America/New_York"
    t = datetime(2026, 11, 28, 10, 15, 30, tzinfo=UTC)
    assert Clock("Asia/Tokyo", "ja").time(t) == "2026年11月28日 19:15 JST"
    assert Clock("Europe/Berlin", "en").time(t) == "2026-11-28 11:15 CET"
    assert Clock("Europe/Berlin", "en").time(t.replace(month=7)) == "2026-07-28 12:15 CEST"
    assert Clock("UTC", "en").time(t) == "2026-11-28 10:15 UTC"
    assert Clock("Asia/Kolkata", "en").time(t) == "2026-11-28 15:45 IST"
    assert Clock("America/Sao_Paulo", "en").time(t) == "2026-11-28 07:15 UTC-03:00"
    assert Clock("UTC", "en").time(t.replace(tzinfo=None)) == "2026-11-28 10:15 UTC"
    assert Clock("Asia/Tokyo", "ja").day(date(2027, 3, 1)) == "2027年3月1日"
    assert Clock("Asia/Tokyo", "en").time(None) == ""


def _args(**given: str) -> argparse.Namespace:
    fields = ("product", "model", "firmware", "organisation", "tester", "customer", "tz")
    return argparse.Namespace(**{k: given.get(k) for k in fields})


def test_a_scan_stores_its_command_lines_title_block_and_its_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    meta = commands._meta(_args(product="ACME CAM-200", tz="Asia/Tokyo"))
    request = commands._request_json(_FakeRequest(), "base", meta)  # type: ignore[arg-type]
    assert request["report"] == {"product": "ACME CAM-200", "timezone": "Asia/Tokyo"}
    assert request["tz"] == "Europe/Berlin"
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        commands._meta(_args(tz="Tokyo"))


class _FakeRequest:
    """The parts of a ScanRequest `_request_json` reads."""

    def __init__(self) -> None:
        from scanner.browser import BrowserOptions
        from scanner.credential_lists import load_catalog
        from scanner.discovery.ports import parse_ports
        from scanner.net import Limits
        from scanner.scope import Scope

        self.targets = ()
        self.scope = Scope.of([CAM])
        self.ports = parse_ports("T:23")
        self.profile = load_profile("base", all_checks())
        self.syn = False
        self.link_sweep = False
        self.browser = BrowserOptions()
        self.allow_intrusive = False
        self.max_scan_time = None
        self.credentials = load_catalog()
        self.limits = Limits()
        self.checks = None  # every check
        self.profiles: dict[str, object] = {}  # no device with a profile of its own


def test_report_renders_the_stored_title_block_with_the_command_line_over_it(tmp_path, capsys):
    profile_path = _profile(
        tmp_path, "report:\n  product: ACME CAM\n  customer: ACME Corp.\n  tester: T. Sato\n"
    )
    out = tmp_path / "out"
    profile = load_profile(str(profile_path), all_checks())
    run_id = "20261128-101500-abcd"
    with Store(out / "shinsa.sqlite") as store:
        store.start_run(
            run_id,
            profile_id=profile.id,
            profile_digest=profile.digest,
            scanner_version=__version__,
            request={
                "allow": [CAM],
                "targets": [[CAM, "lobby-cam"]],
                "ports": "T:23",
                "profile": str(profile_path),
                "argv": ["scan", "--profile", str(profile_path), CAM],
                "report": {"product": "ACME CAM-200", "firmware": "2.0.7"},
                "tz": "Europe/Berlin",
            },
            targets=[(CAM, "lobby-cam")],
        )
        telnet = Service("tcp", 23, "telnet")
        store.put_services(run_id, CAM, [telnet])
        store.add_result(
            run_id, Result("services.unexpected", CAM, telnet, Verdict.FAIL, "tcp/23 open")
        )
        store.target_done(run_id, CAM)
        store.finish_run(run_id)
    code = cli.main(
        ["report", run_id, "--out", str(out), "--format", "html", "--tester", "K. Suzuki"]
    )
    assert code == 1
    text = (out / run_id / "report.html").read_text(encoding="utf-8")
    title_block = text.split('<header class="title-block">', 1)[1].split("</header>", 1)[0]
    assert "ACME CAM-200" in title_block  # the scan's command line over the profile
    assert "ACME Corp." in title_block  # the profile where nothing is over it
    assert "2.0.7" in title_block
    assert "K. Suzuki" in title_block
    assert "T. Sato" not in title_block
    assert re.search(r"\d\d:\d\d CES?T", title_block)  # the scan's own zone
    assert str(tmp_path) not in text  # no local path anywhere: the profile shows by name
    assert "acme.yaml" in text
    # Japanese: Japan's time unless told otherwise
    cli.main(["report", run_id, "--out", str(out), "--format", "html", "--lang", "ja"])
    ja = (out / run_id / "report.ja.html").read_text(encoding="utf-8")
    assert " JST" in ja.split('<header class="title-block">', 1)[1].split("</header>", 1)[0]
    cli.main(["report", run_id, "--out", str(out), "--format", "html", "--tz", "UTC"])
    text = (out / run_id / "report.html").read_text(encoding="utf-8")
    title_block = text.split('<header class="title-block">', 1)[1].split("</header>", 1)[0]
    assert " UTC" in title_block
    assert not re.search(r"CES?T", title_block)
    capsys.readouterr()
