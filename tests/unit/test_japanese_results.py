"""Every result a built-in probe or the engine makes carries its reason in Japanese, and
every evidence its summary, written at the source beside the English; the store keeps both,
and a store written before results carried Japanese still opens and renders ("" read back).

The AST test covers the paths no lab scan reaches (interop-only logins, engine errors); the
judge tests check that the Japanese says the same facts (numbers, names) as the English.
"""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from probes.banners import judge_versions
from probes.exposed_services import AllowedServices, judge_unexpected
from probes.registry import all_checks
from probes.session_expiry import AbsoluteParams, judge_absolute, judge_concurrent
from reports import html
from scanner.facts import Facts
from scanner.judging.assess import JudgedResult, decide
from scanner.judging.profiles import Coverage, load_profile
from scanner.judging.report_data import collect
from scanner.model import Evidence, Result, Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext, ServiceResults, where_ja
from scanner.scope import Scope
from scanner.store import Store
from tests.unit.test_assess import req

ROOT = Path(__file__).parents[2]
ADDRESS = "127.0.75.70"
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

#: where results are made: every probe module and helper, the engine and declarative checks
SOURCES = sorted(
    [
        *(ROOT / "probes").rglob("*.py"),
        ROOT / "scanner" / "engine.py",
        ROOT / "scanner" / "declarative.py",
    ]
)


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _given(call: ast.Call, keyword: str, position: int | None = None) -> bool:
    """The call passes `keyword` (or the argument at `position`) as something other than an
    empty string."""
    values = [k.value for k in call.keywords if k.arg == keyword]
    if position is not None and len(call.args) > position:
        values.append(call.args[position])
    return any(not (isinstance(v, ast.Constant) and v.value in ("", None)) for v in values)


def _sites(kind: str) -> list[tuple[str, int, bool]]:
    """(file, line, has Japanese) for every `.result(...)`, `Evidence(...)` or
    `Judgement(...)` call in `SOURCES`."""
    out = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node)
            where = str(path.relative_to(ROOT))
            # ctx.result / about.result (check, verdict, reason, ...): not a task's result()
            if (
                kind == "result"
                and name == "result"
                and isinstance(node.func, ast.Attribute)
                and len(node.args) >= 3
            ):
                out.append((where, node.lineno, _given(node, "reason_ja")))
            elif kind == "evidence" and name == "Evidence":
                out.append((where, node.lineno, _given(node, "summary_ja", 3)))
            elif kind == "judgement" and name == "Judgement":
                out.append((where, node.lineno, _given(node, "reason_ja")))
    return out


@pytest.mark.parametrize(("kind", "at_least"), [("result", 70), ("evidence", 33), ("judgement", 8)])
def test_every_result_and_evidence_is_made_with_its_japanese(kind: str, at_least: int):
    sites = _sites(kind)
    assert len(sites) >= at_least  # the walk found the sites: not vacuously true
    missing = [f"{f}:{line}" for f, line, ok in sites if not ok]
    assert missing == []


def test_no_result_helper_lets_the_japanese_default_to_empty():
    """A local helper (`result`, `_result`, `add`, ...) takes the Japanese without a
    default, so mypy refuses a call that forgets it."""
    lenient = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            defaults = (
                dict(
                    zip(
                        [a.arg for a in positional][-len(args.defaults) :],
                        args.defaults,
                        strict=True,
                    )
                )
                if args.defaults
                else {}
            )
            defaults |= {
                a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d
            }
            for arg in ("reason_ja", "what_ja", "failed_ja", "unwaited_ja", "login_ja"):
                if arg in defaults:
                    lenient.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}({arg})")
    assert lenient == []


# --- the Japanese "where" ---------------------------------------------------------------


def about(service: Service, params: dict[str, object] | None = None) -> ServiceResults:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    return ProbeContext(Target(ADDRESS), net, Facts(), params or {}).about(service)  # type: ignore[arg-type]


def test_the_japanese_where_names_address_port_and_protocol():
    ssh = Service("tcp", 22, "ssh")
    assert about(ssh).where == f"tcp/22 ssh on {ADDRESS}"
    assert about(ssh).where_ja == f"{ADDRESS} の tcp/22 (ssh)"
    assert where_ja(ADDRESS, None) == ADDRESS


