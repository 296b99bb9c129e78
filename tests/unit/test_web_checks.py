"""Pure parts of the web, session and banner checks: hostile pages, cookies, versions."""

from __future__ import annotations

import pytest

from probes._web import parse_set_cookie, read_page, same_page
from probes.banners import NoticeParams, disclosed_versions, page_text
from probes.registry import all_checks
from probes.web_reflection import _marker, _with
from probes.web_session import _without_secrets
from scanner.errors import ConfigError
from scanner.judging.profiles import load_profile


def test_links_and_get_forms_are_read_and_login_forms_never_are():
    page = b"""<a href="/admin">Settings</a><a href='/q?x=1&amp;y=2'>two</a>
    <form method="get" action="/search"><input name="q" value="a"><input type="submit"></form>
    <form method="get" action="/login"><input name="u"><input type="password" name="p"></form>
    <form method="post" action="/save"><input name="v"></form>"""
    links, forms = read_page("http://10.9.9.9/base/", page)
    assert [(link.url, link.text) for link in links] == [
        ("http://10.9.9.9/admin", "Settings"),
        ("http://10.9.9.9/q?x=1&y=2", "two"),
    ]
    assert [(f.action, f.fields) for f in forms] == [("http://10.9.9.9/search", (("q", "a"),))]


@pytest.mark.parametrize(
    "page",
    [
        b"<a href=",  # truncated
        b"\xff\xfe<a href='/x'>" * 1000,  # not UTF-8, repeated
        b"<form><input name='" + b"a" * 100_000,  # one enormous attribute
        b"<a href='http://[::1'>broken URL</a>",  # urljoin raises on it
    ],
)
def test_hostile_pages_never_raise_and_stay_bounded(page: bytes):
    links, forms = read_page("http://10.9.9.9/", page)
    assert len(links) <= 200
    assert len(forms) <= 200


def test_set_cookie_attributes_and_deletions():
    c = parse_set_cookie("sid=abc; Path=/; HttpOnly; Secure; SameSite=Strict")
    assert c is not None
    assert c.name == "sid"
    assert c.value == "abc"
    assert {"httponly", "secure", "samesite", "path"} <= set(c.attributes)
    assert c.describe() == "sid=…; path=/; httponly; secure; samesite=Strict"
    assert not c.deletion
    gone = parse_set_cookie("sid=; Path=/; Max-Age=0")
    assert gone is not None
    assert gone.deletion
    old = parse_set_cookie("sid=x; expires=Thu, 01 Jan 1970 00:00:00 GMT")
    assert old is not None
    assert old.deletion
    assert parse_set_cookie("no equals sign") is None


def test_same_page_tolerates_a_changing_token_but_not_other_content():
    a = b"<h1>Settings</h1><p>Serial 42</p><input type=hidden value=aaaaaaaaaaaa>"
    b = a.replace(b"aaaaaaaaaaaa", b"bbbbbbbbbbbb")
    assert same_page(a, b)
    assert not same_page(a, b"<h1>Login</h1><form><input type=password></form>")


def test_secrets_leave_urls_before_a_replay_without_the_session():
    url = "http://10.9.9.9/home?sid=s3cr3t&page=2&token=t"
    assert _without_secrets(url, {"s3cr3t"}) == "http://10.9.9.9/home?page=2"


def test_reflection_marker_is_unique_and_carries_its_own_tag():
    (p1, t1), (p2, t2) = _marker(), _marker()
    assert t1 in p1
    assert t1.startswith("<shz")
    assert t1 != t2
    assert p1 != p2
    assert _with("http://d/s?q=a&n=1", "q", "X") == "http://d/s?q=X&n=1"
    assert _with("http://d/s", "q", "<b>") == "http://d/s?q=%3Cb%3E"


@pytest.mark.parametrize(
    ("text", "versions"),
    [
        ("Boa/0.94.13", ["Boa/0.94.13"]),
        ("mini_httpd/1.30", ["mini_httpd/1.30"]),
        ("OpenSSH_9.2p1 Debian-2+deb12u3", ["OpenSSH_9.2p1"]),
        ("Linux/3.10 UPnP/1.0 ACME/1.0", ["Linux/3.10", "ACME/1.0"]),
        ("ACME RTSP/1.0", []),  # the wire protocol's version
        ("HTTP/1.1 200 OK", []),
        ("IC-9", []),
        ("nginx", []),
    ],
)
def test_software_versions_are_found_and_wire_versions_are_not(text, versions):
    assert disclosed_versions(text) == versions


def test_page_text_leaves_scripts_out():
    body = b"<p>Authorized use only</p><script>var authorized=1</script><style>p{}</style>ok"
    assert page_text(body) == "Authorized use only ok"


def test_a_notice_pattern_that_is_not_a_regex_is_a_config_error():
    with pytest.raises(ConfigError, match="regular expression"):
        NoticeParams(required=True, pattern="(unclosed")


def test_a_profile_never_holds_the_test_password(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("profile: p\ntest_account: {username: op, password: hunter2}\n")
    with pytest.raises(ConfigError, match="password_env"):
        load_profile(str(bad), all_checks())
    ok = tmp_path / "q.yaml"
    ok.write_text("profile: q\ntest_account: {username: op, password_env: SHINSA_X}\n")
    account = load_profile(str(ok), all_checks()).test_account
    assert account is not None
    assert account.username == "op"
