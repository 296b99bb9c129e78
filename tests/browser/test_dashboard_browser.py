"""The dashboard end to end in Debian's headless Chromium, against the real `shinsa serve`.

Everything is real and on 127.0.96.0/24 (the dashboard's block): `shinsa serve` on
loopback HTTP with a SQLite database, a user made with `shinsa user add`, two simulated lab
devices, and a webhook receiver (http to loopback, signed with SHINSA_WEBHOOK_SECRET). In
the browser: log in, add a schedule through the form, run it now, watch the run page's
progress reach the end over server-sent events, accept the run as the baseline; then one
device loses a service, run again, and the drift shows on the run and device pages and its
alert on the alerts page (and reached the receiver); then switch to Japanese.

Screenshots of every page, in English and Japanese, are saved under the test's tmp dir and
copied to /work/screens/ (SHINSA_SCREENS overrides it) for a person to look at.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from playwright.async_api import Page, async_playwright, expect

from lab.personality import load_builtin
from tests.service.lab_runs import ports, running

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.browser]

SERVE = "127.0.96.1"
RECEIVER = "127.0.96.2"
LAB_FIRST = "127.0.96.10"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser test password"
SECRET = "dashboard-test-webhook-secret"
START_TIMEOUT = 30.0
RUN_TIMEOUT_MS = 180_000
SCREENS = Path(os.environ.get("SHINSA_SCREENS", "/work/screens"))


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: records every POST (headers and body), answers 204."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        length = min(int(self.headers.get("content-length", "0")), 1_000_000)
        body = self.rfile.read(length)
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer((RECEIVER, 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()
    try:
        yield f"http://{RECEIVER}:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def shinsa(
    *argv: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """`shinsa serve` on loopback HTTP with a user `ada` (admin); its base URL."""
    db = f"sqlite:///{tmp_path / 'service.sqlite'}"
    env = {**os.environ, "SHINSA_PASSWORD": PASSWORD, "SHINSA_WEBHOOK_SECRET": SECRET}
    env.pop("SHINSA_DB", None)
    done = shinsa("db", "upgrade", "--db", db, env=env)
    assert done.returncode == 0, done.stderr
    done = shinsa("user", "add", "ada", "--role", "admin", "--db", db, env=env)
    assert done.returncode == 0, done.stderr
    port = free_port(SERVE)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner",
            "serve",
            "--db",
            db,
            "--listen",
            f"{SERVE}:{port}",
            "--data",
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://{SERVE}:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(base + "/login", timeout=2) as r,  # noqa: S310
            ):
                if r.status == 200:
                    break
            assert time.monotonic() < deadline, "shinsa serve did not start in time"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


class Shots:
    """Screenshots under the tmp dir, copied to SCREENS at the end."""

    def __init__(self, where: Path) -> None:
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    async def take(self, page: Page, name: str) -> None:
        path = self.where / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)

    def publish(self) -> None:
        """Copies for a person to look at; a machine without a writable SCREENS (a CI
        runner) keeps them under the tmp dir only, and the test's own outcome stands."""
        with contextlib.suppress(OSError):
            SCREENS.mkdir(parents=True, exist_ok=True)
            for path in self.taken:
                shutil.copy2(path, SCREENS / path.name)


async def wait_for_run_end(page: Page) -> str:
    """On a run page: the progress followed live until the end; the run ID."""
    run_id = page.url.rsplit("/", 1)[-1]
    box = page.locator("#run-progress")
    # the live page: an event source, a <progress>, and the text the events update
    await expect(box).to_have_attribute("data-events", f"/runs/{run_id}/events")
    # the done event marks the box, then the page reloads once without an event source
    await page.wait_for_function(
        "() => { const b = document.getElementById('run-progress');"
        " return !b || b.dataset.finished === '1' || !b.dataset.events; }",
        timeout=RUN_TIMEOUT_MS,
    )
    await page.wait_for_load_state("load")
    await expect(page.locator("#run-progress")).not_to_have_attribute(
        "data-events", f"/runs/{run_id}/events", timeout=10_000
    )
    return run_id


