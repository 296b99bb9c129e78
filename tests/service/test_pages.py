"""The dashboard's pages through the real application (httpx ASGITransport, a logged-in
session): every page in English and Japanese, device strings escaped, no inline script or
style, roles and CSRF on every change, each change audited, and the run's live progress as
server-sent events.

The history is written straight into the tables (as the importer writes them), with
hostile device strings: a label that is a script, a vendor with quotes and markup, an alert
error that is an <img onerror>."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa

from scanner.service import auth, progress_stream
from scanner.service import schedules as sched
from scanner.service import schema as t
from scanner.service.app import create_app
from scanner.service.config import ServiceConfig
from scanner.service.dashboard_text import TEXT
from scanner.service.ui_text import catalogue

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

PASSWORD = "correct horse battery"  # a test account's
HOSTILE_LABEL = "<script>alert(1)</script>"
HOSTILE_VENDOR = 'Acme "Quoted" & <b>Co</b>'
HOSTILE_ERROR = "<img src=x onerror=alert(2)>"
HOSTILE_SUBJECT = "tcp/23 <telnet>"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

PAGES = ["/", "/devices", "/devices/1", "/runs", "/runs/r2", "/runs/r3", "/schedules",
         "/alerts", "/inventory", "/users"]  # fmt: skip
#: a heading each page shows, in each language
HEADINGS = {
    "/": ("Fleet overview", "全体概況"),
    "/devices": ("Devices", "機器"),
    "/devices/1": ("Device 127.0.96.10", "機器 127.0.96.10"),
    "/runs": ("Scans", "スキャン履歴"),
    "/runs/r2": ("Changes (drift)", "変化（ドリフト）"),
    "/runs/r3": ("Progress", "進捗"),
    "/schedules": ("Add a schedule", "定期スキャンの登録"),
    "/alerts": ("Alerts", "アラート"),
    "/inventory": ("Inventory", "資産台帳"),
    "/users": ("Audit log (latest)", "監査ログ（最新）"),
}
KEY_LIKE = re.compile(
    r"\b(?:col|fleet|device|devices|run|runs|sev|group|status|verdict|state|trigger|drift|"
    r"alert_state|schedules|alerts|inventory|users|chart|nav|run_status|channel)\.[a-z_]+"
)


def seed(engine: sa.Engine) -> None:
    """Three runs (r1, r2 complete; r3 running), two devices, drift, an alert, users."""
    fw = {"iec-62443-4-2": {"satisfied": 5, "not_satisfied": 2, "partially_assessed": 1}}
    with engine.begin() as conn:
        for rid, day, status, done, total, summary in (
            ("r1", 0, "complete", 2, 2, {"fail": 1, "medium": 1, "devices": 2}),
            ("r2", 1, "complete", 2, 2, {"fail": 4, "critical": 1, "high": 3, "pass": 9,
                                         "statuses": fw, "devices": 2}),
            ("r3", 2, "running", 1, 3, {}),
        ):  # fmt: skip
            conn.execute(
                t.runs.insert().values(
                    id=rid, site="plant-1", trigger="schedule", started=T0 + timedelta(days=day),
                    finished=None if status == "running" else T0 + timedelta(days=day, hours=1),
                    status=status, profile_id="base", profile_digest="x",
                    scanner_version="test", request={}, devices_total=total,
                    devices_done=done, summary=summary,
                )
            )  # fmt: skip
        conn.execute(
            t.devices.insert(),
            [
                {"id": 1, "site": "plant-1", "address": "127.0.96.10", "label": HOSTILE_LABEL,
                 "vendor": HOSTILE_VENDOR, "model": "M'1", "firmware": "1.0<br>",
                 "mac": "02:00:00:00:00:01", "first_seen": T0, "last_seen": T0 + timedelta(1),
                 "last_run_id": "r2"},
                {"id": 2, "site": "plant-1", "address": "127.0.96.11", "label": "gw",
                 "vendor": "", "model": "", "firmware": "", "mac": "", "first_seen": T0,
                 "last_seen": T0 + timedelta(1), "last_run_id": "r2"},
            ],
        )  # fmt: skip
        dev_summary = {
            "verdicts": {"fail": 4, "pass": 9},
            "severities": {"critical": 1, "high": 3},
            "statuses": fw,
            "services": ["tcp/23 telnet", "tcp/80 http"],
            "identity": {"ssh-hostkey": "SHA256:abc<def>"},
        }
        for values in (
                {"run_id": "r1", "device_id": 1, "address": "127.0.96.10", "label": HOSTILE_LABEL,
                 "state": "done", "worst_severity": "medium", "worst_rank": 2,
                 "summary": {"severities": {"medium": 1}}, "started": T0},
                {"run_id": "r2", "device_id": 1, "address": "127.0.96.10", "label": HOSTILE_LABEL,
                 "state": "done", "worst_severity": "critical", "worst_rank": 4,
                 "summary": dev_summary, "started": T0 + timedelta(1)},
                {"run_id": "r2", "device_id": 2, "address": "127.0.96.11", "label": "gw",
                 "state": "failed", "reason": "no answer <timeout>", "reason_ja": "応答なし",
                 "summary": {}, "started": T0 + timedelta(1)},
        ):  # fmt: skip
            conn.execute(t.run_devices.insert().values(**values))
        conn.execute(
            t.results.insert().values(
                run_id="r2", device_id=1, service_key="tcp/23", check_id="telnet.exposed",
                verdict="fail", severity="critical",
                data={"reason": "telnet answers <in clear>", "reason_ja": "Telnet が平文で応答"},
            )
        )  # fmt: skip
        conn.execute(
            t.drift.insert().values(
                run_id="r2", device_id=1, against="baseline", against_run_id="r1",
                kind="service_opened", subject=HOSTILE_SUBJECT, before="closed", after="open",
                severity="critical", detail={},
            )
        )  # fmt: skip
        conn.execute(
            t.alerts.insert().values(
                run_id="r2", channel="webhook", target="http://127.0.96.99:9/hook",
                payload={}, state="failed", attempts=5, last_error=HOSTILE_ERROR,
                created=T0 + timedelta(1),
            )
        )  # fmt: skip
        for name, role in (("ada", "admin"), ("oscar", "operator"), ("vera", "viewer")):
            auth.add_user(conn, name, role, PASSWORD)


@pytest.fixture
def app_engine(engine: sa.Engine) -> sa.Engine:
    seed(engine)
    return engine


@pytest.fixture
async def make_client(app_engine: sa.Engine, tmp_path: Path) -> AsyncIterator[Any]:
    # the real URL: run-now hands it to the runner's own process
    url = app_engine.url.render_as_string(hide_password=False)
    config = ServiceConfig(db_url=url, data_dir=tmp_path / "data", listen="127.0.0.1:0")
    app = create_app(config, engine=app_engine)
    clients: list[httpx.AsyncClient] = []

    async def make(name: str, lang: str = "en") -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"accept": "text/html"},
        )
        clients.append(client)
        r = await client.post("/login", data={"username": name, "password": PASSWORD})
        assert r.status_code == 303, r.text
        if lang != "en":
            token = await csrf_of(client)
            r = await client.post("/lang", data={"csrf": token, "lang": lang, "next": "/"})
            assert r.status_code == 303
        return client

    yield make
    for client in clients:
        await client.aclose()


async def csrf_of(client: httpx.AsyncClient, path: str = "/") -> str:
    r = await client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert found, r.text[:500]
    return found.group(1)


def visible_text(html: str) -> str:
    """The page's text: tags dropped (scripts have no bodies to drop: there are none)."""
    return re.sub(r"<[^>]+>", " ", html)


