"""A check is one place: every built-in check declares, in its probe module, a problem-first
title in English and Japanese, its method, severity and why, crosswalk kind, remediation in
English and Japanese (per protocol where the fix depends on the service) and public
references; nothing else in the repository repeats them, and no remedy contradicts the
threshold the check applies."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from probes import exposed_services, ssh_config
from probes.exposed_services import judge_cleartext
from probes.lockout import LockoutParams
from probes.registry import REGISTRY, all_checks
from probes.tls_quality import ValidityParams, VersionsParams
from probes.web_login import HstsParams
from scanner import declarative
from scanner.errors import ConfigError
from scanner.facts import (
    LOGIN_FORMS,
    MQTT_INFO,
    UDP_ANSWERS,
    Facts,
    LoginForm,
    MqttInfo,
    UdpAnswer,
)
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import Check, ProbeContext, Remedy, ServiceProbe, Severity
from scanner.scope import Scope
from scanner.tls import cert

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "shinsa-plugin-example"
CHECKS = all_checks()
#: CWE IDs, RFCs, NIST special publications (SP 800-53 controls by ID, others by revision)
#: and protocol specifications by section
REFERENCE = re.compile(
    r"^(CWE-\d+|RFC \d+|NIST SP 800-53 [A-Z]{2}-\d+|NIST SP 800-\d+[A-Z]?( Rev\. \d+)?"
    r"|MQTT [\d.]+ section [\d.]+)$"
)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
ADDR = "127.0.78.130"


def _remedies(check: Check) -> list[tuple[str, Remedy]]:
    """The check's remedy for any service, then each protocol's own."""
    return [("", check.remediation), *check.remedies]


def _texts(check: Check) -> list[str]:
    """Everything a report shows about the check, in both languages."""
    out = [check.title, check.title_ja, check.method, check.method_ja]
    out += [check.severity_reason, check.severity_reason_ja]
    for _, remedy in _remedies(check):
        out += [remedy.en, remedy.ja]
    return out


@pytest.mark.parametrize("cid", sorted(CHECKS))
def test_every_fact_of_a_check_is_declared(cid: str):
    check = CHECKS[cid]
    assert check.title.strip()
    assert JAPANESE.search(check.title_ja), "title in Japanese"
    assert check.method.strip()
    assert check.kind, "the crosswalk kind"
    reason = check.severity_reason
    assert reason.strip(), "why that severity"
    assert "\n" not in reason, "one line"
    assert len(reason) <= 160, "one line"
    for protocol, remedy in _remedies(check):
        assert remedy.en.strip(), protocol
        assert JAPANESE.search(remedy.ja), f"remediation in Japanese ({protocol or 'any'})"
    assert len(dict(check.remedies)) == len(check.remedies), "one remedy per protocol"
    assert check.references
    assert all(REFERENCE.match(r) for r in check.references), check.references


@pytest.mark.parametrize("cid", sorted(CHECKS))
def test_the_method_and_the_severity_reason_read_in_japanese(cid: str):
    """A Japanese auditor reads why and how without the English: at least as many CJK
    characters as Latin letters (cipher, header and parameter names stay as they are)."""
    check = CHECKS[cid]
    for field in ("method_ja", "severity_reason_ja"):
        text = getattr(check, field)
        cjk, latin = len(JAPANESE.findall(text)), len(LATIN.findall(text))
        assert cjk, f"{field} in Japanese"
        assert cjk >= latin, (field, cjk, latin, text)
    assert "\n" not in check.severity_reason_ja, "one line"
    assert len(check.severity_reason_ja) <= 160, "one line"


#: numbers of two digits or more, and dotted versions (1024, 9142, 3.1.2.10, 1.2)
_NUMBER = re.compile(r"\d+(?:\.\d+)+|\d{2,}")


@pytest.mark.parametrize("cid", sorted(CHECKS))
def test_the_japanese_states_the_numbers_the_english_states(cid: str):
    """A translation that drifts from a threshold, key size or specification section says
    something the check does not do."""
    check = CHECKS[cid]
    for en, ja in (
        (check.method, check.method_ja),
        (check.severity_reason, check.severity_reason_ja),
    ):
        assert set(_NUMBER.findall(ja)) <= set(_NUMBER.findall(en)), (en, ja)


#: titles a compliant device would earn ("The SSH server rejects factory logins"): a title
#: names the problem a fail means
COMPLIANT_WORDING = re.compile(
    r"(?i)\b(rejects?|refuses?|requires?|enforces?|is protected|are protected|offers no|"
    r"accepts no|has no weak)\b"
)


@pytest.mark.parametrize("cid", sorted(CHECKS))
def test_a_title_names_the_problem(cid: str):
    assert not COMPLIANT_WORDING.search(CHECKS[cid].title), CHECKS[cid].title


# --- remedies agree with the thresholds checked ------------------------------------------------

_HSTS = HstsParams().min_max_age
_TLS_MIN = VersionsParams().min_version.removeprefix("TLSv")
#: check ID -> (pattern, the values the check applies by default): every match of the
#: pattern in what the check says (title, method, remedies, both languages) must be one of
#: the values, and each value must be stated in every remedy in both languages.
THRESHOLDS: dict[str, list[tuple[str, set[str]]]] = {
    "web.hsts": [
        (r"(\d+) ?(?:days|日)", {str(_HSTS // 86400)}),
        (r"(\d+) ?(?:seconds|秒)", {str(_HSTS)}),
    ],
    "tls.versions": [(r"TLS (1\.\d) by default|既定ではTLS (1\.\d)", {_TLS_MIN})],
    "tls.cert.key": [
        (r"(\d+)[ -]?(?:bits?|ビット)", {str(cert.MIN_RSA_BITS), str(cert.MIN_EC_BITS)}),
        (r"RSA[^.;、。]*? (\d+) bits|(\d+)ビット以上のRSA", {str(cert.MIN_RSA_BITS)}),
        (r"EC[^.;、。]*? (\d+) bits|(\d+)ビット以上のEC", {str(cert.MIN_EC_BITS)}),
    ],
    "ssh.hostkey": [(r"(\d+)[ -]?(?:bits?|ビット)", {str(ssh_config.MIN_RSA_BITS)})],
    "tls.cert.validity": [
        (r"(\d+) days by default|既定では(\d+)日", {str(ValidityParams().min_days_left)})
    ],
    "auth.lockout": [(r"(\d+) by default|既定では(\d+)回", {str(LockoutParams().max_attempts)})],
}
#: checks whose texts state numbers that are facts of algorithms, not a profile's threshold
ALGORITHM_NUMBERS = {"ssh.kex", "ssh.macs", "session.mqtt-keepalive"}
_UNIT = re.compile(
    r"(?i)\d[\d.]*[ -]?(bits?|days?|hours?|minutes?|seconds?|years?|months?|times|attempts?"
    r"|ビット|日|時間|分|秒|年|か?月|回|倍)|by default|既定|one year|一年"
)


def _found(pattern: str, text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("cid", sorted(THRESHOLDS))
def test_a_remedy_states_the_threshold_the_check_applies(cid: str):
    """HSTS "one year" against 180 days checked, RSA 3072 against 2048: never again."""
    check = CHECKS[cid]
    for pattern, values in THRESHOLDS[cid]:
        for text in _texts(check):
            assert set(_found(pattern, text)) <= values, (text, values)
        for protocol, remedy in _remedies(check):
            for text in (remedy.en, remedy.ja):
                assert values <= set(_found(pattern, text)), (protocol, text, values)


@pytest.mark.parametrize("cid", sorted(set(CHECKS) - set(THRESHOLDS) - ALGORITHM_NUMBERS))
def test_no_other_check_states_a_threshold_unchecked(cid: str):
    """A number with a unit, or a default, in a check outside THRESHOLDS would escape the
    test above: add the check there."""
    for _, remedy in _remedies(CHECKS[cid]):
        for text in (remedy.en, remedy.ja):
            assert not _UNIT.search(text), text


def test_the_thresholds_table_follows_the_defaults():
    """The table reads the defaults, so a profile default changed is a remedy to update."""
    assert _HSTS // 86400 == 180
    assert _TLS_MIN == "1.2"
    assert (cert.MIN_RSA_BITS, cert.MIN_EC_BITS, ssh_config.MIN_RSA_BITS) == (2048, 256, 2048)
    assert "2048" in CHECKS["tls.cert.key"].title
    assert "2048" in CHECKS["ssh.hostkey"].title
    assert "3072" not in " ".join(_texts(CHECKS["ssh.hostkey"]))
    assert "one year" not in CHECKS["web.hsts"].remediation.en


# --- remedies specific to the finding --------------------------------------------------------

#: how each cleartext protocol is named in a remedy (either language)
NAMES = {
    "telnet": r"(?i)telnet",
    "ftp": r"(?i)\bftp\b",
    "tftp": r"(?i)tftp",
    "r-services": r"(?i)\b(rlogin|rsh|rexec)\b",
    "vnc": r"(?i)\bvnc\b",
    "ssdp": r"(?i)ssdp|upnp",
    "adb": r"(?i)\badb\b|android",
    "snmp": r"(?i)snmp",
    "mqtt": r"(?i)mqtt",
    "http": r"(?i)\bhttps?\b|hsts|cookie",
}
_GROUP = {"rlogin": "r-services", "rsh": "r-services", "rexec": "r-services"}
#: the protocols `judge_cleartext` fails: the always-cleartext table, SNMP, MQTT, plain HTTP
CLEARTEXT_PROTOCOLS = {*exposed_services._ALWAYS_CLEARTEXT, "snmp", "mqtt", "http"}


def test_each_cleartext_protocol_has_its_own_remedy_naming_no_other():
    """The plain-HTTP finding does not tell the maker to turn Telnet and ADB off, nor the
    Telnet finding to add HTTPS."""
    check = CHECKS["services.cleartext-admin"]
    remedies = dict(check.remedies)
    assert set(remedies) == CLEARTEXT_PROTOCOLS
    for protocol, remedy in remedies.items():
        own = _GROUP.get(protocol, protocol)
        text = f"{remedy.en} {remedy.ja}"
        assert re.search(NAMES[own], text), (protocol, "names its own service")
        for other, pattern in NAMES.items():
            if other != own:
                assert not re.search(pattern, text), (protocol, other, text)
    http = remedies["http"]
    assert not re.search(r"(?i)telnet|\badb\b", http.en + http.ja)
    assert not re.search(r"(?i)https|hsts", remedies["telnet"].en + remedies["telnet"].ja)


def _cleartext_facts(service: Service) -> Facts:
    """What makes `judge_cleartext` fail each protocol that needs more than its name."""
    facts = Facts()
    if service.protocol == "snmp":
        facts.put(UDP_ANSWERS, (UdpAnswer(service, "GET sysDescr.0", "x", snmp_community="p"),))
    if service.protocol == "mqtt":
        facts.put(MQTT_INFO, (MqttInfo(service, 0, True),))
    if service.protocol == "http":
        page = f"http://{ADDR}:{service.port}/"
        facts.put(LOGIN_FORMS, (LoginForm(service, page, page, "POST", "user", "pass"),))
    return facts


@pytest.mark.parametrize("protocol", sorted(CLEARTEXT_PROTOCOLS))
def test_a_cleartext_finding_gets_its_protocols_remedy(protocol: str):
    udp = protocol in ("snmp", "ssdp", "tftp")
    service = Service("udp" if udp else "tcp", 8080, protocol)
    net = Network(Scope.of([ADDR])).device(ADDR)
    result = judge_cleartext(ProbeContext(Target(ADDR), net, _cleartext_facts(service)), service)
    assert result.verdict is Verdict.FAIL, result.reason
    check = CHECKS["services.cleartext-admin"]
    assert check.remedy_for(result) == dict(check.remedies)[protocol]
    assert check.remedy_for(result) != check.remediation


def test_a_remedys_protocol_is_one_its_probe_runs_on():
    """A remedy for a protocol the probe never judges would never be shown."""
    for probe in REGISTRY:
        if not issubclass(probe, ServiceProbe):
            continue
        handled = probe.protocols
        for check in probe.checks:
            for protocol, _ in check.remedies:
                assert "*" in handled or protocol in handled, (check.id, protocol)


# --- declared in the source, nowhere else ----------------------------------------------------


def _declared_keywords() -> dict[str, set[str]]:
    """check ID -> the keywords its Check(...) call gives, from the probe modules' source."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / "probes").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Check":
                kw = {k.arg for k in node.keywords if k.arg}
                cid = next((k.value for k in node.keywords if k.arg == "id"), None)
                if isinstance(cid, ast.Constant) and isinstance(cid.value, str):
                    out[cid.value] = kw
                elif not kw:  # a helper's positional call: every fact passed through
                    out[f"<{path.name}:{node.lineno}>"] = {"positional"}
    return out


