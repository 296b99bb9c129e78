"""Profiles, credential lists and evidence files are read typed: a value of the wrong type
(a quoted "false", text where a number belongs, .nan, .inf, numbers where text belongs) is a
ConfigError naming the file and the line of the value, never converted; `shinsa validate`
reports it in one line and exits 2 (issue 11 #2, #8)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from probes.registry import all_checks
from scanner.cli import main
from scanner.credential_lists import load_list
from scanner.errors import ConfigError
from scanner.judging import manual
from scanner.judging.profiles import load_profile

CHECKS = all_checks()


def write(tmp_path: Path, text: str | bytes, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


HEAD = "profile: p\nextends: base\n"

#: (profile text, line of the wrong value, what the message says about it)
BAD_PROFILES = [
    (
        HEAD + 'allow_intrusive: "false"\n',
        3,
        "allow_intrusive: must be true or false, not the text",
    ),
    (HEAD + 'allow_intrusive: "no"\n', 3, "allow_intrusive: must be true or false"),
    (HEAD + "allow_intrusive: 0\n", 3, "allow_intrusive: must be true or false, not the number 0"),
    (HEAD + "allow_intrusive: ~\n", 3, "allow_intrusive: must be true or false, not nothing"),
    (HEAD + 'inherit_frameworks: "false"\n', 3, "inherit_frameworks: must be true or false"),
    (
        HEAD + "params:\n  creds.default.ssh:\n    lockout_threshold: '5'\n",
        5,
        "params.creds.default.ssh.lockout_threshold: must be a whole number, not the text '5'",
    ),
    (
        HEAD + "params:\n  creds.default.ssh: {lockout_threshold: 5.0}\n",
        4,
        "lockout_threshold: must be a whole number, not the number 5.0",
    ),
    (
        HEAD + "params:\n  creds.default.ssh: {lockout_threshold: true}\n",
        4,
        "lockout_threshold: must be a whole number, not the boolean true",
    ),
    (
        HEAD + "params:\n  creds.default.ssh:\n    delay_seconds: .nan\n",
        5,
        "params.creds.default.ssh.delay_seconds: must be a finite number, not NaN",
    ),
    (
        HEAD + "params:\n  creds.default.ssh:\n    timeout_seconds: .inf\n",
        5,
        "timeout_seconds: must be a finite number, not infinity",
    ),
    (
        HEAD + "params:\n  creds.default.ssh:\n    max_wait_seconds: -.inf\n",
        5,
        "max_wait_seconds: must be a finite number, not infinity",
    ),
    (
        HEAD + "params:\n  creds.default.ssh:\n    delay_seconds: '0.5'\n",
        5,
        "delay_seconds: must be a finite number, not the text '0.5'",
    ),
    (
        HEAD + "params:\n  services.unexpected:\n    allowed: [22, 443]\n",
        5,
        "params.services.unexpected.allowed[0]: must be text, not the number 22",
    ),
    (  # a list item's error names the item's own line
        HEAD + "params:\n  services.unexpected:\n    allowed:\n      - tcp/22\n      - 443\n",
        7,
        "params.services.unexpected.allowed[1]: must be text, not the number 443",
    ),
    (
        HEAD + "params:\n  services.unexpected:\n    allowed: tcp/22\n",
        5,
        "allowed: must be a list, not the text 'tcp/22'",
    ),
    (
        HEAD + "params:\n  tls.cert.trust:\n    accept_self_signed: 'true'\n",
        5,
        "accept_self_signed: must be true or false",
    ),
    (
        HEAD + "params:\n  banner.login-notice: {required: 'yes'}\n",
        4,
        "required: must be true or false, not the text 'yes' (write true or false",
    ),
    (
        HEAD + "params:\n  tls.versions: {min_version: 1.2}\n",
        4,
        "min_version: must be text, not the number 1.2",
    ),
    (
        HEAD + "frameworks:\n  iec-62443-4-2: {security_level: '2'}\n",
        4,
        "frameworks.iec-62443-4-2.security_level: must be a whole number, not the text '2'",
    ),
    (
        HEAD + "frameworks:\n  iec-62443-4-2: {security_level: true}\n",
        4,
        "security_level: must be a whole number, not the boolean true",
    ),
    (HEAD + "colour: red\n", 3, "colour: unknown top-level key of a profile"),
    (HEAD + "title: 2026\n", 3, "title: must be text, not the number 2026"),
    ("profile: p\nextends: [base]\n", 2, "extends (a profile name or file): must be text"),
    (HEAD + "params: [creds.default.ssh]\n", 3, "params (check IDs to parameters): must be"),
    (
        HEAD + "accepted:\n  - check: services.unexpected\n    reason: r\n    approved_by: a\n"
        "    expires: 2027-01-01\n    service: 23\n",
        8,
        "accepted[0].service: must be text, not the number 23",
    ),
    (
        HEAD + "accepted:\n  - check: services.unexpected\n    reason: r\n    approved_by: a\n"
        "    expires: 2027-02-30\n",
        7,
        "accepted[0].expires: must be a date (YYYY-MM-DD), not the text '2027-02-30'",
    ),
    (
        HEAD + "accepted:\n  - check: services.unexpected\n    reason: r\n    approved_by: a\n"
        "    expires: 2027-01-01\n    expiry: soon\n",
        8,
        "accepted[0].expiry: unknown field",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_PROFILES)
def test_a_wrong_type_in_a_profile_names_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profile(str(path), CHECKS)
    assert str(info.value).startswith(f"{path} line {line}: "), str(info.value)
    assert message in str(info.value)


def test_shinsa_validate_reports_each_in_one_line_and_exits_2(tmp_path, capsys):
    paths = []
    for i, (text, _, _) in enumerate(BAD_PROFILES):
        folder = tmp_path / str(i)
        folder.mkdir()
        paths.append(write(folder, text))
    assert main(["validate", *map(str, paths)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(BAD_PROFILES), lines  # one line each, no traceback
    for path, (_, line, message), said in zip(paths, BAD_PROFILES, lines, strict=True):
        assert said.startswith(f"error: {path} line {line}: "), said
        assert message in said


def test_the_installed_command_exits_2_on_a_quoted_false(tmp_path):
    path = write(tmp_path, HEAD + 'allow_intrusive: "false"\n')
    done = subprocess.run(
        [str(Path(sys.executable).parent / "shinsa"), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert f"{path} line 3: allow_intrusive: must be true or false" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False)])
def test_unquoted_booleans_are_read_as_written(tmp_path, text, expected):
    path = write(tmp_path, HEAD + f"allow_intrusive: {text}\n")
    assert load_profile(str(path), CHECKS).allow_intrusive is expected


def test_numbers_that_are_numbers_load(tmp_path):
    path = write(
        tmp_path,
        HEAD + "params:\n  creds.default.ssh: {lockout_threshold: 5, delay_seconds: 1}\n"
        "  services.unexpected: {allowed: ['tcp/22', 'tcp/443 https']}\n",
    )
    profile = load_profile(str(path), CHECKS)
    ssh = profile.params["creds.default.ssh"]
    assert (ssh.lockout_threshold, ssh.delay_seconds) == (5, 1.0)  # type: ignore[attr-defined]
    assert isinstance(ssh.delay_seconds, float)  # type: ignore[attr-defined]
    assert profile.params["services.unexpected"].allowed == ("tcp/22", "tcp/443 https")  # type: ignore[attr-defined]


def test_a_value_a_child_profile_sets_is_blamed_on_the_child(tmp_path):
    write(
        tmp_path,
        "profile: parent\nextends: base\nparams:\n  creds.default.ssh:\n    lockout_threshold: 5\n",
        "parent.yaml",
    )
    child = write(
        tmp_path,
        "profile: child\nextends: parent\nparams:\n  creds.default.ssh:\n    delay_seconds: x\n",
        "child.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(str(child), CHECKS)
    assert str(info.value).startswith(f"{child.resolve()} line 5: ")
    write(
        tmp_path,
        "profile: parent\nextends: base\nparams:\n  creds.default.ssh:\n"
        "    lockout_threshold: '5'\n",
        "parent.yaml",
    )
    write(
        tmp_path,
        "profile: child\nextends: parent\nparams:\n  creds.default.ssh:\n    delay_seconds: 1\n",
        "child.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(str(child), CHECKS)
    assert str(info.value).startswith(f"{(tmp_path / 'parent.yaml').resolve()} line 5: ")


def test_a_profile_that_is_not_utf8_is_a_config_error_with_its_line(tmp_path):
    path = write(tmp_path, b"profile: p\ntitle: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"p\.yaml line 2: not UTF-8 text \(byte 0xe9"):
        load_profile(str(path), CHECKS)


# --- credential lists ------------------------------------------------------------------------

LIST_HEAD = "format: shinsa-credentials/1\ncredentials:\n"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("  - {protocols: [ssh], pairs: [[a, b, '3']], source: s}\n", 3, "third value"),
        ("  - {protocols: [ssh], pairs: [[a, b, -1]], source: s}\n", 3, "third value"),
        ("  - {protocols: [ssh], pairs: [[a, b, 1.5]], source: s}\n", 3, "third value"),
        ("  - {protocols: [ssh], pairs: [[a, b, true]], source: s}\n", 3, "third value"),
        ("  - {protocols: [22], pairs: [[a, b]], source: s}\n", 3, "protocols must be"),
        ("  - {protocols: ssh, pairs: [[a, b]], source: s}\n", 3, "protocols must be"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: 5}\n", 3, "needs a 'source'"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, vendor: 3}\n", 3, "vendor: must"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, kind: 5}\n", 3, "kind must be"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, match: {http: 5}}\n", 3, "match"),
        ("  - {protocols: [ssh], pairs: [[7, b]], source: s}\n", 3, "username: must be text"),
        ("  - {protocols: [ssh], pairs: [[~, b]], source: s}\n", 3, "username: must be text"),
        (
            "  - protocols: [ssh]\n    source: s\n    pairs:\n      - [a, b]\n      - [a, true]\n",
            7,
            "pairs[1] password: must be text (quote it",
        ),
        ("  - {protocols: [ssh], pairs: [a], source: s}\n", 3, "pairs[0] must be"),
        ("  - {protocols: [ssh], pairs: {a: b}, source: s}\n", 3, "pairs: must be a list"),
    ],
)
def test_a_wrong_type_in_a_credential_list_names_file_and_line(tmp_path, body, line, message):
    path = write(tmp_path, LIST_HEAD + body, "list.yaml")
    with pytest.raises(ConfigError) as info:
        load_list(path)
    assert str(info.value).startswith(f"{path} line {line}: "), str(info.value)
    assert message in str(info.value)


def test_a_numeric_password_is_refused_without_being_shown(tmp_path):
    path = write(tmp_path, LIST_HEAD + "  - {protocols: [ssh], pairs: [[a, 918273]], source: s}\n")
    with pytest.raises(ConfigError) as info:
        load_list(path)
    assert "password: must be text" in str(info.value)
    assert "a number" in str(info.value)
    assert "918273" not in str(info.value)


def test_a_json_bodied_list_is_blamed_on_its_line_too(tmp_path):
    """The imported data sets are read with the JSON parser, which knows no lines: an error
    is found again by YAML to say where."""
    path = write(
        tmp_path,
        '# header\n{"format": "shinsa-credentials/1", "credentials": [\n'
        '{"protocols": ["ssh"], "pairs": [["a", "b"]], "source": "s"},\n'
        '{"protocols": ["ssh"], "pairs": [["a", "b", "9"]], "source": "s"}\n]}\n',
        "list.yaml",
    )
    with pytest.raises(ConfigError, match=r"list\.yaml line 4: credentials\[1\]: pairs\[0\]"):
        load_list(path)


def test_nan_in_a_json_bodied_list_is_refused(tmp_path):
    path = write(
        tmp_path,
        '{"format": "shinsa-credentials/1", "credentials": [\n'
        '{"protocols": ["ssh"], "pairs": [["a", "b", NaN]], "source": "s"}]}\n',
        "list.yaml",
    )
    with pytest.raises(ConfigError, match=r"list\.yaml line 2: credentials\[0\]: pairs\[0\]"):
        load_list(path)


def test_a_list_that_is_not_utf8_is_a_config_error(tmp_path):
    path = write(
        tmp_path, LIST_HEAD.encode() + b"  - {protocols: [ssh], pairs: [[a, \xff]]}\n", "list.yaml"
    )
    with pytest.raises(ConfigError, match=r"list\.yaml line 3: not UTF-8 text"):
        load_list(path)


def test_lists_that_include_each_other_are_an_error(tmp_path):
    write(
        tmp_path,
        LIST_HEAD + "  - {protocols: [ssh], pairs: [[a, b]], source: s}\ninclude: [b.yaml]\n",
        "a.yaml",
    )
    write(
        tmp_path,
        LIST_HEAD + "  - {protocols: [ssh], pairs: [[a, b]], source: s}\ninclude: [a.yaml]\n",
        "b.yaml",
    )
    with pytest.raises(ConfigError, match="include each other"):
        load_list(tmp_path / "a.yaml")


def test_validate_reads_a_credential_list_given_to_it(tmp_path, capsys):
    path = write(tmp_path, LIST_HEAD + "  - {protocols: [ssh], pairs: [[a, b, x]], source: s}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} line 3: credentials[0]: pairs[0]" in err
    assert "Traceback" not in err


def test_scan_with_a_bad_credentials_file_exits_2_before_any_probe(tmp_path, capsys):
    path = write(tmp_path, LIST_HEAD + "  - {protocols: [ssh], pairs: [[a, b, x]], source: s}\n")
    code = main(["scan", "127.0.76.9", "--credentials", str(path), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{path} line 3" in err
    assert not (tmp_path / "o").exists()  # nothing was scanned


# --- evidence files --------------------------------------------------------------------------

EVIDENCE = (
    "format: shinsa-evidence/1\nstatements:\n  - requirement: {requirement}\n"
    "    framework: nist-sp-800-171r2\n    statement: s\n    by: b\n"
    "    date: {date}\n    document: d\n"
)


@pytest.fixture(scope="module")
def profile():
    return load_profile("base", CHECKS)


@pytest.mark.parametrize(
    ("requirement", "date", "line", "message"),
    [
        (
            "3.10",
            "2026-01-01",
            3,
            "statements[0].requirement: must be a non-empty string, not the number 3.1",
        ),
        (
            "'3.9.2'",
            "20260101",
            7,
            "statements[0].date: must be a date (YYYY-MM-DD), not the number 20260101",
        ),
        ("'3.9.2'", "true", 7, "statements[0].date: must be a date"),
    ],
)
def test_a_wrong_type_in_an_evidence_file_names_file_and_line(
    tmp_path, profile, requirement, date, line, message
):
    path = write(tmp_path, EVIDENCE.format(requirement=requirement, date=date), "ev.yaml")
    with pytest.raises(ConfigError) as info:
        manual.load_evidence(path, profile)
    assert str(info.value).startswith(f"{path} line {line}: "), str(info.value)
    assert message in str(info.value)


def test_an_evidence_file_that_is_not_utf8_is_a_config_error(tmp_path, profile, capsys):
    path = write(tmp_path, b"format: shinsa-evidence/1\nstatements:\n  - by: \xe9\n", "ev.yaml")
    with pytest.raises(ConfigError, match=r"ev\.yaml line 3: not UTF-8 text"):
        manual.load_evidence(path, profile)
    assert main(["validate", str(path)]) == 2
    assert "ev.yaml line 3: not UTF-8 text" in capsys.readouterr().err


def test_validate_checks_an_evidence_file_against_every_framework(tmp_path, capsys):
    good = write(tmp_path, EVIDENCE.format(requirement="'3.9.2'", date="2026-01-01"), "ev.yaml")
    assert main(["validate", str(good)]) == 0
    bad = write(tmp_path, EVIDENCE.format(requirement="'3.99.2'", date="2026-01-01"), "b.yaml")
    assert main(["validate", str(bad)]) == 2
    assert "has no requirement '3.99.2'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target", "cam.example", "accepted[0].target: must be an IP address"),
        ("target", "10.0.0.256", "accepted[0].target: must be an IP address"),
        ("service", "tcp23", "accepted[0].service: must be tcp/PORT or udp/PORT"),
        ("service", "udp/70000", "accepted[0].service: must be tcp/PORT or udp/PORT"),
    ],
)
def test_an_accepted_deviation_that_could_match_nothing_is_an_error(
    tmp_path, field, value, message
):
    path = write(
        tmp_path,
        HEAD + "accepted:\n  - check: services.unexpected\n    reason: r\n    approved_by: a\n"
        f"    expires: 2027-01-01\n    {field}: {value}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(str(path), CHECKS)
    assert str(info.value).startswith(f"{path} line 8: {message}")


def test_an_accepted_deviation_is_written_as_the_scan_names_devices(tmp_path):
    path = write(
        tmp_path,
        HEAD + "accepted:\n  - check: services.unexpected\n    reason: r\n    approved_by: a\n"
        "    expires: 2027-01-01\n    target: '0:0::1'\n    service: TCP/0023\n",
    )
    (accepted,) = load_profile(str(path), CHECKS).accepted
    assert (accepted.target, accepted.service) == ("::1", "tcp/23")