def audit_rows(engine: sa.Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(t.audit_log)
                .where(t.audit_log.c.action == action)
                .order_by(t.audit_log.c.id)
            )
        )


# --- the catalogue ---------------------------------------------------------------------------


def test_every_dashboard_word_is_in_both_languages_with_the_same_fields() -> None:
    field = re.compile(r"\{(\w+)\}")
    for key, words in TEXT.items():
        assert set(words) == {"en", "ja"}, key
        assert words["en"].strip(), key
        assert words["ja"].strip(), key
        assert set(field.findall(words["en"])) == set(field.findall(words["ja"])), key
    merged = catalogue()
    assert merged["nav.schedules"]["ja"] == "定期スキャン"
    assert merged["status.not_satisfied"]["ja"] == "不適合"
    assert merged["sev.critical"]["ja"] == "緊急"


# --- pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_every_page_renders_in_both_languages(make_client: Any, lang: str) -> None:
    client = await make_client("ada", lang)
    for path in PAGES:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        heading = HEADINGS[path][0 if lang == "en" else 1]
        assert heading in r.text, (path, lang)
        assert f'<html lang="{lang}">' in r.text
        text = visible_text(r.text)
        assert not KEY_LIKE.search(text), (path, KEY_LIKE.search(text))
        # CSP: nothing inline
        for tag in re.findall(r"<[a-zA-Z][^<>]*>", r.text):  # attributes of real tags
            assert not re.search(r"\s(?:style|on[a-z]+)=", tag), (path, tag)
        assert "<style" not in r.text
        for script in re.findall(r"<script\b[^>]*>", r.text):
            assert 'src="/static/run-progress.js"' in script, (path, script)
        assert "<script></script>" not in r.text
    if lang == "ja":
        r = await client.get("/")
        assert "最も重い不合格による機器の分類" in r.text
        assert "規格別の要件の評価結果" in r.text
        assert "IEC 62443-4-2:2019 IACS コンポーネントの技術的セキュリティ要件" in r.text
        r = await client.get("/runs/r2")
        assert "サービスの追加（ポート開放）" in r.text
        assert "ベースライン比" in r.text
        assert "ベースラインとして承認" in r.text
        r = await client.get("/devices/1")
        assert "Telnet が平文で応答" in r.text  # the Japanese reason, not the English one
        r = await client.get("/users")
        assert "ユーザー追加" in r.text  # the audit log's actions and outcomes in Japanese
        assert "成功" in r.text


