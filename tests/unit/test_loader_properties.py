"""Property tests of the three YAML loaders (profiles, credential lists, manual evidence): any
bytes and any YAML document raise nothing but ConfigError, and what does load has the types
its fields promise (a boolean is a bool, a count an int, a password text without control
characters), so garbage never becomes a permission or a login (issue 11, tests)."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from datetime import date

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from probes.registry import all_checks
from scanner.credential_lists import FORMAT as LIST_FORMAT
from scanner.credential_lists import KINDS, MATCH_KEYS, PROTOCOLS, load_list
from scanner.credentials import control_character
from scanner.errors import ConfigError
from scanner.judging import manual
from scanner.judging.profiles import PROFILE_KEYS, load_profile

CHECKS = all_checks()
PROFILE = load_profile("base", CHECKS)
#: modest: the suite stays fast; each loader still sees hundreds of shapes per run
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["false", "no", "yes", "true", "0", "5", ".nan", "2026-13-01", ""]),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("loader-properties")


def _dump(document: object) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


# --- any bytes -------------------------------------------------------------------------------


def _event(name: str) -> None:
    """Counted in --hypothesis-show-statistics: how many examples got through."""
    if currently_in_test_context():
        event(name)


T = typing.TypeVar("T")


def _outcome(load: typing.Callable[[], T]) -> T | None:
    """What a loader did: its value, or None for a ConfigError; anything else fails the test."""
    try:
        value = load()
    except ConfigError as exc:
        said = str(exc)
        _event("refused")
    else:
        _event("loaded")
        return value
    assert said, "an error says what is wrong"
    return None


@SETTINGS
@given(raw=st.binary(max_size=600))
def test_any_bytes_raise_nothing_but_config_error(folder, raw):
    path = folder / "bytes.yaml"
    path.write_bytes(raw)
    _outcome(lambda: load_profile(str(path), CHECKS))
    _outcome(lambda: load_list(path, user=True))
    _outcome(lambda: manual.load_evidence(path, PROFILE))


@SETTINGS
@given(
    head=st.sampled_from([b"profile: p\n", b"format: shinsa-credentials/1\n", b""]),
    tail=st.binary(max_size=300),
)
def test_a_known_head_with_any_bytes_after_it(folder, head, tail):
    path = folder / "tail.yaml"
    path.write_bytes(head + tail)
    _outcome(lambda: load_profile(str(path), CHECKS))
    _outcome(lambda: load_list(path, user=True))


# --- profiles --------------------------------------------------------------------------------


def _param_values(check_id: str) -> st.SearchStrategy[dict[str, object]]:
    names = [f.name for f in dataclasses.fields(CHECKS[check_id].params)] or ["nothing"]
    return st.dictionaries(st.sampled_from([*names, "unknown"]), values, max_size=3)


params = st.lists(
    st.sampled_from(sorted(CHECKS)).flatmap(
        lambda cid: st.tuples(st.just(cid), _param_values(cid))
    ),
    max_size=3,
).map(dict)
profiles = st.fixed_dictionaries(
    {"profile": st.one_of(st.just("p"), scalars)},
    optional={
        "extends": st.sampled_from(["base", "no-such-profile"]) | scalars,
        "allow_intrusive": scalars,
        "inherit_frameworks": scalars,
        "title": scalars,
        "params": params | values,
        "frameworks": st.dictionaries(
            st.sampled_from(["iec-62443-4-2", "jc-star", "nope"]),
            st.none() | st.fixed_dictionaries({"security_level": scalars}) | values,
            max_size=2,
        )
        | values,
        "accepted": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "check": st.just("services.unexpected") | scalars,
                    "reason": scalars,
                    "approved_by": scalars,
                    "expires": scalars,
                    "target": scalars,
                    "service": scalars,
                },
            ),
            max_size=2,
        )
        | values,
        "test_account": st.fixed_dictionaries(
            {}, optional={"username": scalars, "password_env": scalars}
        )
        | values,
        "unknown_key": values,
    },
)


@SETTINGS
@given(document=profiles)
def test_any_profile_document_loads_typed_or_is_a_config_error(folder, document):
    path = folder / "profile.yaml"
    path.write_text(_dump(document), encoding="utf-8")
    profile = _outcome(lambda: load_profile(str(path), CHECKS))
    if profile is None:
        return
    assert set(document) <= PROFILE_KEYS
    # only an unquoted true allows intrusive checks (base says false)
    assert profile.allow_intrusive is (document.get("allow_intrusive") is True)
    for cid, values_ in profile.params.items():
        hints = typing.get_type_hints(CHECKS[cid].params)
        for f in dataclasses.fields(values_):
            value = getattr(values_, f.name)
            kind = hints[f.name]
            if kind is bool:
                assert isinstance(value, bool)
            elif kind is int:
                assert type(value) is int
            elif kind is float:
                assert isinstance(value, float)
                assert math.isfinite(value)
            elif kind is str:
                assert isinstance(value, str)
            else:
                assert all(isinstance(v, str) for v in value)


# --- credential lists ------------------------------------------------------------------------

clean_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6)
login_text = st.one_of(
    clean_text, clean_text, st.text(max_size=6), st.sampled_from(["a\r\nb", "\x00", "\t", "\x85"])
)
pair = st.lists(st.one_of(login_text, scalars), min_size=0, max_size=4) | values
entries = st.fixed_dictionaries(
    {},
    optional={
        "protocols": st.lists(st.sampled_from(sorted(PROTOCOLS)) | scalars, max_size=3) | values,
        "pairs": st.lists(pair, max_size=3) | values,
        "source": st.just("s") | scalars,
        "vendor": scalars,
        "product": scalars,
        "kind": st.sampled_from(sorted(KINDS)) | scalars,
        "match": st.dictionaries(
            st.sampled_from(sorted(MATCH_KEYS)) | st.text(max_size=4),
            st.sampled_from(["(?i)acme", "(", "a{99999999999}", "x" * 401]) | scalars,
            max_size=2,
        )
        | values,
        "colour": values,
    },
)


def _spoiled(valid: st.SearchStrategy[dict[str, object]], keys: list[str]) -> st.SearchStrategy:
    """A valid mapping, or one with a single field replaced by (or added as) anything: most
    loads get past the first check, so the later ones are exercised too."""
    return st.tuples(valid, st.sampled_from([None, *keys]), values).map(
        lambda t: t[0] if t[1] is None else {**t[0], t[1]: t[2]}
    )


good_entries = st.fixed_dictionaries(
    {
        "protocols": st.lists(st.sampled_from(sorted(PROTOCOLS)), min_size=1, max_size=3),
        "pairs": st.lists(
            st.tuples(login_text, login_text).map(list)
            | st.tuples(login_text, login_text, st.integers(0, 99)).map(list),
            min_size=1,
            max_size=3,
        ),
        "source": st.just("s"),
    },
    optional={"vendor": st.text(max_size=6), "kind": st.sampled_from(["always", "open"])},
)
some_entries = _spoiled(good_entries, ["protocols", "pairs", "source", "kind", "match"])
random_lists = st.fixed_dictionaries(
    {
        "format": st.just(LIST_FORMAT) | scalars,
        "credentials": st.lists(entries, max_size=3) | values,
    },
    optional={
        "include": st.lists(st.text(max_size=8) | scalars, max_size=2) | values,
        "extra": values,
    },
)
lists = random_lists | _spoiled(
    st.fixed_dictionaries(
        {"format": st.just(LIST_FORMAT), "credentials": st.lists(some_entries, max_size=3)}
    ),
    ["format", "credentials", "include", "extra"],
)


def _check_list(loaded: object) -> None:
    if loaded is None:
        return
    assert isinstance(loaded, tuple)
    for entry in loaded:
        assert entry.protocols
        assert entry.protocols <= PROTOCOLS
        assert entry.kind in KINDS
        assert all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in entry.counts)
        for cred in entry.pairs:
            assert isinstance(cred.username, str)
            assert isinstance(cred.password, str)
            assert control_character(cred.username) is None
            assert control_character(cred.password) is None


@SETTINGS
@given(document=lists, as_json=st.booleans())
def test_any_credential_list_loads_typed_or_is_a_config_error(folder, document, as_json):
    path = folder / "list.yaml"
    if as_json:  # the imported data sets' shape: a comment header, then JSON
        text = "# generated\n" + json.dumps(document, default=str, allow_nan=True) + "\n"
    else:
        text = _dump(document)
    path.write_text(text, encoding="utf-8")
    _check_list(_outcome(lambda: load_list(path, user=True)))


# --- evidence --------------------------------------------------------------------------------

statements = st.fixed_dictionaries(
    {},
    optional={
        "requirement": st.sampled_from(["CR 1.1", "3.9.2", "nope"]) | scalars,
        "framework": st.sampled_from(["iec-62443-4-2", "nist-sp-800-171r2"]) | scalars,
        "statement": st.just("s") | scalars,
        "by": st.just("b") | scalars,
        "date": st.dates() | scalars,
        "document": st.just("d") | scalars,
        "devices": st.lists(scalars, max_size=2) | values,
        "who": values,
    },
)
good_statements = st.fixed_dictionaries(
    {
        "requirement": st.just("CR 1.1"),
        "framework": st.just("iec-62443-4-2"),
        "statement": st.text(min_size=1, max_size=20),
        "by": st.just("b"),
        "date": st.dates(),
        "document": st.just("d"),
    },
    optional={"devices": st.lists(st.text(min_size=1, max_size=6), max_size=2)},
)
some_statements = _spoiled(
    good_statements, ["requirement", "framework", "statement", "date", "devices"]
)
random_evidence = st.fixed_dictionaries(
    {
        "format": st.just(manual.FORMAT) | scalars,
        "statements": st.lists(statements, max_size=3) | values,
    },
    optional={"extra": values},
)
evidence = random_evidence | _spoiled(
    st.fixed_dictionaries(
        {"format": st.just(manual.FORMAT), "statements": st.lists(some_statements, max_size=3)}
    ),
    ["format", "statements", "extra"],
)


@SETTINGS
@given(document=evidence)
def test_any_evidence_file_loads_typed_or_is_a_config_error(folder, document):
    path = folder / "evidence.yaml"
    path.write_text(_dump(document), encoding="utf-8")
    loaded = _outcome(lambda: manual.load_evidence(path, PROFILE))
    if loaded is None:
        return
    for s in loaded.statements:
        texts = (s.framework, s.requirement, s.statement, s.by, s.document)
        assert {type(v) for v in texts} == {str}
        assert all(v.strip() for v in texts)
        assert isinstance(s.date, date)
        assert all(isinstance(d, str) for d in s.devices)


# --- a valid file with one line replaced by anything -----------------------------------------

VALID = {
    "profile": (
        "profile: p\nextends: base\nallow_intrusive: false\nparams:\n"
        "  creds.default.ssh: {lockout_threshold: 5, delay_seconds: 0.5}\n"
        "  services.unexpected:\n    allowed: ['tcp/22']\n"
    ),
    "list": (
        "format: shinsa-credentials/1\ncredentials:\n  - protocols: [ssh]\n    source: s\n"
        "    pairs:\n      - [admin, admin, 3]\n"
    ),
    "evidence": (
        "format: shinsa-evidence/1\nstatements:\n  - requirement: CR 1.1\n"
        "    framework: iec-62443-4-2\n    statement: s\n    by: b\n    date: 2026-01-01\n"
        "    document: d\n"
    ),
}


@SETTINGS
@given(
    kind=st.sampled_from(sorted(VALID)),
    line=st.integers(min_value=0, max_value=8),
    replacement=st.text(max_size=30),
)
def test_a_valid_file_with_one_value_replaced_by_anything(folder, kind, line, replacement):
    lines = VALID[kind].splitlines()
    index = line % len(lines)
    key, sep, _ = lines[index].partition(": ")
    lines[index] = f"{key}{sep}{replacement}" if sep else replacement
    path = folder / f"{kind}-mutated.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if kind == "profile":
        profile = _outcome(lambda: load_profile(str(path), CHECKS))
        if profile is not None:
            assert isinstance(profile.allow_intrusive, bool)
    elif kind == "list":
        _check_list(_outcome(lambda: load_list(path, user=True)))
    else:
        _outcome(lambda: manual.load_evidence(path, PROFILE))


# --- YAML's own tricks -----------------------------------------------------------------------

HOSTILE = [
    "&a [*a]",
    "profile: &a {x: *a}\n",
    "<<: {profile: p}\nextends: base\n",
    "profile: !!binary aGVsbG8=\n",
    "profile: p\nparams: !!set {a, b}\n",
    "profile: !!python/object/apply:os.system [ls]\n",
    "profile: p\nallow_intrusive: !!str true\n",
    "profile: p\n? [a]\n: b\n",
    "profile: p\n1: x\n",
    "profile: p\n~: x\n",
    "profile: p\n2026-01-01: x\n",
    "[" * 3000 + "]" * 3000,
    "{a: " * 2000 + "1" + "}" * 2000,
    "profile: p\nparams:\n  creds.default.ssh: {max_wait_seconds: " + "9" * 400 + "}\n",
    "profile: p\nparams:\n  creds.default.ssh: {delay_seconds: 1.0e999}\n",
    "profile: p\nparams:\n  session.concurrent-limit: {max_sessions: " + "9" * 5000 + "}\n",
    "profile: p\nparams:\n  services.unexpected: {allowed: ['tcp/" + "9" * 5000 + "']}\n",
    "profile: p\nparams:\n  banner.login-notice: {pattern: '" + "(" * 5000 + "'}\n",
    "profile: p\ntest_account: !!omap [{username: a}, {password_env: B}]\n",
    'profile: p\nextends: "a\\0b.yaml"\n',
    "profile: p\nextends: " + "x" * 5000 + ".yaml\n",
    "format: shinsa-credentials/1\ncredentials: &c [{protocols: [ssh], pairs: *c, source: s}]\n",
    "format: shinsa-credentials/1\ncredentials:\n  - {protocols: [ssh], pairs: !!pairs [a: b], "
    "source: s}\n",
    'format: shinsa-credentials/1\ninclude: ["a\\0b"]\ncredentials: []\n',
    'format: shinsa-credentials/1\ninclude: ["' + "x" * 5000 + '"]\ncredentials: []\n',
    "format: shinsa-credentials/1\ncredentials:\n  - {protocols: [ssh], pairs: [[a, b]], source: s,"
    " match: {http: '" + "(" * 300 + "'}}\n",
    '# c\n{"format": "shinsa-credentials/1", "credentials": [' + "[" * 3000 + "]" * 3000 + "]}\n",
    '# c\n{"format": "shinsa-credentials/1", "credentials": [], "format": 1}\n',
    "format: shinsa-evidence/1\nstatements: &s [*s]\n",
    "format: shinsa-evidence/1\nstatements: [{date: !!timestamp 2026-01-01T10:00:00Z}]\n",
    "\ufeffprofile: p\n",
    "\x00",
    "profile: p\r\nextends: base\r\n",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_yaml_tricks_raise_nothing_but_config_error(tmp_path, text):
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    _outcome(lambda: load_profile(str(path), CHECKS))
    _check_list(_outcome(lambda: load_list(path, user=True)))
    _outcome(lambda: manual.load_evidence(path, PROFILE))
