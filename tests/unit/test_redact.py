"""The one masking for URLs and known secrets (scanner/redact.py): every form a device
echoes a secret in is masked, and the words a report needs are not."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

import pytest

from scanner.credential_lists import BUILTIN, load_catalog
from scanner.credentials import Credential, FoundCredential
from scanner.credentials import TestAccount as Account
from scanner.facts import UDP_ANSWERS, VALID_CREDENTIALS, Facts, UdpAnswer
from scanner.model import Evidence, Result, Service, Verdict
from scanner.redact import MASK, DeviceRedactor, Redactor, is_weak, mask_url, mask_urls

if TYPE_CHECKING:
    from pathlib import Path

    from scanner.model import JSONValue

SECRET = "Tr0ub4dor&3xyz"
HTTP = Service("tcp", 80, "http")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://127.0.77.5:8080/home?user=admin&pw=Tr0ub4dor%263xyz",
            "http://127.0.77.5:8080/home?user=••••&pw=••••",
        ),
        ("https://h/a?x=&flag", "https://h/a?x=&••••"),  # nothing to hide in x=; a bare token
        ("http://bob:hunter2@h/", "http://bob:••••@h/"),
        ("http://bob@h/", "http://bob@h/"),  # a user name alone is a name
        ("http://h/app;jsessionid=A1B2/x", "http://h/app;jsessionid=••••/x"),
        ("http://h/cb#access_token=zz&state=1", "http://h/cb#access_token=••••&state=••••"),
        ("http://h/#/login?next=%2Fadmin", "http://h/#/login?next=••••"),
        ("http://h/page#section-2", "http://h/page#section-2"),
        ("/home?pw=x", "/home?pw=••••"),
        ("http://h/plain/path", "http://h/plain/path"),
    ],
)
def test_mask_url_keeps_path_and_names_and_masks_every_value(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert mask_url(shown) == shown  # masking twice changes nothing


@pytest.mark.parametrize("url", ["http:host/?pw=1", "http://[::1?pw=1", "http://a b/?pw=1", "%%?"])
def test_mask_url_never_raises_on_a_malformed_url(url: str) -> None:
    assert "pw=1" not in mask_url(url)


def test_urls_inside_sentences_are_masked_and_the_sentence_kept() -> None:
    text = "a session idle for 5 s still opened http://h/home?user=admin&pw=abc (limit 4 s)."
    assert mask_urls(text) == (
        "a session idle for 5 s still opened http://h/home?user=••••&pw=•••• (limit 4 s)."
    )
    assert (
        mask_urls("redirect to /home?sid=9f3, then 200") == "redirect to /home?sid=••••, then 200"
    )
    assert mask_urls("HTTP/1.1 200 at tcp/80 on 127.0.0.1") == "HTTP/1.1 200 at tcp/80 on 127.0.0.1"


def _b64(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        SECRET.upper(),
        SECRET.lower(),
        quote(SECRET, safe=""),
        quote(SECRET, safe="").lower(),
        quote_plus(SECRET),
        "Tr0ub4dor&amp;3xyz",
        _b64(SECRET),
        _b64(SECRET.upper()),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        _b64(f"tester:{SECRET}"),  # Basic credentials: the secret at another byte alignment
        _b64(f"x{SECRET}"),
        f"Welcome, your password is {SECRET}!",
    ],
)
def test_every_echoed_form_of_a_strong_secret_is_masked(echo: str) -> None:
    masked = Redactor([SECRET]).text(f"seen: {echo} end")
    assert MASK in masked
    for form in (SECRET, SECRET.upper(), SECRET.lower(), quote(SECRET, safe="")):
        assert form.lower() not in masked.lower()
    assert _b64(SECRET)[:12] not in masked


@pytest.mark.parametrize("end", ["", "…", '"', "...", ")"])
def test_a_truncated_secret_at_the_end_of_a_string_is_masked(end: str) -> None:
    for cut in (4, 6, len(SECRET) - 1):
        text = f"pw={SECRET[:cut]}{end}"
        assert Redactor([SECRET]).text(text) == f"pw={MASK}{end}"


def test_a_cut_of_six_characters_or_more_is_masked_as_a_word_of_its_own() -> None:
    redactor = Redactor([SECRET])
    assert redactor.text("Last login with Tr0ub4d  # ") == f"Last login with {MASK}  # "
    assert redactor.text("230-TR0UB4 230 ok") == f"230-{MASK} 230 ok"
    assert redactor.text("Tr0ub4dorian mode") == "Tr0ub4dorian mode"  # part of a longer word


def test_a_prefix_inside_a_sentence_or_a_common_word_prefix_is_kept() -> None:
    redactor = Redactor(["password99", SECRET])
    assert redactor.text("Tr0ub is a word here, not an end") == "Tr0ub is a word here, not an end"
    assert redactor.text("the form sends the password.") == "the form sends the password."
    assert redactor.text("it asked for a pass") == "it asked for a pass"
    assert redactor.text("it echoed passwo") == f"it echoed {MASK}"


@pytest.mark.parametrize("secret", ["admin", "public", "1234", "123456", "abc"])
def test_weak_secrets_are_weak(secret: str) -> None:
    assert is_weak(secret)


def test_a_secret_that_is_also_a_user_name_is_masked_only_in_urls_and_base64() -> None:
    redactor = Redactor(["Operator7", "admin"], ["operator7", "admin"])
    for text in ("accepted operator7/••••", "login: admin", "pw=Operator7 is kept", "'admin'"):
        assert redactor.text(text) == text
    assert redactor.text("http://h/?u=admin&pw=admin") == f"http://h/?u={MASK}&pw={MASK}"
    assert redactor.text(_b64("Operator7")) == MASK


def test_a_weak_secret_is_masked_only_where_it_stands_as_a_value() -> None:
    redactor = Redactor(["admin", "public", "1234"])
    kept = [
        "accepted the factory login admin/••••",
        "the administrator page",
        "a public key of 2048 bits",
        "port 1234 answered in 12345 ms",
    ]
    for text in kept:
        assert redactor.text(text) == text
    assert redactor.text("pw=admin&next=/") == f"pw={MASK}&next=/"
    assert redactor.text("community 'public'") == f"community '{MASK}'"
    assert redactor.text("password: 1234") == f"password: {MASK}"
    assert redactor.text("root:admin") == f"root:{MASK}"
    assert redactor.text("public") == MASK
    assert redactor.text(_b64("public")) == MASK  # base64 forms of 6 characters or more


def test_short_strong_prefixes_and_no_secret_mask_nothing_but_urls() -> None:
    redactor = Redactor([])
    assert redactor.text("nothing secret here") == "nothing secret here"
    assert redactor.text("http://h/?a=1") == f"http://h/?a={MASK}"


def test_a_result_is_masked_in_its_service_reason_summary_details_and_keys() -> None:
    ev = Evidence(
        "http_exchange",
        f"GET /home?pw={SECRET} -> 200",
        {
            "page": f"http://h/home?user=admin&pw={quote(SECRET, safe='')}",
            "pages": [f"body {SECRET.upper()}", 3, None, True],
            SECRET: {"cookie": _b64(SECRET)},
        },
        summary_ja=f"GET /home?pw={SECRET} への応答 200",
    )
    result = Result(
        "session.idle-timeout",
        "127.0.77.5",
        HTTP,
        Verdict.FAIL,
        f"opened {SECRET}",
        (ev,),
        reason_ja=f"{SECRET} を開いた",
    )
    result = replace(result, service=replace(HTTP, banner=f"HTTP/1.1 200 {SECRET}"))
    masked = Redactor([SECRET]).result(result)
    flat = repr(masked)
    assert SECRET.lower() not in flat.lower()
    assert _b64(SECRET)[:12] not in flat
    assert masked.check_id == result.check_id
    assert masked.verdict is Verdict.FAIL
    assert masked.evidence[0].details["pages"] == [f"body {MASK}", 3, None, True]
    # the Japanese is kept, and masked as the English is
    assert masked.reason_ja == f"{MASK} を開いた"
    assert masked.evidence[0].summary_ja.endswith(" への応答 200")


def test_a_service_banner_and_product_are_masked() -> None:
    svc = Service("udp", 161, "snmp", banner=f"sysDescr 'agent rw={SECRET}'", product=SECRET)
    masked = Redactor([SECRET]).service(svc)
    assert SECRET not in repr(masked)
    assert (masked.port, masked.protocol) == (161, "snmp")


def test_the_device_redactor_learns_found_logins_and_communities(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHINSA_TEST_REDACT_PW", SECRET)
    site = tmp_path / "site.yaml"
    site.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        "  - {protocols: [telnet], pairs: [[op, 'Site-Pw-4471']], source: our fleet}\n"
    )
    mirai = BUILTIN.parent / "mirai-2016.yaml"
    catalog = load_catalog([site, mirai], builtin=False)
    facts = Facts()
    redact = DeviceRedactor(Account("tester", "SHINSA_TEST_REDACT_PW"), catalog, facts)
    assert redact.current().secrets == {SECRET, "Site-Pw-4471"}  # not the published list
    assert redact.current().text("dreambox xc3511") == "dreambox xc3511"
    found = Credential("root", "Found-Pw-8812")
    facts.add(VALID_CREDENTIALS, FoundCredential(HTTP, found, "http form"))
    snmp = Service("udp", 161, "snmp")
    facts.put(UDP_ANSWERS, (UdpAnswer(snmp, "get", "sysDescr", snmp_community="Cm-ro-7731x"),))
    assert redact.current().secrets == {SECRET, "Site-Pw-4471", "Found-Pw-8812", "Cm-ro-7731x"}
    text = "FOUND-PW-8812 cm-ro-7731x tester Site-Pw"
    assert redact.current().text(text) == f"{MASK} {MASK} tester {MASK}"


def test_an_unset_test_account_variable_masks_nothing_and_does_not_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHINSA_TEST_REDACT_UNSET", raising=False)
    redact = DeviceRedactor(
        Account("tester", "SHINSA_TEST_REDACT_UNSET"), load_catalog(builtin=False), Facts()
    )
    assert redact.current().secrets == frozenset()


def test_a_thousand_secrets_are_each_masked_and_the_longest_fit_wins() -> None:
    many = [f"Site-{n:04d}-pw" for n in range(1000)]
    redactor = Redactor([*many, "Site-0001-pw-longer"])
    text = "a SITE-0999-PW b Site-0001-pw-longer c site-0500 d Site-0001-pwx"
    assert redactor.text(text) == f"a {MASK} b {MASK} c {MASK} d {MASK}x"


def test_a_cut_that_is_one_of_shinsas_own_words_is_kept() -> None:
    # a test account's password "Lock-…" cut to 4 is the lockout reaction "lock"
    redactor = Redactor(["Lock-x7Qp2", "Wrong-Horse9"])
    facts: JSONValue = {"reaction": "lock", "password": "wrong", "outcome": "rejected"}
    assert redactor.json(facts) == facts
    assert redactor.text("pw=Lock-x7Q") == f"pw={MASK}"