async def test_hostile_device_strings_are_escaped(make_client: Any) -> None:
    client = await make_client("ada")
    seen = 0
    for path in PAGES:
        body = (await client.get(path)).text
        assert HOSTILE_LABEL not in body, path
        assert "<b>Co</b>" not in body, path
        assert HOSTILE_ERROR not in body, path
        assert "<telnet>" not in body, path
        if "&lt;script&gt;alert(1)&lt;/script&gt;" in body:
            seen += 1
    assert seen >= 4  # the label shows (escaped) on the overview, lists, device and run pages
    device = (await client.get("/devices/1")).text
    assert "Acme &#34;Quoted&#34; &amp; &lt;b&gt;Co&lt;/b&gt;" in device
    assert "1.0&lt;br&gt;" in device
    assert "SHA256:abc&lt;def&gt;" in device
    assert "tcp/23 &lt;telnet&gt;" in (await client.get("/runs/r2")).text
    assert "&lt;img src=x onerror=alert(2)&gt;" in (await client.get("/alerts")).text


async def test_overview_groups_devices_and_draws_the_trend(make_client: Any) -> None:
    client = await make_client("vera")
    body = (await client.get("/")).text
    cards = dict(
        re.findall(
            r'group-card group-(\w+)[^"]*">\s*<span class="group-name">[^<]*</span>\s*'
            r'<span class="group-count">(\d+)</span>',
            body,
        )
    )
    assert cards["critical"] == "1"
    assert cards["unreachable"] == "1"
    assert cards["high"] == "0"
    svg = re.search(r'<svg[^>]*class="trend-chart".*?</svg>', body, re.S)
    assert svg
    assert svg.group().count('<g class="bar">') == 3  # r1, r2, r3
    assert 'href="/devices/1"' in body
    assert 'href="/runs/r2"' in body


