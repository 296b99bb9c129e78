"""The HTML report: one self-contained, script-free file, in English and Japanese, that shows
every device and requirement of the assessment and carries hostile device text as text.

Rendered from the fixed assessment of test_report_formats (whose golden-file test covers
`report.html` and `report.ja.html` byte for byte) plus a device whose label and banner try to
inject markup.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from probes.registry import all_checks
from reports import FORMATS, html
from reports.i18n import CATALOGUE, LANGS, translator
from scanner import __version__
from scanner.judging.assess import Status, assess
from scanner.judging.manual import EvidenceFile, Statement
from scanner.judging.profiles import Coverage, load_profile
from scanner.judging.report_data import Device, ReportData
from scanner.judging.report_meta import FIELDS
from scanner.model import Evidence, Result, Service, Verdict
from scanner.probe import Remedy, Severity
from scanner.store import RunInfo
from tests.unit.test_report_formats import (
    CAMERA,
    HTTP,
    RESULTS,
    ROUTER,
    SCRIPT,
    TODAY,
    report_data,
)

TEMPLATES = Path(html.__file__).parent / "templates"
HOSTILE = "127.0.10.66"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_SERVICE = Service("tcp", 8080, "http", banner=SCRIPT, product=IMG)
CR32 = "req-iec-62443-4-2-CR-3-2"  # coverage none: no network check can assess it


def hostile_report_data() -> ReportData:
    """The fixed assessment plus a device whose every text field tries to inject markup."""
    data = report_data()
    results = [
        *RESULTS,
        Result(
            "services.unexpected",
            HOSTILE,
            HOSTILE_SERVICE,
            Verdict.FAIL,
            f"{HOSTILE} exposes tcp/8080 ({IMG}).",
            (Evidence("banner", SCRIPT, {"raw": IMG}),),
            datetime(2026, 11, 28, 10, 16, tzinfo=UTC),
            0.5,
        ),
    ]
    devices = (*data.devices, Device(HOSTILE, IMG, True, (HOSTILE_SERVICE,)))
    assessment = assess(
        results, data.assessment.profile, [d.address for d in devices], today=date(2026, 11, 28)
    )
    return dataclasses.replace(data, devices=devices, assessment=assessment)


class Page(HTMLParser):
    """The parts of a rendered page the tests look at: elements, ids, links, text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.ids: list[str] = []
        self.classes: list[tuple[str, str]] = []  # (tag, class)
        self.urls: list[tuple[str, str]] = []  # (attribute, value) of every href/src/...
        self.handlers: list[str] = []  # on* attributes
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids.append(value)
            elif name == "class" and value is not None:
                self.classes.append((tag, value))
            elif name in ("href", "src", "srcset", "action", "poster", "data", "xlink:href"):
                self.urls.append((name, value or ""))
            elif name.startswith("on"):
                self.handlers.append(name)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def plain(self) -> str:
        return "".join(self.text)

    def count_class(self, tag: str, prefix: str) -> int:
        return sum(1 for t, c in self.classes if t == tag and c.startswith(prefix))


