"""The HTML report in a real browser: Debian's headless Chromium renders it in both languages
with no console message at all, from the fixed assessment with hostile device text and from
a lab scan, and the hostile text stays text.

Chromium runs as a subprocess (`--dump-dom`, `--screenshot`, console messages on stderr with
`--enable-logging=stderr`): no DevTools client needed. A harness test first shows that this
set-up does see a console error and injected markup, so "nothing seen" means something.
Screenshots land in the test's tmp_path; set SHINSA_SCREENSHOTS=DIR to keep a copy to look at.
Chromium comes from `.ci/install-daemons.sh`; a missing one fails, as for the interop daemons.

Print is tested through Playwright (a dependency already: scanner/browser.py) driving the same
Chromium: the page under print media emulation at the width of an A4 page's text, where every
table is measured (no column past its box or the page), and its A4 PDF, whose pages are
counted (at most two beyond one per device).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from lab.personality import builtin_names, load_builtin
from probes.registry import all_checks
from reports import html
from reports.i18n import LANGS, translator
from scanner.judging.profiles import Coverage, load_profile
from scanner.judging.report_data import collect
from scanner.store import Store
from tests.integration.conftest import scan_lab
from tests.unit.test_report_html import VisibleText, hostile_report_data

pytestmark = pytest.mark.interop

TIMEOUT = 120.0
_CONSOLE = re.compile(r":CONSOLE[(:]")


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "chromium missing: install Debian's chromium (sudo bash .ci/install-daemons.sh)"
        )
    return found


def _run(tmp_path: Path, url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"  # one per test: parallel runs share nothing
    return subprocess.run(
        [
            _chromium(),
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",  # root in CI containers
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *flags,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, "LANG": "C.UTF-8"},
    )


def dump_dom(tmp_path: Path, page: Path) -> tuple[str, list[str]]:
    """The DOM after the page loaded, and every console message it caused."""
    done = _run(tmp_path, page.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if _CONSOLE.search(line)]


def screenshot(tmp_path: Path, page: Path, name: str, height: int = 7000) -> Path:
    """The top `height` pixels of the page at a laptop's width (headless Chromium ignores a
    URL fragment when it takes the picture, so one tall picture it is)."""
    png = tmp_path / name
    done = _run(tmp_path, page.as_uri(), f"--screenshot={png}", f"--window-size=1400,{height}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a blank page compresses to a few kB
    keep = os.environ.get("SHINSA_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / name)
    return png


def test_the_harness_sees_console_errors_and_injected_markup(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<p id="x">hello</p><img src=x onerror="console.error(\'injected\')">'
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    dom, console = dump_dom(tmp_path, page)
    assert any("boom" in line for line in console)
    assert "<img" in dom
    assert 'id="x"' in dom


@pytest.mark.parametrize("lang", LANGS)
def test_the_report_renders_with_no_console_message_and_hostile_text_inert(tmp_path, lang):
    data = hostile_report_data()
    page = tmp_path / f"report.{lang}.html"
    page.write_text(html.render_lang(data, lang), encoding="utf-8")
    dom, console = dump_dom(tmp_path, page)
    assert console == []  # no error, no CSP violation, no warning
    assert 'id="matrix-1"' in dom
    # a cell for each device and requirement a check is mapped to; the one no network scan
    # can assess is a row of its own table instead
    columns = [
        st for st in data.assessment.statuses if st.requirement.coverage is not Coverage.NONE
    ]
    assert dom.count('<td class="cell st-') == len(columns) < len(data.assessment.statuses)
    assert dom.count('<tr id="req-') == 1
    assert f"<title>{translator(lang)('report.title')} — " in dom
    # the hostile label and banner were parsed as text: no element, no handler, no script
    assert "<img" not in dom
    assert "<script" not in dom
    assert "onerror=" not in dom.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert '"&gt;&lt;img src=x onerror=alert(1)&gt;' in dom
    screenshot(tmp_path, page, f"report.{lang}.png")


@pytest.mark.lab
async def test_a_lab_scan_renders_in_chromium_in_both_languages(start_lab, tmp_path):
    lab = await start_lab([load_builtin("weak-camera"), load_builtin("fault-garbage")])
    profile = load_profile("base", all_checks())
    with Store(tmp_path / "shinsa.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
        data = collect(store, scanned.run_id, profile, all_checks(), today=date.today())
    camera = lab.devices[0]
    for lang in LANGS:
        page = tmp_path / f"lab.{lang}.html"
        page.write_text(html.render_lang(data, lang), encoding="utf-8")
        dom, console = dump_dom(tmp_path, page)
        assert console == []
        assert f'id="device-{camera.address.replace(".", "-")}"' in dom
        assert "services.cleartext-admin" in dom
        screenshot(tmp_path, page, f"lab.{lang}.png")


#: A4 (210 × 297 mm) less the print stylesheet's margins (11 mm each side, 12 mm top and
#: 13 mm bottom), in CSS pixels
A4_TEXT_WIDTH = round((210 - 22) / 25.4 * 96)
A4_TEXT_HEIGHT = round((297 - 25) / 25.4 * 96)
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")

#: every table shown in print: its scroll width against its own box and the page, and
#: every matrix column heading whose right edge is past the page
_MEASURE = """() => {
  const shown = (e) => e.getClientRects().length > 0;
  const width = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll('table')].filter(shown).map(t => ({
    id: t.id || t.className, scroll: t.scrollWidth, client: t.clientWidth,
    right: Math.ceil(t.getBoundingClientRect().right)}));
  const clipped = [...document.querySelectorAll('table.matrix th.req')].filter(shown)
    .filter(th => th.getBoundingClientRect().right > width + 0.5).map(th => th.textContent);
  const columns = [...document.querySelectorAll('table.matrix th.req')].filter(shown).length;
  const nav = [...document.querySelectorAll('nav')].filter(shown).length;
  return {width, tables, clipped, columns, nav,
          overflow: document.documentElement.scrollWidth - width,
          height: document.documentElement.scrollHeight};
}"""


async def printed(page: Path) -> tuple[int, dict[str, Any]]:
    """The page printed to A4 by Chromium: its number of pages, and what `_MEASURE` saw
    under print media at the width of the page's text."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = await browser.new_page(viewport={"width": A4_TEXT_WIDTH, "height": 1000})
            await tab.goto(page.as_uri())
            await tab.emulate_media(media="print")
            measured: dict[str, Any] = await tab.evaluate(_MEASURE)
            pdf = await tab.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            await browser.close()
    assert pdf.startswith(b"%PDF-")
    return len(_PAGE.findall(pdf)), measured