async def test_unknown_device_and_run_are_404(make_client: Any) -> None:
    client = await make_client("vera", "ja")
    r = await client.get("/devices/999")
    assert r.status_code == 404
    assert "該当する機器がありません" in r.text
    r = await client.get("/runs/nope")
    assert r.status_code == 404
    assert (await client.get("/runs/nope/events")).status_code == 404


async def test_roles_and_csrf_guard_every_change(make_client: Any, app_engine: sa.Engine) -> None:
    viewer = await make_client("vera")
    assert (await viewer.get("/users")).status_code == 403
    body = (await viewer.get("/schedules")).text
    assert 'action="/schedules"' not in body  # no add form for a viewer
    token = await csrf_of(viewer)
    form = {"csrf": token, "name": "x", "cron": "0 2 * * *", "targets": "127.0.96.10"}
    assert (await viewer.post("/schedules", data=form)).status_code == 403
    assert (await viewer.post("/runs/r2/baseline", data={"csrf": token})).status_code == 403
    operator = await make_client("oscar")
    no_csrf = {k: v for k, v in form.items() if k != "csrf"}
    assert (await operator.post("/schedules", data=no_csrf)).status_code == 403
    wrong = {**form, "csrf": token}  # the viewer's token is not the operator's
    assert (await operator.post("/schedules", data=wrong)).status_code == 403
    assert (await operator.post("/users", data={"csrf": token})).status_code == 403
    assert sched.list_all(app_engine) == []
    # the run page offers the baseline button to an operator only
    assert 'action="/runs/r2/baseline"' in (await operator.get("/runs/r2")).text
    assert 'action="/runs/r2/baseline"' not in (await viewer.get("/runs/r2")).text


