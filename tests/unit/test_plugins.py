"""Plugins through a real dist-info on sys.path, and a declarative check against a server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from scanner import declarative, plugins
from scanner.errors import ConfigError
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Limits, Network
from scanner.probe import ProbeContext, Severity
from scanner.scope import Scope
from tests.serving import serving

if TYPE_CHECKING:
    from pathlib import Path

ADDR = "127.0.76.31"

PROBE_MODULE = """
from scanner.probe import Check, ServiceProbe
from scanner.model import Verdict

class Good(ServiceProbe):
    checks = (Check("{ns}.thing", "A thing holds", "looks"),)
    protocols = frozenset({{"http"}})

    async def run(self, ctx, service):
        return [ctx.result(self.checks[0], Verdict.PASS, "ok", service=service)]
"""


def _dist(root: Path, name: str, module: str, source: str, target: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[shinsa.probes]\ngood = {module}:{target}\n")


def test_a_good_plugin_loads_with_its_origin(tmp_path: Path, monkeypatch):
    _dist(tmp_path, "acme-checks", "acme_mod", PROBE_MODULE.format(ns="acme"), "Good")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = plugins.load(only={"acme-checks"})
    assert reg.problems == ()
    assert "acme.thing" in reg.checks()
    assert reg.origin("acme.thing") == "acme-checks 1.0"
    assert reg.origin("services.unexpected") == plugins.BUILTIN


def test_broken_wrong_type_and_colliding_plugins_are_skipped_by_name(tmp_path, monkeypatch):
    _dist(tmp_path, "broken-one", "broken_mod", "raise ImportError('nope')\n", "Good")
    _dist(tmp_path, "wrong-type", "wrong_mod", "Good = 42\n", "Good")
    _dist(tmp_path, "clash", "clash_mod", PROBE_MODULE.format(ns="services"), "Good")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = plugins.load(only={"broken-one", "wrong-type", "clash"})
    text = {p.plugin: str(p) for p in reg.problems}
    assert set(text) == {"broken-one", "wrong-type", "clash"}
    assert "does not import" in text["broken-one"]
    assert "not a Probe subclass" in text["wrong-type"]
    assert "already shinsa itself's" in text["clash"]
    assert not reg.plugins


CHECK = """\
format: shinsa-check/1
id: acme.debug
title: No debug page
method: GET /debug
service: {{protocols: [http]}}
http: {{path: /debug}}
match: {{status: [200], body: "DEBUG"}}
reached: {{status: [404]}}
{extra}"""


def test_a_bad_declarative_check_names_its_line(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(CHECK.format(extra="bogus: 1\n"))
    with pytest.raises(ConfigError, match="line 9: bogus: unknown field"):
        declarative.load_spec(path)


def test_a_declarative_check_declares_severity_remediation_and_references(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(
        CHECK.format(
            extra="severity: high\nreferences: [CWE-489]\n"
            "remediation: {en: Turn it off., ja: 無効にする。}\n"
        )
    )
    check = declarative.load_spec(path).check
    assert (check.severity, check.references) == (Severity.HIGH, ("CWE-489",))
    assert (check.remediation.en, check.remediation.ja) == ("Turn it off.", "無効にする。")
    path.write_text(CHECK.format(extra=""))
    assert declarative.load_spec(path).check.severity is Severity.MEDIUM  # the default
    path.write_text(CHECK.format(extra="severity: urgent\n"))
    with pytest.raises(
        ConfigError, match="line 9: severity: must be one of info, low, medium, high"
    ):
        declarative.load_spec(path)
    path.write_text(CHECK.format(extra="remediation: {ja: 無効にする。}\n"))
    with pytest.raises(ConfigError, match=r"remediation\.en"):
        declarative.load_spec(path)


def _handler(status: int, body: bytes):
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, len(body), body)
        )
        await writer.drain()

    return handle


async def test_declarative_http_verdicts(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(CHECK.format(extra=""))
    probe = declarative.load_probe(path)()
    cases = [
        (200, b"DEBUG on", Verdict.FAIL),
        (404, b"", Verdict.PASS),
        (302, b"", Verdict.INCONCLUSIVE),
    ]
    for status, body, want in cases:
        async with serving(ADDR, _handler(status, body)) as port:
            assert port != 2024
            ctx = ProbeContext(Target(ADDR), Network(Scope.of([ADDR])).device(ADDR), Facts())
            [result] = await probe.run(ctx, Service("tcp", port, "http"))
        assert result.verdict is want, result.reason


TCP_CHECK = """\
format: shinsa-check/1
id: acme.console
title: No open console
method: send STATUS
service: {ports: [1]}
tcp: {send: "STATUS\\r\\n", read: 256}
match: {body: "^OK root"}
reached: {body: "^(OK|ERR) "}
"""


async def test_declarative_tcp_verdicts_and_silence_is_never_a_pass(tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text(TCP_CHECK)
    probe = declarative.load_probe(path)()
    for answer, want in [
        (b"OK root shell\r\n", Verdict.FAIL),
        (b"ERR login first\r\n", Verdict.PASS),
        (b"", Verdict.ERROR),  # says nothing until the read timeout
    ]:

        async def handle(reader, writer, answer=answer):
            await reader.readline()
            if answer:
                writer.write(answer)
                await writer.drain()
            else:
                await asyncio.sleep(5)

        async with serving(ADDR, handle) as port:
            assert port != 2024
            net = Network(Scope.of([ADDR]), Limits(read_timeout=0.3)).device(ADDR)
            ctx = ProbeContext(Target(ADDR), net, Facts())
            [result] = await probe.run(ctx, Service("tcp", port, "unknown"))
        assert result.verdict is want, result.reason