def test_a_plugin_result_without_japanese_still_works():
    check = next(iter(all_checks().values()))
    result = about(Service("tcp", 80, "http")).result(check, Verdict.PASS, "fine.")
    assert (result.reason, result.reason_ja) == ("fine.", "")


# --- judges: the same facts in both languages ---------------------------------------------


def test_a_version_disclosure_names_the_same_version_in_japanese():
    ftp = Service("tcp", 21, "ftp", banner="220 ProFTPD 1.3.5e Server", product="ProFTPD")
    fail = judge_versions(about(ftp))
    assert fail.verdict is Verdict.FAIL
    assert fail.reason_ja == (
        f"{ADDRESS} の tcp/21 (ftp) はログイン前に ProFTPD 1.3.5e を開示している。"
    )
    assert fail.evidence[0].summary_ja == "tcp/21 ftp がログイン前に表示する文字列"


def test_an_unexpected_service_names_the_allowed_list_in_japanese():
    telnet = Service("tcp", 23, "telnet")
    ctx = about(telnet, {"services.unexpected": AllowedServices(allowed=("tcp/22 ssh",))}).ctx
    result = judge_unexpected(ctx, telnet)
    assert result.verdict is Verdict.FAIL
    assert "(tcp/22 ssh)" in result.reason
    assert result.reason_ja == (
        f"{ADDRESS} の tcp/23 (telnet) は開いているが、"
        "プロファイルの許可リスト（tcp/22 ssh）にない。"
    )
    assert [e.summary_ja for e in result.evidence] == [
        "tcp/23 telnet が開いている",
        "許可: tcp/22 ssh",
    ]


def test_the_concurrent_limit_gives_the_same_counts_in_japanese():
    judged = judge_concurrent(2, 3, 3, "", {})
    assert judged.verdict is Verdict.FAIL
    assert judged.reason == "3 sessions of one account were open at once (limit 2)."
    assert judged.reason_ja == "1つのアカウントのセッションが同時に 3 個開いていた（上限 2）。"
    refused = judge_concurrent(2, 2, 2, "HTTP 429", {})
    assert refused.verdict is Verdict.PASS
    assert "HTTP 429" in refused.reason_ja
    assert "2 個開いた状態" in refused.reason_ja


def test_the_absolute_timeout_gives_the_same_times_in_japanese():
    params = AbsoluteParams(max_session_seconds=60)
    still = judge_absolute(params, 5.0, [], 70.0, True, 72.4)
    assert still.verdict is Verdict.FAIL
    assert "72.4 s after its login (limit 60 s)" in still.reason
    assert "ログインの 72.4 秒後もまだ開いていた（上限 60 秒）" in still.reason_ja
    ended = judge_absolute(params, 5.0, [], 55.0, False, 60.2)
    assert "55.0 < t ≤ 60.2 秒後に終了した（上限 60 秒）" in ended.reason_ja


def test_a_failed_requirement_quotes_the_failures_japanese_reason():
    failed = Result(
        "services.unexpected",
        ADDRESS,
        Service("tcp", 23, "telnet"),
        Verdict.FAIL,
        "tcp/23 telnet is open.",
        reason_ja="tcp/23 telnet が開いている。",
    )
    _, reason, reason_ja = decide(req(Coverage.FULL), [JudgedResult(failed)])
    assert reason == "1 failed check result(s): tcp/23 telnet is open."
    assert reason_ja == "不合格の検査結果が 1 件ある: tcp/23 telnet が開いている。"


# --- the store -----------------------------------------------------------------------------

RESULT = Result(
    "banner.version-disclosure",
    ADDRESS,
    Service("tcp", 21, "ftp", banner="220 ProFTPD 1.3.5e"),
    Verdict.FAIL,
    f"tcp/21 ftp on {ADDRESS} discloses ProFTPD 1.3.5e before any login.",
    (
        Evidence(
            "banner",
            "text tcp/21 ftp shows before login",
            {"versions": ["ProFTPD 1.3.5e"]},
            "tcp/21 ftp がログイン前に表示する文字列",
        ),
    ),
    datetime(2026, 12, 6, 5, 0, tzinfo=UTC),
    0.25,
    reason_ja=f"{ADDRESS} の tcp/21 (ftp) はログイン前に ProFTPD 1.3.5e を開示している。",
)