async def test_schedule_add_pause_resume_remove(make_client: Any, app_engine: sa.Engine) -> None:
    client = await make_client("oscar", "ja")
    token = await csrf_of(client, "/schedules")
    form = {
        "csrf": token,
        "name": "nightly",
        "cron": "0 2 * * *",
        "tz": "Asia/Tokyo",
        "site": "plant-1",
        "targets": "127.0.96.10 127.0.96.11",
        "ports": "T:22,23,80",
        "profile": "base",
        "alerts": "webhook:http://127.0.96.99:9/hook",
    }
    r = await client.post("/schedules", data=form)
    assert r.status_code == 303, r.text[:400]
    assert r.headers["location"] == "/schedules"
    added = sched.get(app_engine, "nightly")
    assert added is not None
    assert added.tz == "Asia/Tokyo"
    assert added.definition.targets == ("127.0.96.10", "127.0.96.11")
    assert added.definition.ports == "T:22,23,80"
    assert added.alerts == ("webhook:http://127.0.96.99:9/hook",)
    assert added.created_by == "user:oscar"
    [row] = audit_rows(app_engine, "schedule.add")
    assert (row.actor, row.subject, row.outcome) == ("user:oscar", "nightly", "ok")
    page = (await client.get("/schedules")).text
    assert "nightly" in page
    assert "一時停止" in page  # the pause button, in Japanese

    # a bad cron: refused with the reason, the form keeps what was typed, audited as failed
    bad = {**form, "name": "broken", "cron": "every day"}
    r = await client.post("/schedules", data=bad)
    assert r.status_code == 400
    assert "登録できませんでした" in r.text
    assert 'value="broken"' in r.text
    assert sched.get(app_engine, "broken") is None
    assert [a.outcome for a in audit_rows(app_engine, "schedule.add")] == ["ok", "fail"]

    # everything the command line takes: windows, jitter, formats, alert kinds, baseline,
    # drift persistence, delay between probes
    full = {
        **form,
        "name": "fragile-plc",
        "windows": "sat 01:00-05:00\nsun 01:00-05:00",
        "jitter": "600",
        "formats": "json, html",
        "drift_kinds": "service_opened,new_failure",
        "baseline": "after-retrofit",
        "drift_persist": "3",
        "scan_delay": "0.5",
    }
    r = await client.post("/schedules", data=full)
    assert r.status_code == 303, r.text[:600]
    made = sched.get(app_engine, "fragile-plc")
    assert made is not None
    assert [str(w) for w in made.windows] == ["sat 01:00-05:00", "sun 01:00-05:00"]
    assert made.jitter == 600
    assert made.definition.formats == ("json", "html")
    assert made.drift_kinds == ("service_opened", "new_failure")
    assert (made.baseline, made.drift_persist) == ("after-retrofit", 3)
    assert made.definition.options == {"scan_delay": 0.5}
    page = (await client.get("/schedules")).text
    assert "sat 01:00-05:00" in page
    assert "after-retrofit" in page
    assert "3回連続で変化" in page
    for field, value, said in (
        ("jitter", "soon", "jitter: 'soon' is not a whole number"),
        ("drift_persist", "0", "drift persistence 0"),
        ("windows", "someday 25:00-26:00", ""),
        ("scan_delay", "nan", "scan_delay: 'nan' is not a number of seconds"),
        ("drift_kinds", "weather", "unknown drift kind"),
    ):
        r = await client.post("/schedules", data={**full, "name": "refused", field: value})
        assert r.status_code == 400, (field, r.status_code)
        assert said in html.unescape(r.text), (field, said)
    assert sched.get(app_engine, "refused") is None

    sid = added.id
    assert (await client.post(f"/schedules/{sid}/pause", data={"csrf": token})).status_code == 303
    paused = sched.get(app_engine, sid)
    assert paused is not None
    assert paused.paused
    assert "一時停止中" in (await client.get("/schedules")).text
    assert (await client.post(f"/schedules/{sid}/resume", data={"csrf": token})).status_code == 303
    resumed = sched.get(app_engine, sid)
    assert resumed is not None
    assert not resumed.paused
    assert (await client.post(f"/schedules/{sid}/remove", data={"csrf": token})).status_code == 303
    assert sched.get(app_engine, sid) is None
    for action in ("schedule.pause", "schedule.resume", "schedule.remove"):
        [row] = audit_rows(app_engine, action)
        assert (row.actor, row.subject) == ("user:oscar", "nightly")
    r = await client.post("/schedules/9999/run-now", data={"csrf": token})
    assert r.status_code == 404
    assert audit_rows(app_engine, "schedule.run-now")[-1].outcome == "fail"


async def test_accept_baseline_from_the_run_page(make_client: Any, app_engine: sa.Engine) -> None:
    client = await make_client("oscar")
    token = await csrf_of(client, "/runs/r2")
    r = await client.post("/runs/r2/baseline", data={"csrf": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/runs/r2?accepted=1"
    with app_engine.connect() as conn:
        rows = conn.execute(sa.select(t.baselines)).all()
    assert [(b.run_id, b.device_id, b.accepted_by, b.active) for b in rows] == [
        ("r2", None, "user:oscar", True)
    ]
    assert [a.actor for a in audit_rows(app_engine, "baseline.accept")] == ["user:oscar"]
    assert "Accepted as baseline." in (await client.get("/runs/r2?accepted=1")).text
    # the device page now names its baseline
    assert 'href="/runs/r2" class="run-id">r2</a>' in (await client.get("/devices/1")).text
    # one device's state only: its own baseline row
    r = await client.post("/runs/r1/baseline", data={"csrf": token, "device": "127.0.96.10"})
    assert r.status_code == 303
    with app_engine.connect() as conn:
        own = conn.execute(sa.select(t.baselines).where(t.baselines.c.device_id == 1)).one()
    assert (own.run_id, own.active) == ("r1", True)
    # a running scan cannot be accepted: refused, audited, nothing written
    r = await client.post("/runs/r3/baseline", data={"csrf": token})
    assert r.status_code == 409
    assert audit_rows(app_engine, "baseline.accept")[-1].outcome == "fail"
    with app_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.baselines)).scalar() == 2