@pytest.fixture(scope="module", params=LANGS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, html.render_lang(hostile_report_data(), request.param)


def test_both_formats_are_registered_and_render_their_language():
    assert FORMATS["html"] == ("report.html", html.render)
    assert FORMATS["html-ja"] == ("report.ja.html", html.render_ja)
    data = report_data()
    assert '<html lang="en">' in html.render(data)
    ja = html.render_ja(data)
    assert '<html lang="ja">' in ja
    for status in Status:
        assert f"{translator('ja')('status.' + status.value)}</span>" in ja
    assert "対策" in ja  # the guidebook's word for a countermeasure, beside each finding
    assert "Telnetを停止する" in ja  # the Japanese remediation sentence


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown report language"):
        html.render_lang(report_data(), "fr")  # type: ignore[arg-type]


def test_the_page_has_every_section_and_the_nav_links_to_each(rendered):
    _, text = rendered
    page = Page(text)
    for section in ("overview", "summary", "counts", "findings", "charts", "matrix", "devices"):
        assert section in page.ids
    assert {"requirements", "not-assessable", "manual", "method"} <= set(page.ids)
    nav = text.split('<nav class="top"', 1)[1].split("</nav>", 1)[0]
    for target in (
        "#summary",
        "#matrix",
        "#devices",
        "#requirements",
        "#not-assessable",
        "#manual",
        "#method",
    ):
        assert f'href="{target}"' in nav


def test_every_device_and_requirement_is_anchored_and_every_link_resolves(rendered):
    _, text = rendered
    data = hostile_report_data()
    page = Page(text)
    assert len(page.ids) == len(set(page.ids))  # unique fragment IDs
    devices = [i for i in page.ids if i.startswith("device-")]
    assert len(devices) == len(data.devices) == 4
    assert "device-127-0-10-3" in devices
    assert "device-2001-db8-5" in devices
    requirements = [i for i in page.ids if i.startswith("req-")]
    assert len(requirements) == 7  # 5 IEC 62443-4-2 at SL 2 + 2 NIST
    assert "req-iec-62443-4-2-CR-7-7" in requirements
    assert CR32 in requirements  # a row of the "not assessable" table: a link lands there
    assert page.count_class("section", "device") == 4
    assert page.count_class("section", "req") == 6
    targets = {v[1:] for _, v in page.urls if v.startswith("#")}
    assert targets <= set(page.ids)


def test_nothing_is_loaded_from_outside_the_file(rendered):
    _, text = rendered
    page = Page(text)
    assert page.urls  # plenty of in-page links …
    assert all(value.startswith("#") for _, value in page.urls)  # … and nothing else
    assert not {"script", "link", "iframe", "object", "embed", "img", "base"} & set(page.tags)
    assert "url(" not in text
    assert "@import" not in text
    assert "default-src 'none'" in text  # and the browser is told so


def test_hostile_device_text_appears_only_escaped(rendered):
    _, text = rendered
    page = Page(text)
    assert "<script" not in text
    assert "<img" not in text
    assert not page.handlers
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in text
    # read as text, the page shows exactly what the device sent
    assert SCRIPT in page.plain
    assert IMG in page.plain


def test_control_characters_in_device_text_become_visible_escapes(rendered):
    _, text = rendered
    assert "\x1b" not in text
    assert "\\x1b[31mLogin:" in text
    assert html.visible("a\x00b\x9fc\ufffe") == "a\\x00b\\x9fc\ufffd"


def test_the_counts_match_the_assessment(rendered):
    lang, text = rendered
    data = hostile_report_data()
    statuses = Counter(st.status for st in data.assessment.statuses)
    for status in Status:
        assert re.search(
            rf'<div class="card st-{status.value}"[^>]*><b>{statuses[status]}</b>', text
        ), status
    # the not assessed count keeps the requirement no network scan can assess, and says so
    assert statuses[Status.NOT_ASSESSED] > 4
    said = translator(lang)("not_assessable.in_counts").format(n=4, r=1, d=4)
    assert said in Page(text).plain
    # the matrix has a cell per device and requirement something was measured or stated of
    page = Page(text)
    cells = [c for t, c in page.classes if t == "td" and c.startswith("cell ")]
    columns = [
        st for st in data.assessment.statuses if st.requirement.coverage is not Coverage.NONE
    ]
    assert len(cells) == len(columns) == 4 * 6
    assert Counter(c.split()[1].removeprefix("st-") for c in cells) == Counter(
        st.status.value for st in columns
    )


def test_a_finding_shows_its_evidence_remediation_and_requirements():
    text = html.render(report_data())
    camera = text.split('id="device-127-0-10-3"', 1)[1].split("</section>", 1)[0]
    telnet = next(a for a in camera.split("<article")[1:] if "services.cleartext-admin" in a)
    assert "127.0.10.3 exposes Telnet on tcp/23" in telnet
    assert '<span class="kind">banner</span>' in telnet
    assert "Turn Telnet off and administer the device over SSH." in telnet  # its own fix
    assert 'href="#req-iec-62443-4-2-CR-7-7"' in telnet
    assert 'href="#req-nist-sp-800-171r2-3-13-8"' in telnet
    # an accepted fail is shown, and says it is accepted; an expired one says so too
    shown = Page(camera).plain
    assert "Accepted deviation: firmware 2.1 removes CBC (approved by QA-7" in shown
    assert "Acceptance expired: counts as a fail again: lab only (approved by QA-2" in shown
    assert camera.count("<article") == 3


def test_a_requirement_section_names_the_devices_that_fail_it_and_why():
    text = html.render(report_data())
    cr77 = text.split('id="req-iec-62443-4-2-CR-7-7"', 1)[1].split("</section>", 1)[0]
    failing = cr77.split("<details>", 1)[0]
    assert 'href="#device-127-0-10-3"' in failing  # not satisfied: telnet
    assert 'href="#device-127-0-10-4"' in failing  # error: a timeout is never a pass
    assert "timed out reading the FTP greeting" in failing
    assert 'href="#device-2001-db8-5"' not in failing  # satisfied: listed further down
    assert 'href="#device-2001-db8-5"' in cr77


def test_the_manual_evidence_section_lists_what_needs_a_person():
    text = html.render(report_data())
    manual = text.split('<section id="manual">', 1)[1].split("</section>", 1)[0]
    assert "No manual evidence recorded." in manual  # ReportData has none yet
    assert 'href="#req-iec-62443-4-2-CR-3-2"' in manual  # coverage none
    assert "CR 7.7" not in manual


def test_an_interrupted_run_and_an_unfinished_device_are_flagged():
    data = report_data()
    text = html.render(dataclasses.replace(data, run=dataclasses.replace(data.run, status="x")))
    assert "The scan did not complete" in text
    router = text.split('id="device-2001-db8-5"', 1)[1]
    assert "Not every planned check ran on this device" in router.split("</section>", 1)[0]


def test_every_catalogue_key_has_both_languages():
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGS), key
        assert all(t.strip() for t in texts.values()), key


