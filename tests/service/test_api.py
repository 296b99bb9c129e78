"""The REST API (scanner/service/api.py) through the real application (httpx
ASGITransport), with an API token of each role: what each role may read and change, the
errors (401, 403, 404, 409, 422), the audit rows of every change, a real run-now, and the
OpenAPI document (every route listed with its response schema)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa

from scanner.service import auth, views
from scanner.service import schema as t
from scanner.service.api import router
from scanner.service.app import create_app
from scanner.service.config import ServiceConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DEAD_ADDRESS = "127.0.95.30"  # the api block; nothing listens there
ROLES = ("viewer", "operator", "admin")


def seed(engine: sa.Engine) -> dict[str, str]:
    """Two runs of one device with a finding and a drift; a token per role."""
    with engine.begin() as conn:
        for i, rid in enumerate(("r1", "r2")):
            conn.execute(
                t.runs.insert().values(
                    id=rid, site="plant", trigger="import", started=T0 + timedelta(days=i),
                    finished=T0 + timedelta(days=i, minutes=5), status="complete",
                    profile_id="base", profile_digest="d", scanner_version="t", request={},
                    devices_total=1, devices_done=1,
                    summary={"fail": i + 1, "high": i + 1, "devices": 1,
                             "statuses": {"iec": {"not_satisfied": i + 1}}},
                )
            )  # fmt: skip
        conn.execute(
            t.devices.insert().values(
                id=7, site="plant", address="10.0.0.7", vendor="Acme", model="PLC-5",
                first_seen=T0, last_seen=T0 + timedelta(days=1), last_run_id="r2",
            )
        )  # fmt: skip
        for i, rid in enumerate(("r1", "r2")):
            conn.execute(
                t.run_devices.insert().values(
                    run_id=rid, device_id=7, address="10.0.0.7", state="done",
                    worst_severity="high", worst_rank=3, started=T0 + timedelta(days=i),
                    summary={"verdicts": {"fail": i + 1}, "severities": {"high": i + 1},
                             "statuses": {"iec": {"not_satisfied": i + 1}},
                             "services": ["tcp/80 http"]},
                )
            )  # fmt: skip
        conn.execute(
            t.results.insert().values(
                run_id="r2", device_id=7, service_key="tcp/80", check_id="web.login.cleartext",
                verdict="fail", severity="high",
                data={"reason": "plain HTTP login", "reason_ja": "平文の HTTP ログイン"},
            )
        )  # fmt: skip
        conn.execute(
            t.drift.insert().values(
                run_id="r2", device_id=7, against="previous", against_run_id="r1",
                kind="new_failure", subject="web.login.cleartext", before="pass",
                after="fail", severity="high", detail={},
            )
        )  # fmt: skip
        return {role: auth.add_token(conn, f"ci-{role}", role) for role in ROLES}


@pytest.fixture
async def api(
    engine: sa.Engine, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, httpx.AsyncClient], sa.Engine]]:
    tokens = seed(engine)
    url = engine.url.render_as_string(hide_password=False)
    config = ServiceConfig(db_url=url, data_dir=tmp_path / "data", listen="127.0.0.1:0")
    app = create_app(config, engine=engine)
    clients = {
        role: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"authorization": f"Bearer {token}"} if token else {},
        )
        for role, token in {**tokens, "anonymous": ""}.items()
    }
    yield clients, engine
    for client in clients.values():
        await client.aclose()


def _audit_rows(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                t.audit_log.c.actor, t.audit_log.c.action, t.audit_log.c.subject,
                t.audit_log.c.outcome,
            ).order_by(t.audit_log.c.id)
        ).all()  # fmt: skip
    return [(r.actor, r.action, r.subject, r.outcome) for r in rows]


SCHEDULE = {
    "name": "nightly",
    "cron": "0 2 * * *",
    "tz": "Asia/Tokyo",
    "site": "plant",
    "targets": [DEAD_ADDRESS],
    "ports": "9",
    "windows": ["mon-fri 22:00-06:00"],
}


async def test_no_token_is_401_and_a_wrong_token_too(api: Any) -> None:
    clients, _ = api
    for path in ("/api/v1/fleet", "/api/v1/devices/7", "/api/v1/schedules"):
        r = await clients["anonymous"].get(path)
        assert r.status_code == 401, path
        assert r.json() == {"detail": "authentication required"}
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = await clients["anonymous"].get(
        "/api/v1/fleet", headers={"authorization": "Bearer shs_not-a-token"}
    )
    assert r.status_code == 401


async def test_viewer_reads_what_the_views_say(api: Any) -> None:
    clients, engine = api
    viewer = clients["viewer"]
    fleet = (await viewer.get("/api/v1/fleet")).json()
    assert fleet["groups"]["high"] == 1
    assert fleet["statuses"] == {"iec": {"not_satisfied": 2}}  # the latest run's only
    assert [r["id"] for r in fleet["latest_runs"]] == ["r2", "r1"]
    assert fleet["devices"][0]["last_run_id"] == "r2"

    devices = (await viewer.get("/api/v1/devices", params={"site": "plant"})).json()
    assert [(d["id"], d["group"]) for d in devices] == [(7, "high")]
    assert (await viewer.get("/api/v1/devices", params={"site": "x"})).json() == []

    device = (await viewer.get("/api/v1/devices/7")).json()
    assert [h["run_id"] for h in device["history"]] == ["r2", "r1"]
    (finding,) = device["findings"]
    assert finding["check_id"] == "web.login.cleartext"
    assert finding["reason_ja"] == "平文の HTTP ログイン"
    assert finding["title"]  # the catalogue's title
    assert device["device"]["vendor"] == "Acme"
    assert device["drift"][0]["kind"] == "new_failure"
    page = views.device(engine, 7)
    assert page is not None
    assert device["device"]["last_seen"] == page.device.last_seen.isoformat().replace("+00:00", "Z")

    runs = (await viewer.get("/api/v1/runs", params={"limit": 1})).json()
    assert [r["id"] for r in runs] == ["r2"]
    run = (await viewer.get("/api/v1/runs/r2")).json()
    assert (run["run"]["devices_done"], run["run"]["devices_total"]) == (1, 1)
    assert run["run"]["severities"]["high"] == 2
    drift = (await viewer.get("/api/v1/runs/r2/drift")).json()
    assert [(d["kind"], d["address"]) for d in drift] == [("new_failure", "10.0.0.7")]
    trend = (await viewer.get("/api/v1/trend")).json()
    assert [(p["run_id"], p["severities"]["high"]) for p in trend] == [("r1", 1), ("r2", 2)]
    inventory = (await viewer.get("/api/v1/inventory")).json()
    assert [(i["model"], i["services"]) for i in inventory] == [("PLC-5", ["tcp/80 http"])]
    assert (await viewer.get("/api/v1/alerts")).json() == []


async def test_unknown_ids_are_404_json(api: Any) -> None:
    clients, _ = api
    viewer, operator = clients["viewer"], clients["operator"]
    for path in ("/api/v1/devices/999", "/api/v1/runs/nope", "/api/v1/runs/nope/drift",
                 "/api/v1/schedules/nope"):  # fmt: skip
        r = await viewer.get(path)
        assert r.status_code == 404, path
        assert "detail" in r.json()
    for path in ("/api/v1/schedules/nope/pause", "/api/v1/schedules/nope/resume",
                 "/api/v1/schedules/nope/run-now"):  # fmt: skip
        assert (await operator.post(path)).status_code == 404, path
    assert (await operator.delete("/api/v1/schedules/nope")).status_code == 404
    r = await operator.post("/api/v1/baselines", json={"run_id": "nope"})
    assert r.status_code == 404


async def test_viewer_cannot_change_anything_nor_read_users_or_audit(api: Any) -> None:
    clients, engine = api
    viewer = clients["viewer"]
    r = await viewer.post("/api/v1/schedules", json=SCHEDULE)
    assert r.status_code == 403
    assert (await viewer.post("/api/v1/baselines", json={"run_id": "r1"})).status_code == 403
    assert (
        await viewer.post("/api/v1/tokens", json={"name": "x", "role": "admin"})
    ).status_code == 403
    assert (await viewer.get("/api/v1/users")).status_code == 403
    assert (await viewer.get("/api/v1/audit")).status_code == 403
    assert (await clients["operator"].get("/api/v1/users")).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.schedules)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.baselines)).scalar() == 0


async def test_operator_manages_schedules_and_every_change_is_audited(api: Any) -> None:
    clients, engine = api
    operator = clients["operator"]
    r = await operator.post("/api/v1/schedules", json=SCHEDULE)
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["name"], added["tz"], added["site"], added["paused"]) == (
        "nightly", "Asia/Tokyo", "plant", False,
    )  # fmt: skip
    assert added["targets"] == [DEAD_ADDRESS]
    assert added["windows"] == ["mon,tue,wed,thu,fri 22:00-06:00"]  # schedules.py's form
    assert added["created_by"] == "token:ci-operator"
    assert (added["baseline"], added["drift_persist"]) == ("default", 2)
    # 02:00 in Tokyo is 17:00 UTC
    assert datetime.fromisoformat(added["next_run"]).astimezone(UTC).hour == 17

    r = await operator.post("/api/v1/schedules", json=SCHEDULE)
    assert r.status_code == 409
    assert "exists" in r.json()["detail"]
    for bad in ({"cron": "61 * * * *"}, {"cron": "every day"}, {"tz": "Mars/Olympus"},
                {"targets": ["not an address!"]}, {"windows": ["someday"]},
                {"drift_persist": 0}, {"baseline": ""}):  # fmt: skip
        r = await operator.post("/api/v1/schedules", json={**SCHEDULE, "name": "bad", **bad})
        assert r.status_code == 422, (bad, r.text)
    assert (await operator.post("/api/v1/schedules", json={"name": "x"})).status_code == 422

    own = {**SCHEDULE, "name": "own", "baseline": "after-retrofit", "drift_persist": 4}
    r = await operator.post("/api/v1/schedules", json=own)
    assert r.status_code == 201, r.text
    assert (r.json()["baseline"], r.json()["drift_persist"]) == ("after-retrofit", 4)
    assert (await operator.delete("/api/v1/schedules/own")).status_code == 204

    listed = (await clients["viewer"].get("/api/v1/schedules")).json()
    assert [s["name"] for s in listed] == ["nightly"]
    paused = (await operator.post("/api/v1/schedules/nightly/pause")).json()
    assert paused["paused"] is True
    resumed = (await operator.post("/api/v1/schedules/nightly/resume")).json()
    assert resumed["paused"] is False
    r = await operator.delete("/api/v1/schedules/nightly")
    assert r.status_code == 204
    assert (await operator.get("/api/v1/schedules/nightly")).status_code == 404

    rows = [row for row in _audit_rows(engine) if row[1].startswith("schedule.")]
    assert rows[0] == ("token:ci-operator", "schedule.add", "nightly", "ok")
    assert [r[1:] for r in rows[-3:]] == [
        ("schedule.pause", "nightly", "ok"),
        ("schedule.resume", "nightly", "ok"),
        ("schedule.remove", "nightly", "ok"),
    ]
    refused = [r for r in rows if r[3] == "refused"]
    assert len(refused) == 8  # the duplicate and the seven bad definitions
    audit = (await clients["admin"].get("/api/v1/audit", params={"limit": 3})).json()
    assert [a["action"] for a in audit] == ["schedule.remove", "schedule.resume", "schedule.pause"]


async def test_operator_accepts_a_baseline(api: Any) -> None:
    clients, engine = api
    r = await clients["operator"].post("/api/v1/baselines", json={"run_id": "r1"})
    assert r.status_code == 201, r.text
    assert (r.json()["run_id"], r.json()["site"], r.json()["device_id"]) == ("r1", "plant", None)
    r = await clients["operator"].post(
        "/api/v1/baselines", json={"run_id": "latest", "device": "10.0.0.7"}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["run_id"], r.json()["device_id"]) == ("r2", 7)
    r = await clients["operator"].post(
        "/api/v1/baselines", json={"run_id": "r2", "device": "10.9.9.9"}
    )
    assert r.status_code == 422
    device = (await clients["viewer"].get("/api/v1/devices/7")).json()
    assert device["baseline_run_id"] == "r2"  # its own, over the site's whole-run one
    actions = [(a, s) for actor, a, s, _ in _audit_rows(engine) if actor == "token:ci-operator"]
    assert ("baseline.accept", "default: r1") in actions


async def test_admin_makes_tokens_that_carry_their_role(api: Any) -> None:
    clients, engine = api
    assert (await clients["operator"].post(
        "/api/v1/tokens", json={"name": "siem", "role": "viewer"}
    )).status_code == 403  # fmt: skip
    r = await clients["admin"].post("/api/v1/tokens", json={"name": "siem", "role": "viewer"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token.startswith("shs_")
    r = await clients["admin"].post("/api/v1/tokens", json={"name": "siem", "role": "viewer"})
    assert r.status_code == 409
    r = await clients["admin"].post("/api/v1/tokens", json={"name": "x", "role": "root"})
    assert r.status_code == 422
    headers = {"authorization": f"Bearer {token}"}
    new = clients["anonymous"]
    assert (await new.get("/api/v1/fleet", headers=headers)).status_code == 200
    r = await new.post("/api/v1/schedules", json=SCHEDULE, headers=headers)
    assert r.status_code == 403
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.api_tokens.c.token_hash).where(
            t.api_tokens.c.name == "siem")).scalar_one()  # fmt: skip
    assert stored == auth.digest(token)
    assert token not in str(_audit_rows(engine))
    users = (await clients["admin"].get("/api/v1/users")).json()
    assert users == []  # tokens are not users; no user was added


# the child outlives the request that started it: it is waited for below through the
# run's status
async def test_run_now_starts_a_real_run_and_refuses_a_second_while_it_goes(
    api: Any,
) -> None:
    clients, engine = api
    operator = clients["operator"]
    # no maintenance window: run-now may run at any time of the test
    anytime = {**SCHEDULE, "windows": []}
    assert (await operator.post("/api/v1/schedules", json=anytime)).status_code == 201
    r = await operator.post("/api/v1/schedules/nightly/run-now")
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    second = await operator.post("/api/v1/schedules/nightly/run-now")
    assert second.status_code == 409
    run = (await clients["viewer"].get(f"/api/v1/runs/{run_id}")).json()
    assert (run["run"]["trigger"], run["run"]["schedule"]) == ("run-now", "nightly")
    # the run ends by itself (nothing listens on the target); wait for it, bounded
    deadline = time.monotonic() + 90
    status = run["run"]["status"]
    while status in ("queued", "running") and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        status = (await clients["viewer"].get(f"/api/v1/runs/{run_id}")).json()["run"]["status"]
    assert status in ("complete", "incomplete"), status
    assert ("token:ci-operator", "schedule.run-now", "nightly", "ok") in _audit_rows(engine)
    assert ("token:ci-operator", "schedule.run-now", "nightly", "refused") in _audit_rows(engine)


async def test_openapi_lists_every_route_with_its_response_schema(api: Any) -> None:
    clients, _ = api
    r = await clients["anonymous"].get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    expected = {
        (method.lower(), route.path)  # type: ignore[attr-defined]
        for route in router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }
    assert len(expected) >= 18
    listed = {(m, p) for p, ops in paths.items() if p.startswith("/api/v1") for m in ops}
    assert listed == expected
    for method, path in expected:
        op = paths[path][method]
        codes = [c for c in op["responses"] if c.startswith("2")]
        assert len(codes) == 1, (method, path)
        if codes[0] != "204":
            schema = op["responses"][codes[0]]["content"]["application/json"]["schema"]
            assert schema, (method, path)
            assert "$ref" in schema or schema.get("type") == "array", (method, path, schema)
        assert "401" in op["responses"], (method, path)
    for name in ("Fleet", "DevicePage", "RunPage", "ScheduleOut", "TrendPoint"):
        assert name in doc["components"]["schemas"], name