async def test_admin_adds_a_user(make_client: Any, app_engine: sa.Engine) -> None:
    client = await make_client("ada")
    token = await csrf_of(client, "/users")
    form = {"csrf": token, "name": "newbie", "role": "operator", "password": "long enough pw"}
    r = await client.post("/users", data=form)
    assert r.status_code == 303
    page = (await client.get("/users")).text
    assert "newbie" in page
    [row] = [a for a in audit_rows(app_engine, "user.add") if a.subject == "newbie"]
    assert row.actor == "user:ada"
    # too short a password: refused with the reason
    r = await client.post("/users", data={**form, "name": "short", "password": "123"})
    assert r.status_code == 400
    assert "8 characters" in r.text
    r = await client.post("/users", data=form)  # the same name again
    assert r.status_code == 409


# --- live progress -------------------------------------------------------------------------


async def test_run_events_follow_the_run_until_it_is_done(
    make_client: Any, app_engine: sa.Engine
) -> None:
    client = await make_client("vera", "ja")
    page = (await client.get("/runs/r3")).text
    assert 'data-events="/runs/r3/events"' in page
    assert "<progress" in page

    async def finish_later() -> None:
        await asyncio.sleep(1.6)
        with app_engine.begin() as conn:
            conn.execute(t.runs.update().where(t.runs.c.id == "r3").values(devices_done=2))
        await asyncio.sleep(1.6)
        with app_engine.begin() as conn:
            conn.execute(
                t.runs.update().where(t.runs.c.id == "r3").values(devices_done=3, status="complete")
            )

    r, _ = await asyncio.wait_for(
        asyncio.gather(client.get("/runs/r3/events"), finish_later()), timeout=20
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = re.findall(r"event: (\w+)\ndata: (.*)\n\n", r.text)
    names = [name for name, _ in events]
    assert names[0] == "progress"
    assert names[-1] == "done"
    assert names.count("done") == 1
    assert '"done": 1, "total": 3' in events[0][1]
    assert any('"done": 2' in data for _, data in events)
    assert '"status": "complete"' in events[-1][1]
    assert "3台中 3台完了" in events[-1][1]  # the text in the reader's language
    # a finished run's page has no event source and no script
    page = (await client.get("/runs/r3")).text
    assert "data-events" not in page
    assert "<script" not in page


async def test_event_stream_is_bounded_and_stops_on_disconnect(app_engine: sa.Engine) -> None:
    async def collect(**kw: Any) -> list[str]:
        out = []
        async for chunk in progress_stream.stream(
            app_engine, "r3", describe=lambda p: f"{p.done}/{p.total}", **kw
        ):
            out.append(chunk)
        return out

    async def gone() -> bool:
        return True

    async def here() -> bool:
        return False

    started = asyncio.get_running_loop().time()
    chunks = await asyncio.wait_for(collect(is_disconnected=gone, interval=0.05), 5)
    assert [c.split("\n")[0] for c in chunks] == ["retry: 3000", "event: progress"]
    chunks = await asyncio.wait_for(
        collect(is_disconnected=here, interval=0.05, max_seconds=0.3, keepalive=0.1), 5
    )
    assert asyncio.get_running_loop().time() - started < 4
    assert 2 <= sum(c.startswith("event: progress") for c in chunks) <= 8  # keep-alives
    assert not any(c.startswith("event: done") for c in chunks)  # cut by time, not done
    # a run that is gone ends the stream with done/unknown
    chunks = await asyncio.wait_for(
        collect(is_disconnected=here, interval=0.05, max_seconds=0.2), 5
    )
    assert chunks[-1].startswith("event: progress")
    with app_engine.begin() as conn:
        conn.execute(t.runs.delete().where(t.runs.c.id == "r3"))
    chunks = await asyncio.wait_for(collect(is_disconnected=here, interval=0.05, max_seconds=2), 5)
    assert chunks[-1].startswith("event: done")
    assert '"status": "unknown"' in chunks[-1]


async def test_run_now_starts_a_real_run_and_refuses_a_second_while_it_goes(
    make_client: Any, app_engine: sa.Engine
) -> None:
    """Run-now through the runner: the run's row at once (the redirect goes to its page),
    the scan in a process of its own (here of an address where nothing listens), and a
    second run-now of the same definition refused while the first holds the lease."""
    added = sched.add(
        app_engine,
        name="probe",
        cron="0 3 1 1 *",
        definition=sched.Definition(targets=("127.0.96.20",), ports="T:10001"),
        site="plant-2",
        created_by="test",
    )
    client = await make_client("oscar", "ja")
    token = await csrf_of(client, "/schedules")
    r = await client.post(f"/schedules/{added.id}/run-now", data={"csrf": token})
    assert r.status_code == 303
    run_url = r.headers["location"]
    assert run_url.startswith("/runs/")
    run_id = run_url.removeprefix("/runs/")
    page = await client.get(run_url)
    assert page.status_code == 200
    again = await client.post(f"/schedules/{added.id}/run-now", data={"csrf": token})
    status = progress_stream.read(app_engine, run_id).status
    if status not in progress_stream.FINAL:  # still going: the lease keeps a second out
        assert again.status_code == 409
        assert "実行中のため" in again.text
    deadline = asyncio.get_running_loop().time() + 90
    while progress_stream.read(app_engine, run_id).status not in progress_stream.FINAL:
        assert asyncio.get_running_loop().time() < deadline, "the run did not end in time"
        await asyncio.sleep(0.5)
    with app_engine.connect() as conn:
        row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
    assert (row.trigger, row.schedule_id, row.site) == ("run-now", added.id, "plant-2")
    assert row.status in ("complete", "incomplete"), row.status_reason
    audited = audit_rows(app_engine, "schedule.run-now")
    assert audited[0].detail == {"run_id": run_id}
    assert audited[0].actor == "user:oscar"
    # once the run is over the lease is free again (a later run-now is not refused)
    deadline = asyncio.get_running_loop().time() + 30
    while sched.lease_holder(app_engine, added.id) is not None:
        assert asyncio.get_running_loop().time() < deadline, "the lease was not released"
        await asyncio.sleep(0.5)


# --- time zones -----------------------------------------------------------------------------


async def _runs_page(engine: sa.Engine, tmp_path: Path, tz: str, lang: str) -> str:
    config = ServiceConfig(db_url="sqlite://", data_dir=tmp_path / "data", tz=tz)
    app = create_app(config, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        r = await client.post("/login", data={"username": "vera", "password": PASSWORD})
        assert r.status_code == 303
        token = await csrf_of(client)  # the language is the user's, kept between logins
        await client.post("/lang", data={"csrf": token, "lang": lang, "next": "/"})
        return (await client.get("/runs")).text


async def test_times_show_in_the_pages_zone_and_the_headers_say_which(
    app_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")  # this machine's zone, for the English default
    # r1 started 2026-12-01 02:00 UTC: 11:00 in Japan, the day before in New York (EST)
    ja = await _runs_page(app_engine, tmp_path, "", "ja")
    assert "開始日時（JST）" in ja
    assert "2026-12-01 11:00" in ja
    assert "2026-12-01 02:00" not in ja
    en = await _runs_page(app_engine, tmp_path, "", "en")
    assert "Started (UTC)" in en
    assert "2026-12-01 02:00" in en
    for lang in ("en", "ja"):  # --tz names one zone for everyone
        page = await _runs_page(app_engine, tmp_path, "America/New_York", lang)
        assert "2026-11-30 21:00" in page
        assert "(EST)" in page or "（EST）" in page
    fleet_config = ServiceConfig(db_url="sqlite://", data_dir=tmp_path / "d", tz="Asia/Tokyo")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(fleet_config, engine=app_engine)),
        base_url="http://testserver",
    ) as client:
        await client.post("/login", data={"username": "vera", "password": PASSWORD})
        chart = (await client.get("/")).text
    assert "スキャン開始日時（JST）" in chart  # the trend chart's axis and bars too (vera reads ja)
    assert "12-01 11:00" in chart