def test_every_key_the_template_uses_is_in_the_catalogue():
    source = (TEMPLATES / "report.html").read_text(encoding="utf-8")
    static = set(re.findall(r"_\('([a-z_.0-9]+)'\)", source))
    assert static
    assert static <= set(CATALOGUE)
    dynamic = set(re.findall(r"_\('([a-z_]+\.)' ~", source))
    values = {
        "status.": [s.value for s in Status],
        "status_help.": [s.value for s in Status],
        "verdict.": [v.value for v in Verdict],
        "verdict_help.": [v.value for v in Verdict],
        "coverage.": [c.value for c in Coverage],
        "coverage_help.": [c.value for c in Coverage],
        "exit.": ["0", "1", "3"],
        "label.": ["direct", "supporting"],
        "rule.": [s.value for s in Status],
        "severity.": [s.value for s in Severity],
        "severity_help.": [s.value for s in Severity],
        "meta.": [k for k in FIELDS if k != "timezone"],
    }
    assert dynamic <= set(values)
    for prefix in dynamic:
        for value in values[prefix]:
            assert prefix + value in CATALOGUE


def test_a_finding_shows_its_checks_remediation_in_the_reports_language():
    data = report_data()
    failed = next(r.check_id for r in RESULTS if r.verdict is Verdict.FAIL)
    remedy = all_checks()[failed].remediation
    assert str(escape(remedy.en)) in html.render(data)
    assert str(escape(remedy.ja)) in html.render_ja(data)
    assert str(escape(remedy.ja)) not in html.render(data)


