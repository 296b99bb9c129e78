"""A login one link away from the start page (DokuWiki's "Log In" → `?do=login`) is found;
logout, register and off-device links are never followed.

Addresses: 127.0.51.200-210 (inside test_fingerprint's scope)."""

from __future__ import annotations

import asyncio

from scanner.facts import HTTP_PAGES, LOGIN_FORMS, Facts
from scanner.fingerprint.http import login_links
from tests.unit.test_fingerprint import http_handler, scan_one, serve

HTML = {"Content-Type": "text/html; charset=utf-8"}
START = b"""<html><head><title>start [Wiki]</title></head><body>
<a href="/doku.php?id=start&amp;do=logout">Log Out</a>
<a href="/doku.php?id=start&amp;do=register">Register</a>
<a href="http://127.0.75.250/login">Log In elsewhere</a>
<a href="/doku.php?id=start&amp;do=login" title="Log In"><span>Log In</span></a>
</body></html>"""
LOGIN = b"""<html><head><title>Login [Wiki]</title></head><body>
<form action="/doku.php?id=start&amp;do=login" method="post">
<input type="hidden" name="sectok" value="t0k"><input type="text" name="u">
<input type="password" name="p"></form></body></html>"""


def test_login_links_by_address_or_words_never_logout_or_elsewhere() -> None:
    page = "http://127.0.75.201/"
    html = START.decode() + '<a href="/signin.html">Anmelden</a><a href="#">ログイン</a>'
    assert login_links(page, html, "127.0.75.201") == [
        "http://127.0.75.201/doku.php?id=start&do=login",
        "http://127.0.75.201/signin.html",
    ]
    assert login_links(page, "<a href='/logout'>Log out</a>", "127.0.75.201") == []


async def test_a_login_one_link_away_is_found() -> None:
    address = "127.0.51.202"
    site = http_handler(
        {
            "/": ("200 OK", HTML, START),
            "/doku.php?id=start&do=login": ("200 OK", HTML, LOGIN),
            "/doku.php?id=start&do=logout": ("500 Boom", HTML, b"must never be asked"),
        }
    )
    facts = Facts()
    async with serve(address, site) as port:
        await scan_one(address, port, facts)
    pages = facts.get(HTTP_PAGES)
    assert pages is not None
    assert [p.url for p in pages] == [
        f"http://{address}:{port}/",
        f"http://{address}:{port}/doku.php?id=start&do=login",
    ]
    forms = facts.get(LOGIN_FORMS)
    assert forms is not None
    assert [(f.username_field, f.password_field, f.hidden_fields) for f in forms] == [
        ("u", "p", (("sectok", "t0k"),))
    ]


async def test_a_start_page_with_its_own_login_follows_no_link() -> None:
    address = "127.0.51.203"
    asked: list[bytes] = []
    routes = {"/": ("200 OK", HTML, LOGIN + b'<a href="/login2">Log In</a>')}

    async def site(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return  # fingerprinting's other probes, not HTTP requests
        if head.startswith(b"GET "):
            asked.append(head.split(b" ")[1])
        replay = asyncio.StreamReader()
        replay.feed_data(head)
        replay.feed_eof()
        await http_handler(routes)(replay, writer)

    facts = Facts()
    async with serve(address, site) as port:
        await scan_one(address, port, facts)
    assert asked  # the start page was read...
    assert set(asked) == {b"/"}  # ...and its login link never followed
    assert facts.get(LOGIN_FORMS) is not None