def _started(store: Store, run_id: str) -> None:
    store.start_run(
        run_id,
        profile_id="base",
        profile_digest="0" * 64,
        scanner_version="0",
        request={"profile": "base", "targets": [ADDRESS]},
        targets=[(ADDRESS, "")],
    )


def test_the_store_keeps_the_japanese_reason_and_summary(tmp_path: Path):
    with Store(tmp_path / "shinsa.sqlite") as store:
        _started(store, "r1")
        store.add_result("r1", RESULT)
    with Store(tmp_path / "shinsa.sqlite", create=False) as store:
        (back,) = store.results("r1")
    assert back == RESULT


#: the tables as the previous version made them: no Japanese anywhere
OLD_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,
    profile_id TEXT NOT NULL, profile_digest TEXT NOT NULL, scanner_version TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE TABLE targets (
    run_id TEXT NOT NULL REFERENCES runs(id), address TEXT NOT NULL, label TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, address)
);
CREATE TABLE results (
    run_id TEXT NOT NULL REFERENCES runs(id), address TEXT NOT NULL,
    service_key TEXT NOT NULL, check_id TEXT NOT NULL, verdict TEXT NOT NULL,
    data TEXT NOT NULL, written TEXT NOT NULL,
    PRIMARY KEY (run_id, address, service_key, check_id)
);
"""
OTHER = "127.0.75.71"


def test_a_store_written_before_japanese_results_opens_and_renders(tmp_path: Path):
    path = tmp_path / "shinsa.sqlite"
    # the row exactly as the previous version's codec wrote it: no reason_ja, no summary_ja
    old_row = {
        "check_id": RESULT.check_id,
        "target": ADDRESS,
        "service": {
            "transport": "tcp",
            "port": 21,
            "protocol": "ftp",
            "banner": "220 ProFTPD 1.3.5e",
            "tls": False,
            "product": "",
            "note": "",
        },
        "verdict": "fail",
        "reason": RESULT.reason,
        "evidence": [
            {"kind": "banner", "summary": "text tcp/21 ftp shows before login", "details": {}}
        ],
        "started": "2026-12-06T05:00:00+00:00",
        "duration": 0.25,
    }
    request = {"profile": "base", "targets": [ADDRESS, OTHER]}
    db = sqlite3.connect(path)
    with db:
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO runs VALUES ('old', '2026-12-06T05:00:00+00:00', "
            "'2026-12-06T05:10:00+00:00', 'incomplete', 'base', ?, '0', ?)",
            ("0" * 64, json.dumps(request)),
        )
        db.execute("INSERT INTO targets VALUES ('old', ?, '', 'done', '')", (ADDRESS,))
        db.execute(
            "INSERT INTO targets VALUES ('old', ?, '', 'failed', 'scan failed (OSError: x)')",
            (OTHER,),
        )
        db.execute(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("old", ADDRESS, "tcp/21", RESULT.check_id, "fail", json.dumps(old_row), "x"),
        )
    db.close()
    with Store(path, create=False) as store:
        (back,) = store.results("old")
        assert (back.reason, back.reason_ja) == (RESULT.reason, "")
        assert [(e.summary, e.summary_ja) for e in back.evidence] == [
            ("text tcp/21 ftp shows before login", "")
        ]
        assert store.failures("old") == {OTHER: "scan failed (OSError: x)"}
        assert store.failures_ja("old") == {OTHER: ""}
        profile = load_profile("base", all_checks())
        data = collect(store, "old", profile, all_checks(), today=date(2026, 12, 6))
        assert [(d.unfinished_reason, d.unfinished_reason_ja) for d in data.devices] == [
            ("", ""),
            ("scan failed (OSError: x)", ""),
        ]
        # the migrated store takes new rows with their Japanese
        _started(store, "new")
        store.target_failed("new", ADDRESS, "scan failed (OSError: y)", "スキャンが失敗した")
        assert store.failures_ja("new") == {ADDRESS: "スキャンが失敗した"}
    page = html.render_lang(data, "ja")
    assert "ProFTPD 1.3.5e" in page  # the English reason stands in for the missing Japanese