def post_as_chromium(base: str, path: str) -> int:
    """POST a form as Chromium sends it from one of the service's own pages: under the
    service's `Referrer-Policy: no-referrer` its Origin is `null` (the Fetch standard's
    "serializing a request origin"), and Sec-Fetch-Site says same-origin. The status."""
    request = urllib.request.Request(  # noqa: S310 - http to our own loopback service
        base + path,
        data=b"username=ada&password=x",
        method="POST",
        headers={
            "Origin": "null",
            "Sec-Fetch-Site": "same-origin",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def test_dashboard_end_to_end(service: str, receiver: str, tmp_path: Path) -> None:
    # a same-origin form post from Chromium must reach the login route (401: a wrong
    # password), not be refused as cross-origin (403) before it
    status = post_as_chromium(service, "/login")
    assert status != 403, (
        "the service refuses Chromium's own same-origin form posts (Origin: null, "
        "Sec-Fetch-Site: same-origin) as cross-origin: nobody can log in from a browser"
    )
    shots = Shots(tmp_path / "screens")
    plc = load_builtin("legacy-plc")
    camera = load_builtin("weak-camera")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="en-GB"
            )
            page = await context.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            # log in
            await page.goto(service + "/login")
            await page.fill("#username", "ada")
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
            await expect(page.locator("h1")).to_have_text("Fleet overview")

            with running([plc, camera], LAB_FIRST) as lab:
                spec = ports(lab)
                targets = " ".join(d.address for d in lab.devices)
                # add a schedule through the form
                await page.goto(service + "/schedules")
                await page.fill("#s-name", "plant-nightly")
                await page.fill("#s-cron", "0 3 1 1 *")  # not during the test
                await page.fill("#s-tz", "Asia/Tokyo")
                await page.fill("#s-site", "plant-1")
                await page.fill("#s-targets", targets)
                await page.fill("#s-ports", spec)
                await page.fill("#s-profile", "base")
                await page.fill("#s-alerts", f"webhook:{receiver}")
                await page.click("#add-schedule button[type=submit]")
                row = page.locator("tr.schedule", has_text="plant-nightly")
                await expect(row).to_be_visible()
                await shots.take(page, "schedules-en")

                # run it now: straight to the run page, progress live over SSE
                await row.locator("button.run-now").click()
                await page.wait_for_url("**/runs/*")
                await expect(page.locator("progress#run-progress-bar")).to_be_visible()
                first = await wait_for_run_end(page)
                badge = await page.locator(".page-head .badge").text_content()
                assert badge in ("complete", "incomplete"), badge
                bar = page.locator("progress#run-progress-bar")
                assert await bar.get_attribute("value") == await bar.get_attribute("max")
                await page.click("#accept-baseline")
                await expect(page.locator(".flash")).to_have_text("Accepted as baseline.")

            # the PLC loses a service (S7, port 102 or its unprivileged stand-in)
            changed = dataclasses.replace(
                plc, services=tuple(s for s in plc.services if s.protocol != "s7")
            )
            assert len(changed.services) == len(plc.services) - 1
            with running([changed, camera], LAB_FIRST):
                await page.goto(service + "/schedules")
                await (
                    page.locator("tr.schedule", has_text="plant-nightly")
                    .locator("button.run-now")
                    .click()
                )
                await page.wait_for_url("**/runs/*")
                second = await wait_for_run_end(page)
            assert second != first

            # the drift on the run page, against the accepted baseline
            drift = page.locator("table.drift tr.drift-service_closed")
            await expect(drift.first).to_be_visible()
            await expect(drift.first).to_contain_text("vs baseline")
            await expect(page.locator("table.alerts")).to_contain_text("webhook")
            await shots.take(page, "run-en")

            # ... on the device page of the PLC
            await drift.first.locator("a").first.click()
            await expect(page.locator("h1")).to_contain_text(LAB_FIRST)
            await expect(page.locator("table.drift")).to_contain_text("service closed")
            await shots.take(page, "device-en")
            device_url = page.url

            # ... and its alert, sent to the receiver, on the alerts page
            await page.goto(service + "/alerts")
            await expect(page.locator("table.alerts tbody tr").first).to_contain_text(second)
            await expect(page.locator("table.alerts tbody tr").first).to_contain_text("sent")
            await shots.take(page, "alerts-en")
            bodies = [json.loads(body) for _, body in Receiver.received]
            assert any(
                second in json.dumps(b) and "service_closed" in json.dumps(b) for b in bodies
            )
            assert all(
                h.get("x-shinsa-signature", "").startswith("sha256=") for h, _ in Receiver.received
            )

            await page.goto(service + "/")
            await expect(page.locator("svg.trend-chart g.bar")).to_have_count(2)
            await shots.take(page, "fleet-en")

            # switch to Japanese: the same pages, Japanese headings
            await page.click("header form[action='/lang'] button")
            await expect(page.locator("h1")).to_have_text("全体概況")
            await expect(page.locator("#groups-h")).to_have_text("最も重い不合格による機器の分類")
            await shots.take(page, "fleet-ja")
            await page.goto(device_url)
            await expect(page.locator("#drift-h")).to_have_text(
                "ベースラインからの変化（ドリフト）"
            )
            await expect(page.locator("table.drift")).to_contain_text(
                "サービスの停止（ポート閉鎖）"
            )
            await shots.take(page, "device-ja")
            await page.goto(f"{service}/runs/{second}")
            await expect(page.locator("#drift-h")).to_have_text("変化（ドリフト）")
            await expect(page.locator("table.drift")).to_contain_text("ベースライン比")
            await shots.take(page, "run-ja")
            await page.goto(service + "/schedules")
            await expect(page.locator("h1")).to_have_text("定期スキャン")
            await expect(page.locator("#add-h")).to_have_text("定期スキャンの登録")
            await shots.take(page, "schedules-ja")
            await page.goto(service + "/alerts")
            await expect(page.locator("table.alerts tbody tr").first).to_contain_text("送信済み")
            await shots.take(page, "alerts-ja")
            await page.goto(service + "/inventory")
            await expect(page.locator("h1")).to_have_text("資産台帳")
            await shots.take(page, "inventory-ja")
            await page.goto(service + "/users")
            await expect(page.locator("h1")).to_have_text("ユーザー管理")
            # the audit log shows who accepted the baseline and added the schedule
            await expect(page.locator("table.audit")).to_contain_text("baseline.accept")
            await expect(page.locator("table.audit")).to_contain_text("schedule.add")
            await shots.take(page, "users-ja")
            assert not [e for e in errors if "Content Security Policy" in e], errors
            await context.close()
        finally:
            await browser.close()
            shots.publish()