def test_the_renderer_is_pure():
    assert html.render(report_data()) == html.render(report_data())
    assert html.render_ja(report_data()) == html.render_ja(report_data())


def test_fifty_devices_by_the_base_profile_stay_one_readable_file():
    profile = load_profile("base", all_checks())
    checks = all_checks()
    addresses = [f"127.0.20.{i}" for i in range(1, 51)]
    verdicts = list(Verdict)
    results = [
        Result(cid, a, None, verdicts[(i + j) % len(verdicts)], f"{cid} on {a}.")
        for i, a in enumerate(addresses)
        for j, cid in enumerate(sorted(checks))
    ]
    devices = tuple(Device(a, f"device-{i}", True, ()) for i, a in enumerate(addresses))
    assessment = assess(results, profile, addresses, today=date(2026, 11, 28))
    run = RunInfo(
        "20261128-101500-abcd",
        datetime(2026, 11, 28, tzinfo=UTC),
        None,
        "complete",
        profile.id,
        profile.digest,
        __version__,
        {},
    )
    data = ReportData(run, __version__, devices, assessment, checks, profile_changed=False)
    text = html.render(data)
    page = Page(text)
    requirements = {(st.framework, st.requirement.id): st.requirement for st in assessment.statuses}
    n_requirements = len(requirements)
    # a column and a section for each requirement a check is mapped to (no manual evidence
    # here); the rest, most of every standard, are listed once
    n_columns = sum(1 for r in requirements.values() if r.coverage is not Coverage.NONE)
    assert 0 < n_columns < n_requirements / 2
    assert page.count_class("td", "cell ") == 50 * n_columns
    assert page.count_class("section", "device") == 50
    assert page.count_class("section", "req") == n_columns
    assert sum(1 for i in page.ids if i.startswith("req-")) == n_requirements
    unassessable = text.split('<section id="not-assessable">', 1)[1].split("</section>", 1)[0]
    assert unassessable.count("<tr id=") == n_requirements - n_columns
    assert len(page.ids) == len(set(page.ids))
    # long lists fold: every device's result table and requirement list is in a <details>
    assert page.tags["details"] >= 50 * 2 + n_columns
    assert len(text.encode()) < 4_000_000


def _ids(fragment: str) -> list[str]:
    return Page(fragment).ids


def test_a_requirement_no_network_scan_can_assess_is_listed_once(rendered):
    lang, text = rendered
    name = {"en": "Protection from malicious code", "ja": "マルウェア対策"}[lang]
    page = Page(text)
    # one element carries its anchor: a row of its standard's "not assessable" table …
    assert page.ids.count(CR32) == 1
    unassessable = text.split('<section id="not-assessable">', 1)[1].split("</section>", 1)[0]
    assert f'<tr id="{CR32}">' in unassessable
    assert Page(unassessable).plain.count(name) == 1
    assert translator(lang)("not_assessable.count").format(n=1) in Page(unassessable).plain
    # … no matrix column, no section of its own, no row in any device's section
    matrix = text.split('<section id="matrix">', 1)[1].split("</section>", 1)[0]
    assert f'href="#{CR32}"' not in matrix
    assert "CR 3.2" not in matrix
    requirements = text.split('<section id="requirements">', 1)[1].split('<section id="not-', 1)[0]
    assert f'id="{CR32}"' not in requirements
    devices = text.split('<section id="devices">', 1)[1].split('<section id="requirements">', 1)[0]
    assert "CR 3.2" not in devices
    assert name not in devices
    # outside the manual-evidence to-do list, its title is on the page once
    before_manual = text.split('<section id="manual">', 1)[0]
    assert Page(before_manual).plain.count(name) == 1