def assert_fits_a4(measured: dict[str, Any], columns: int, pages: int) -> None:
    assert measured["nav"] == 0  # navigation is for the screen
    assert measured["columns"] == columns  # every matrix column is printed …
    assert measured["clipped"] == []  # … inside the page
    for table in measured["tables"]:
        assert table["scroll"] <= table["client"], table
        assert table["right"] <= measured["width"], table
    assert measured["overflow"] <= 0
    # no nearly blank pages: the breaks, all together, waste less than one page
    assert pages <= math.ceil(measured["height"] / A4_TEXT_HEIGHT) + 1, (pages, measured["height"])


async def test_the_print_harness_sees_a_clipped_column_and_counts_pages(tmp_path):
    """A matrix wider than the page is seen as such, and a long page is many pages."""
    cells = "".join(f'<th class="req">R{i}</th>' for i in range(80))
    page = tmp_path / "wide.html"
    page.write_text(
        f'<!DOCTYPE html><html><body><table class="matrix"><tr>{cells}</tr></table>'
        + "<p>x</p>" * 400
        + "</body></html>",
        encoding="utf-8",
    )
    pages, measured = await printed(page)
    assert measured["clipped"]
    assert pages > 3
    # and a page break that leaves a page nearly blank shows as pages beyond the height's
    blank = tmp_path / "blank.html"
    blank.write_text(
        "<!DOCTYPE html><html><body>"
        + '<p style="break-before: page">a line</p>' * 6
        + "</body></html>",
        encoding="utf-8",
    )
    pages, measured = await printed(blank)
    assert pages > math.ceil(measured["height"] / A4_TEXT_HEIGHT) + 1


@pytest.mark.parametrize("lang", LANGS)
async def test_the_report_prints_on_a4_with_every_matrix_column(tmp_path, lang):
    data = hostile_report_data()
    page = tmp_path / f"report.{lang}.html"
    page.write_text(html.render_lang(data, lang), encoding="utf-8")
    pages, measured = await printed(page)
    columns = {
        (st.framework, st.requirement.id)
        for st in data.assessment.statuses
        if st.requirement.coverage is not Coverage.NONE
    }
    assert_fits_a4(measured, len(columns), pages)
    assert 1 < pages <= 2 + len(data.devices)


@pytest.mark.lab
async def test_the_lab_report_prints_in_at_most_two_pages_more_than_devices(start_lab, tmp_path):
    """The demo's lab (every built-in personality, as `make demo` scans it): 114 pages
    before the print stylesheet, with 26 of 60 matrix columns cut off."""
    lab = await start_lab([load_builtin(name) for name in builtin_names()])
    profile = load_profile("base", all_checks())
    with Store(tmp_path / "shinsa.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
        data = collect(store, scanned.run_id, profile, all_checks(), today=date.today())
    columns = {
        (st.framework, st.requirement.id)
        for st in data.assessment.statuses
        if st.requirement.coverage is not Coverage.NONE or st.manual
    }
    for lang in LANGS:
        page = tmp_path / f"lab.{lang}.html"
        page.write_text(html.render_lang(data, lang), encoding="utf-8")
        pages, measured = await printed(page)
        assert_fits_a4(measured, len(columns), pages)
        assert pages <= 2 + len(data.devices), (lang, pages)


@pytest.mark.lab
async def test_the_japanese_lab_report_reads_in_japanese_outside_code(start_lab, tmp_path):
    """A real scan's Japanese report: check titles, reasons, evidence summaries, status
    reasons and requirement titles all need their Japanese (the probes', assess.py's and the
    framework files'); addresses, banners, check IDs and ports are code."""
    lab = await start_lab([load_builtin("weak-camera"), load_builtin("home-router")])
    profile = load_profile("base", all_checks())
    with Store(tmp_path / "shinsa.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
        data = collect(store, scanned.run_id, profile, all_checks(), today=date.today())
    cjk, latin = VisibleText(html.render_ja(data)).counts()
    assert cjk >= latin, (cjk, latin)
