"""The one HTML reader: what a page holds, and its bounds on hostile markup."""

from __future__ import annotations

import time

from scanner.html_reader import (
    MAX_ATTR,
    MAX_FORMS,
    MAX_INPUTS,
    MAX_LINKS,
    MAX_SCRIPTS,
    MAX_TEXT,
    MAX_TITLE,
    Form,
    Input,
    Link,
    Script,
    read_html,
)

PAGE = """<!doctype html>
<html><head>
<title> Acme
  Camera <script>ignored()</script>Login</title>
<meta http-equiv="Refresh" content="3; URL='/next.html'">
<link rel="shortcut icon" href="/img/fav.ico">
<script src="/js/app.js?v=3"></script>
<script type="application/json">{"not": "code"}</script>
<script>var login = "/api/login";</script>
<script type="module" src="/js/main.mjs"/>
<style>p { color: red }</style>
</head><body>
<p>Welcome &amp; hello</p>
<a href="/help">Help <b>page</b></a>
<form action="/login.cgi" method="post">
  <input name="user"><input type="Password " name="pass"/>
  <input type="hidden" name="csrf" value="t0k">
</form>
<form action="/search">
  <input type="text" name="q" value="x">
<a href="/unclosed">Unclosed
</body></html>"""


def test_a_page_is_read_once_into_what_callers_need() -> None:
    page = read_html(PAGE)
    assert page.title == "Acme Camera Login"
    assert page.refresh == "/next.html"
    assert page.icon == "/img/fav.ico"
    assert page.scripts == (
        Script("", "", "ignored()"),  # html.parser reads a <script> even inside <title>
        Script("/js/app.js?v=3", "", ""),
        Script("", "application/json", '{"not": "code"}'),
        Script("", "", 'var login = "/api/login";'),
        Script("/js/main.mjs", "module", ""),
    )
    assert [s.javascript for s in page.scripts] == [True, True, False, True, True]
    assert page.forms == (
        Form(
            "/login.cgi",
            "POST",
            (Input("", "user", ""), Input("password", "pass", ""), Input("hidden", "csrf", "t0k")),
            closed=True,
        ),
        Form("/search", "GET", (Input("text", "q", "x"),), closed=False),
    )
    assert page.links == (
        Link("/help", "Help page", closed=True),
        Link("/unclosed", "Unclosed", closed=False),
    )
    # visible text: no script, no style, the title's words included
    assert "ignored" not in page.text
    assert "color" not in page.text
    assert "Welcome & hello" in page.text
    assert "Acme Camera" in page.text


def test_the_document_is_read_to_its_limit_only() -> None:
    late = '<form action="/late"><input type="password" name="p"></form>'
    assert read_html(" " * 1000 + late, limit=1000).forms == ()
    assert len(read_html(" " * 1000 + late, limit=2000).forms) == 1


def test_every_list_is_bounded() -> None:
    forms = "".join(f'<form action="/f{i}">' + '<input name="a">' * 200 for i in range(100))
    page = read_html(forms)
    assert len(page.forms) == MAX_FORMS
    assert all(len(f.inputs) == MAX_INPUTS for f in page.forms)
    page = read_html('<a href="/x">link</a>' * 5000 + "<script src=s></script>" * 500)
    assert len(page.links) == MAX_LINKS
    assert len(page.scripts) == MAX_SCRIPTS
    words = read_html("<title>" + "w " * 10_000 + "</title>" + "<p>text</p>" * 10_000)
    assert len(words.title) <= MAX_TITLE
    assert len(words.text) <= MAX_TEXT
    wide = read_html(f'<a href="/{"x" * 100_000}">a</a>')
    assert len(wide.links[0].href) == MAX_ATTR


def test_hostile_markup_ends_the_reading_not_the_scan() -> None:
    # markup html.parser gives up on, deep nesting, and unclosed everything
    for html in (
        "<title>t</title><![if !supportLists]><form action=/x>",
        "<div>" * 50_000 + "<title>deep</title>",
        "<a href=/a><form><input name=n><script>never closed",
        "<title>" + "\x00\ufffd<" * 1000,
        "<!--" * 1000 + "<title>x</title>",
    ):
        started = time.monotonic()
        page = read_html(html)
        assert time.monotonic() - started < 5
        assert len(page.forms) <= MAX_FORMS


def test_script_and_title_as_empty_elements_open_nothing() -> None:
    page = read_html('<script src="/a.js"/><title/><p>seen</p><title>real</title>')
    assert page.scripts == (Script("/a.js", "", ""),)
    assert page.title == "real"
    assert "seen" in page.text


def test_duplicates_keep_the_first_value_as_browsers_do() -> None:
    page = read_html('<form action="/a" action="/b" method=get method=post><input name=x name=y>')
    assert page.forms[0].action == "/a"
    assert page.forms[0].method == "GET"
    assert page.forms[0].inputs[0].name == "x"