def test_the_chart_shows_the_unassessable_as_one_segment_of_the_overall_bar(rendered):
    lang, text = rendered
    iec = text.split('<figure class="chart">', 2)[1].split("</figure>", 1)[0]
    segments = re.findall(r'<g class="st-unassessable">.*?<title>(.*?)</title>', iec)
    assert segments == [
        f"{translator(lang)('label.all_requirements')}: "
        f"{translator(lang)('not_assessable.segment')} 4"
    ]
    assert 'href="#not-assessable-1"' in iec
    assert "CR 3.2" not in iec  # no bar of its own
    nist = text.split('<figure class="chart">', 3)[2].split("</figure>", 1)[0]
    assert "st-unassessable" not in nist  # NIST here has nothing a network cannot assess


def test_a_device_folds_the_requirements_nothing_measured_into_one_line():
    text = html.render(report_data())
    router = text.split('id="device-2001-db8-5"', 1)[1].split("</section>", 1)[0]
    measured, unmeasured = router.split('<details class="unmeasured">', 1)
    # with a result: CR 7.7, CR 4.3, 3.4.7; nothing measured: CR 1.5, CR 1.11, 3.13.8 and the
    # unassessable CR 3.2, which only the count names
    assert "Requirements on this device <span" in measured
    assert "(3)" in measured.rsplit("<details>", 1)[1].split("</summary>", 1)[0]
    for rid in ("CR 7.7", "CR 4.3", "3.4.7"):
        assert rid in measured
    assert "Not assessed for this device: 4 requirements" in unmeasured
    for rid in ("CR 1.5", "CR 1.11", "3.13.8"):
        assert rid in unmeasured
        assert rid not in measured.rsplit("<details>", 1)[1]
    assert "1 of them no network scan can assess, on any device" in unmeasured
    assert 'href="#not-assessable"' in unmeasured
    assert "CR 3.2" not in router


def test_a_requirement_with_manual_evidence_keeps_its_column_though_no_network_check_can():
    data = report_data()
    said = Statement(
        "iec-62443-4-2",
        "CR 3.2",
        "Firmware images are signed and scanned before release.",
        "QA-3",
        TODAY,
        "QA-REL-12",
        devices=(CAMERA,),
    )
    evidence = (EvidenceFile("evidence.yaml", "ef" * 32, (said,)),)
    assessment = assess(
        RESULTS,
        data.assessment.profile,
        [d.address for d in data.devices],
        today=TODAY,
        manual=(said,),
    )
    text = html.render(dataclasses.replace(data, assessment=assessment, evidence=evidence))
    page = Page(text)
    matrix = text.split('<section id="matrix">', 1)[1].split("</section>", 1)[0]
    assert f'href="#{CR32}"' in matrix
    assert page.count_class("td", "cell ") == 3 * 7
    assert page.count_class("section", "req") == 7
    assert f'<section class="req" id="{CR32}">' in text
    unassessable = text.split('<section id="not-assessable">', 1)[1].split("</section>", 1)[0]
    assert "<tr id=" not in unassessable
    assert "Every requirement in scope has a mapped check or manual evidence." in unassessable
    assert "Of those not assessed" not in text
    # the camera has a statement; the others list CR 3.2 among what nothing measured
    router = text.split('id="device-2001-db8-5"', 1)[1].split("</section>", 1)[0]
    assert "CR 3.2" in router.split('<details class="unmeasured">', 1)[1]
    assert "no network scan can assess" not in router


# --- the Japanese report: Japanese wherever a Japanese text exists ---------------------------

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")