def test_severity_is_chosen_never_the_default():
    """Severity has a default for plugins; a built-in check states its own."""
    declared = _declared_keywords()
    defaulted = sorted(
        cid for cid, kw in declared.items() if "positional" not in kw and "severity" not in kw
    )
    assert defaulted == []
    assert {c.severity for c in CHECKS.values()} == set(Severity)  # the scale is used


def test_nothing_else_repeats_a_checks_facts():
    """No remediation file, no Japanese name table and no prefix-to-kind table outside the
    checks: the reports read them from `ReportData.checks`."""
    assert not (ROOT / "reports" / "remediation.yaml").exists()
    for path in [*(ROOT / "reports").rglob("*.py"), *(ROOT / "scanner").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for check in CHECKS.values():
            for said in (check.remediation.en, check.title_ja):
                if len(said) > 20:
                    assert said not in text, (path, check.id)


def test_a_check_without_the_new_facts_still_loads():
    """Plugins written before severity, remediation and references keep working."""
    old = Check("acme.thing", "The thing is exposed", "GET /thing")
    assert (old.severity, old.kind, old.references) == (Severity.MEDIUM, "", ())
    assert (old.title_ja, old.severity_reason, old.remedies) == ("", "", ())
    assert (old.method_ja, old.severity_reason_ja) == ("", "")


# --- the example plugin and declarative checks -------------------------------------------------


def test_the_example_plugins_checks_declare_every_fact(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    diagnostics = importlib.import_module("shinsa_example.diagnostics")
    [yaml_check] = (EXAMPLE / "shinsa_example" / "profiles" / "checks").glob("*.yaml")
    checks = [diagnostics.DIAG_PAGE, diagnostics.DIAG_SECRETS, declarative.load_spec(yaml_check)]
    for check in [c if isinstance(c, Check) else c.check for c in checks]:
        assert JAPANESE.search(check.title_ja), check.id
        assert JAPANESE.search(check.method_ja), check.id
        assert check.severity_reason.strip(), check.id
        assert JAPANESE.search(check.severity_reason_ja), check.id
        assert check.remediation.en.strip(), check.id
        assert JAPANESE.search(check.remediation.ja), check.id
        assert check.references
        assert all(REFERENCE.match(r) for r in check.references)


DECLARED = """\
format: shinsa-check/1
id: acme.debug
title: The debug page answers without a login
method: GET /debug
service: {{protocols: [http, https]}}
http: {{path: /debug}}
match: {{status: [200], body: "DEBUG"}}
reached: {{status: [404]}}
{extra}"""


def test_a_declarative_check_reads_title_ja_severity_reason_and_remedies(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(
        DECLARED.format(
            extra="title_ja: デバッグページがログインなしで応答する\n"
            "severity: high\nseverity_reason: Anyone gets the console.\n"
            "severity_reason_ja: 誰でもコンソールを操作できる。\n"
            "method_ja: 認証情報なしでGET /debugを送る\n"
            "remediation: {en: Turn it off., ja: 無効にする。}\n"
            "remedies:\n  http: {en: Serve it over HTTPS only., ja: HTTPSのみで提供する。}\n"
        ),
        encoding="utf-8",
    )
    check = declarative.load_spec(path).check
    assert check.title_ja == "デバッグページがログインなしで応答する"
    assert check.severity_reason == "Anyone gets the console."
    assert check.severity_reason_ja == "誰でもコンソールを操作できる。"
    assert check.method_ja == "認証情報なしでGET /debugを送る"
    assert check.remedies == (
        ("http", Remedy("Serve it over HTTPS only.", "HTTPSのみで提供する。")),
    )
    net = Network(Scope.of([ADDR])).device(ADDR)
    ctx = ProbeContext(Target(ADDR), net, Facts())
    for protocol, remedy in (("http", check.remedies[0][1]), ("https", check.remediation)):
        found = ctx.result(check, Verdict.FAIL, "x", service=Service("tcp", 80, protocol))
        assert check.remedy_for(found) == remedy


def test_a_declarative_check_without_japanese_keys_loads(tmp_path: Path):
    """The Japanese fields are optional: a report falls back to the English."""
    path = tmp_path / "c.yaml"
    path.write_text(DECLARED.format(extra=""), encoding="utf-8")
    check = declarative.load_spec(path).check
    assert (check.title_ja, check.method_ja, check.severity_reason_ja) == ("", "", "")
    assert check.method == "GET /debug"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("remedies: {ssh: {en: Use keys.}}\n", r"line 9: remedies: ssh is not a protocol"),
        ("remedies: {http: {ja: 無効にする。}}\n", r"remedies\.http\.en: missing"),
        ("remedies: {http: Turn it off.}\n", r"remedies\.http: .*mapping"),
        ("remedies: {HTTP: {en: x}}\n", r"remedies: a key is a protocol name"),
        ("severity_reason: [a]\n", r"severity_reason: .*text"),
        ("severity_reason_ja: [a]\n", r"severity_reason_ja: .*text"),
        ("method_ja: {a: b}\n", r"method_ja: .*text"),
    ],
)
def test_a_declarative_checks_new_fields_are_read_strictly(tmp_path, extra, message):
    path = tmp_path / "c.yaml"
    path.write_text(DECLARED.format(extra=extra), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        declarative.load_spec(path)