class VisibleText(HTMLParser):
    """The text a reader sees, outside code (`<code>`, `<pre>`: addresses, banners, check
    IDs, ports) and outside what no reader sees as text (`<style>`, `<title>`)."""

    HIDDEN = frozenset({"code", "pre", "style", "script", "title"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self._depth = 0
        self.parts: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._depth += tag in self.HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self._depth -= tag in self.HIDDEN

    def handle_data(self, data: str) -> None:
        if not self._depth:
            self.parts.append(data)

    def counts(self) -> tuple[int, int]:
        """(CJK characters, Latin letters)."""
        text = "".join(self.parts)
        return len(_CJK.findall(text)), len(_LATIN.findall(text))


JA_TITLES = {
    "services.unexpected": "プロファイルが許可していないポートが開いている",
    "services.cleartext-admin": "平文のプロトコルで管理できる",
    "creds.default.telnet": "Telnetで公開済みの初期パスワードによるログインが可能",
    "ssh.ciphers": "SSHサーバが弱い暗号方式を提供している",
    "web.hsts": "HTTPSの応答にHSTSがない",
    "auth.lockout": "ログイン失敗を繰り返してもアカウントがロックされない",
}
JA_REQUIREMENTS = {
    "CR 7.7": "最小機能",
    "CR 4.3": "暗号の使用",
    "3.4.7": "不要なサービスの制限",
    "3.13.8": "送信中のCUIの暗号保護",
}


def japanese_report_data() -> ReportData:
    """The fixed assessment with a Japanese text wherever the model has a field for one:
    check titles, result reasons, evidence summaries and requirement names. What the other
    branches add (status reasons in Japanese) is not there yet: the test holds without it."""
    data = report_data()
    checks = {
        cid: dataclasses.replace(c, title_ja=JA_TITLES[cid]) for cid, c in data.checks.items()
    }

    def japanese(r: Result) -> Result:
        where = f"{r.service.key} " if r.service is not None else ""
        return dataclasses.replace(
            r,
            reason_ja=f"{where}のチェック結果: {JA_TITLES[r.check_id]}（判定: {r.verdict.value}）",
            evidence=tuple(
                dataclasses.replace(e, summary_ja=f"証跡（{e.kind}）の要約") for e in r.evidence
            ),
        )

    profile = data.assessment.profile
    frameworks = tuple(
        (
            dataclasses.replace(
                fw,
                requirements=tuple(
                    dataclasses.replace(r, ja=r.ja or JA_REQUIREMENTS.get(r.id, ""))
                    for r in fw.requirements
                ),
            ),
            level,
        )
        for fw, level in profile.frameworks
    )
    profile = dataclasses.replace(profile, frameworks=frameworks)
    results = [japanese(r) for r in RESULTS]
    assessment = assess(results, profile, [d.address for d in data.devices], today=TODAY)
    return dataclasses.replace(data, checks=checks, assessment=assessment)


def test_the_japanese_report_reads_in_japanese_outside_code():
    ja = html.render_ja(japanese_report_data())
    cjk, latin = VisibleText(ja).counts()
    assert cjk >= latin, (cjk, latin)
    page = Page(ja).plain
    for cid in ("creds.default.telnet", "services.cleartext-admin", "services.unexpected"):
        assert JA_TITLES[cid] in page
    assert "のチェック結果: " in page  # Result.reason_ja
    assert "証跡（banner）の要約" in page  # Evidence.summary_ja
    assert "最小機能" in page  # the requirement's Japanese name
    # … and none of the English those replace, in the findings (the status reasons quote
    # the English reasons until assess.py writes Japanese ones: the ja branch)
    assert "Telnet accepts no published default credentials" not in page
    findings = Page("".join(a.split("</article>", 1)[0] for a in ja.split("<article")[1:])).plain
    assert "exposes Telnet on tcp/23" not in findings
    assert "対策" in findings
    # the English report keeps the English
    en = Page(html.render(japanese_report_data())).plain
    assert "Telnet accepts no published default credentials" in en
    assert JA_TITLES["creds.default.telnet"] not in en


def test_the_harness_counts_english_as_english():
    """The measure can fail: the same data without its Japanese texts is mostly Latin."""
    cjk, latin = VisibleText(html.render(japanese_report_data())).counts()
    assert latin > 10 * cjk
    assert VisibleText("<p>abc<code>defgh</code>日本</p>").counts() == (2, 3)


# --- the executive summary, findings by severity, the appendix ---------------------------------


def test_the_report_opens_on_a_title_block_and_the_executive_summary():
    text = html.render(report_data())
    body = text.split("<main>", 1)[1]
    order = [body.index(f'id="{i}"') for i in ("overview", "summary", "matrix", "devices")]
    assert order == sorted(order)
    assert body.index('id="method"') > body.index('id="manual"')  # the appendix is last
    title_block = body.split('<header class="title-block">', 1)[1].split("</header>", 1)[0]
    for value in ("ACME CAM-200", "CAM-200-EU", "2.0.7", "Example Test Lab", "T. Sato"):
        assert value in title_block
    assert "2026-11-28 11:15 CET" in title_block  # the scan's zone, Europe/Berlin
    # the plumbing moved to the appendix: nothing of it before the method section
    before = body.split('<section id="method">', 1)[0]
    plumbing = ("20261128-101500-1a2b", "Exit code", "Allow-list", "161,", "abababab")
    for text_ in plumbing:
        assert text_ not in before, text_
    appendix = body.split('<section id="method">', 1)[1]
    for text_ in (*plumbing[:-2], '<code class="item">2222</code>', "abababab"):
        assert text_ in appendix, text_


def test_each_device_has_a_headline_by_severity_or_says_nothing_failed():
    text = html.render(report_data())
    summary = text.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    rows = {
        addr: row
        for row in summary.split("<tr>")[2:]
        for addr in (CAMERA, "127.0.10.4", "2001:db8::5")
        if f'<code class="addr">{addr}</code>' in row or f'name">{addr}<' in row
    }
    # the camera: telnet's factory login (critical) and the cleartext Telnet (high) count;
    # the accepted CBC cipher does not
    camera = Page(rows[CAMERA]).plain
    assert "1 critical, 1 high" in camera
    assert "medium" not in camera
    # the NAS failed nothing that counts: the headline says how many checks decided
    nas = Page(rows["127.0.10.4"]).plain
    assert "No failure found in what a network can test (1 check)" in nas
    router = Page(rows[ROUTER]).plain
    assert "No failure found in what a network can test (2 checks)" in router
    # a device where nothing reached a verdict does not read as clean
    nothing = dataclasses.replace(
        report_data(),
        assessment=assess(
            [r for r in RESULTS if r.target != ROUTER],
            report_data().assessment.profile,
            [d.address for d in report_data().devices],
            today=TODAY,
        ),
    )
    summary = html.render(nothing).split('<section id="summary">', 1)[1].split("</table>", 1)[0]
    row = next(r for r in summary.split("<tr>") if 'name">2001:db8::5<' in r)
    assert "No check reached a verdict on this device" in Page(row).plain
    assert "No failure found" not in Page(row).plain
    # … and says when the scan did not finish there (the router's did not)
    assert "The scan did not finish on this device" in router
    assert "did not finish" not in nas


def test_findings_are_titled_by_the_problem_sorted_worst_first_with_their_fix():
    data = report_data()
    checks = {
        cid: dataclasses.replace(c, title=f"Problem of {cid}", severity_reason=f"Why {cid}")
        for cid, c in data.checks.items()
    }
    text = html.render(dataclasses.replace(data, checks=checks))
    summary = text.split('id="findings"', 1)[1].split("</table>", 1)[0]
    severities = re.findall(r'class="badge sev sev-(\w+)"', summary)
    ranks = [Severity(s).rank for s in severities]
    assert ranks == sorted(ranks, reverse=True)
    assert len(ranks) == 2
    assert summary.index("Problem of creds.default.telnet") < summary.index(
        "Problem of services.cleartext-admin"
    )
    camera = text.split('id="device-127-0-10-3"', 1)[1].split("</section>", 1)[0]
    articles = camera.split("<article")[1:]
    titles = [re.search(r"Problem of ([\w.-]+)", a).group(1) for a in articles]  # type: ignore[union-attr]
    assert titles == ["creds.default.telnet", "services.cleartext-admin", "ssh.ciphers"]
    for article in articles[:2]:  # the accepted one comes last, whatever its severity
        assert "Remediation:" in article
        assert "CWE-" in article  # the check's references
    telnet = checks["services.cleartext-admin"]
    result = next(r for r in RESULTS if r.check_id == telnet.id)
    assert str(escape(telnet.remedy_for(result).en)) in articles[1]
    # the severity's reason is on the badge
    assert 'title="Why creds.default.telnet"' in articles[0]


def test_the_port_set_wraps_only_between_items_and_no_local_path_is_shown():
    text = html.render(report_data())
    ports = text.split("<dt>Ports</dt>", 1)[1].split("</dd>", 1)[0]
    items = re.findall(r'<code class="item">([^<]*)</code>', ports)
    assert items == ["21-23", "80", "161", "2222"]
    assert ports.count("<wbr>") == len(items)  # a break opportunity after each item only
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    assert "dd.items code.item { white-space: nowrap; }" in css
    assert "/home/maker" not in text
    assert '<code class="item">cam-200.yaml</code>' in text
    assert html.local_paths_hidden("--profile=/srv/a/b.yaml x /c") == "--profile=b.yaml x /c"


def test_a_requirement_whose_entry_is_not_written_stays_out_of_the_report():
    data = report_data()
    profile = data.assessment.profile
    frameworks = tuple(
        (
            dataclasses.replace(
                fw,
                requirements=tuple(
                    dataclasses.replace(r, title="") if r.id in ("CR 3.2", "CR 4.3") else r
                    for r in fw.requirements
                ),
            ),
            level,
        )
        for fw, level in profile.frameworks
    )
    profile = dataclasses.replace(profile, frameworks=frameworks)
    assessment = assess(RESULTS, profile, [d.address for d in data.devices], today=TODAY)
    text = html.render(dataclasses.replace(data, assessment=assessment))
    page = Page(text)
    assert "req-iec-62443-4-2-CR-3-2" not in page.ids
    assert "req-iec-62443-4-2-CR-4-3" not in page.ids
    assert "CR 4.3" not in page.plain
    assert "CR 3.2" not in page.plain
    assert "req-iec-62443-4-2-CR-7-7" in page.ids


def test_a_check_whose_fix_depends_on_the_service_is_summarised_once_per_fix():
    """The cleartext finding about HTTP is fixed by HTTPS, about Telnet by turning it off:
    two rows of the summary, each with its own fix, never the other's."""
    data = report_data()
    check = data.checks["services.cleartext-admin"]
    https = Remedy("Serve the page over HTTPS only.", "HTTPSのみで提供する。")
    checks = {**data.checks, check.id: dataclasses.replace(check, remedies=(("http", https),))}
    web = Result(check.id, CAMERA, HTTP, Verdict.FAIL, "127.0.10.3 serves a login over HTTP.")
    assessment = assess(
        [*RESULTS, web], data.assessment.profile, [d.address for d in data.devices], today=TODAY
    )
    text = html.render(dataclasses.replace(data, checks=checks, assessment=assessment))
    summary = text.split('id="findings"', 1)[1].split("</table>", 1)[0]
    rows = [r for r in summary.split("<tr>") if check.id in r]
    assert len(rows) == 2
    http_row = next(r for r in rows if "tcp/80" in r)
    telnet_row = next(r for r in rows if "tcp/23" in r)
    assert "Serve the page over HTTPS only." in http_row
    assert "Telnet" not in Page(http_row).plain.split("tcp/80", 1)[1]
    assert "Serve the page over HTTPS only." not in telnet_row
    camera = text.split('id="device-127-0-10-3"', 1)[1].split("</section>", 1)[0]
    assert camera.count("Serve the page over HTTPS only.") == 1
