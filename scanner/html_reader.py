"""One reading of a device's HTML page: what fingerprinting and the probes look for in it.

A page is parsed once (stdlib `html.parser`, never a browser engine: no script runs) into
its title, forms with their inputs, links with their text, scripts (source, type, inline
code), the icon it links, its meta refresh and its visible text. Device HTML is hostile
input: the document is cut at `limit` characters, every list at its own bound, every
attribute value at `MAX_ATTR`, and markup the parser gives up on yields what was read
before it. Values are kept as written (relative URLs, raw text): each caller bounds and
escapes what it shows.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: Characters of a document read, unless the caller says otherwise: as much as one bounded
#: HTTP answer holds (scanner/http_exchange.py's MAX_BODY).
MAX_HTML = 256 * 1024
#: Characters of one attribute value kept: far past any URL a page means, short of a flood.
MAX_ATTR = 8192
MAX_FORMS = 16
MAX_INPUTS = 64  # per form
MAX_LINKS = 256
MAX_SCRIPTS = 64
#: Characters kept of the title, of one link's text, and of the page's visible text.
MAX_TITLE = 1024
MAX_LINK_TEXT = 1024
MAX_TEXT = 8192
#: Characters of inline script code kept, all scripts together.
MAX_INLINE = 2 * 1024 * 1024

#: Elements whose text is code, not words: never part of a title, a link text or the text.
_CODE_ELEMENTS = frozenset({"script", "style"})
_REFRESH_URL = re.compile(r"""url\s*=\s*['"]?([^'"]*)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Input:
    type: str  # stripped, lower case, at most 32 characters; "" when the attribute is missing
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Form:
    action: str  # as written (relative or absolute)
    method: str  # "GET" or "POST" (anything else reads as GET, as browsers do)
    inputs: tuple[Input, ...]
    closed: bool  # ended by its own </form>, not by the next <form> or the end of the page


@dataclass(frozen=True, slots=True)
class Link:
    href: str  # as written, never empty
    text: str  # the anchor's words, whitespace collapsed
    closed: bool  # ended by its own </a>


@dataclass(frozen=True, slots=True)
class Script:
    src: str  # as written; "" for an inline script
    type: str  # the type attribute, lower case ("" when missing)
    code: str  # the inline code ("" for most external scripts)

    @property
    def javascript(self) -> bool:
        """Code a browser would run: no type, a JavaScript type or a module (not JSON data
        or a template)."""
        return not self.type or "javascript" in self.type or self.type == "module"


@dataclass(frozen=True, slots=True)
class Page:
    title: str = ""
    forms: tuple[Form, ...] = ()
    links: tuple[Link, ...] = ()
    scripts: tuple[Script, ...] = ()
    icon: str = ""  # the href of the first <link rel=icon>
    refresh: str = ""  # the URL of the first <meta http-equiv=refresh> that names one
    text: str = ""  # visible text (no script or style), whitespace collapsed


@dataclass(slots=True)
class _OpenScript:
    src: str
    type: str
    code: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self._title_len = 0
        self._in_title = False
        self._title_done = False
        self._code_depth = 0
        self.forms: list[Form] = []
        self._form: tuple[str, str] | None = None  # (action, method) of the open form
        self._inputs: list[Input] = []
        self.links: list[Link] = []
        self._link: tuple[str, list[str]] | None = None  # href and text of the open <a>
        self._link_len = 0
        self.scripts: list[Script] = []
        self._script: _OpenScript | None = None
        self._inline = 0
        self.icon = ""
        self.refresh = ""
        self.text: list[str] = []
        self._text_len = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, _attrs(attrs), empty=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<input/>` counts; `<script src=x />` is a script, but must not open a code
        # element that never closes; `<title/>` opens no title.
        if tag != "title":
            self._start(tag, _attrs(attrs), empty=True)

    def _start(self, tag: str, values: dict[str, str], *, empty: bool) -> None:
        if tag in _CODE_ELEMENTS:
            if tag == "script":
                self._open_script(values, empty=empty)
            if not empty:
                self._code_depth += 1
        elif tag == "title" and not self._title_done:
            self._in_title = True
        elif tag == "form":
            # Unclosed forms are common in device HTML: a new <form> ends the previous one.
            self._close_form(closed=False)
            method = values.get("method", "get").strip().upper()
            self._form = (values.get("action", ""), "POST" if method == "POST" else "GET")
        elif tag == "a":
            self._close_link(closed=False)
            href = values.get("href", "")
            if href and len(self.links) < MAX_LINKS:
                self._link, self._link_len = (href, []), 0
        elif tag == "input" and self._form is not None and len(self._inputs) < MAX_INPUTS:
            kind = values.get("type", "").strip().lower()[:32]
            self._inputs.append(Input(kind, values.get("name", ""), values.get("value", "")))
        elif tag == "link" and not self.icon and "icon" in values.get("rel", "").lower().split():
            self.icon = values.get("href", "")
        elif tag == "meta" and not self.refresh and _is_refresh(values):
            match = _REFRESH_URL.search(values.get("content", ""))
            self.refresh = match.group(1).strip() if match else ""

    def _open_script(self, values: dict[str, str], *, empty: bool) -> None:
        self._close_script()
        if len(self.scripts) >= MAX_SCRIPTS:
            return
        script = _OpenScript(values.get("src", ""), values.get("type", "").strip().lower())
        if empty:
            self.scripts.append(Script(script.src, script.type, ""))
        else:
            self._script = script

    def handle_endtag(self, tag: str) -> None:
        if tag in _CODE_ELEMENTS:
            self._code_depth = max(0, self._code_depth - 1)
            if tag == "script":
                self._close_script()
        elif tag == "title" and self._in_title:
            self._in_title = False
            self._title_done = True
        elif tag == "form":
            self._close_form(closed=True)
        elif tag == "a":
            self._close_link(closed=True)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            if self._inline < MAX_INLINE:
                piece = data[: MAX_INLINE - self._inline]
                self._script.code.append(piece)
                self._inline += len(piece)
            return
        if self._code_depth:
            return
        if self._link is not None and self._link_len < MAX_LINK_TEXT:
            self._link[1].append(data[: MAX_LINK_TEXT - self._link_len])
            self._link_len += len(self._link[1][-1])
        if self._in_title and self._title_len < MAX_TITLE:
            self.title.append(data[: MAX_TITLE - self._title_len])
            self._title_len += len(self.title[-1])
        if self._text_len < MAX_TEXT:
            self.text.append(data[: MAX_TEXT - self._text_len])
            self._text_len += len(self.text[-1])

    def _close_form(self, *, closed: bool) -> None:
        if self._form is not None and len(self.forms) < MAX_FORMS:
            self.forms.append(Form(*self._form, tuple(self._inputs), closed))
        self._form = None
        self._inputs = []

    def _close_link(self, *, closed: bool) -> None:
        if self._link is not None:
            self.links.append(Link(self._link[0], _words(self._link[1]), closed))
        self._link = None

    def _close_script(self) -> None:
        if self._script is not None:
            code = "".join(self._script.code)
            self.scripts.append(Script(self._script.src, self._script.type, code))
        self._script = None

    def page(self) -> Page:
        # what is still open at the end of the page still counts
        self._close_form(closed=False)
        self._close_link(closed=False)
        self._close_script()
        return Page(
            title=_words(self.title),
            forms=tuple(self.forms),
            links=tuple(self.links),
            scripts=tuple(self.scripts),
            icon=self.icon,
            refresh=self.refresh,
            text=_words(self.text, " "),
        )


def _attrs(attrs: list[tuple[str, str | None]]) -> dict[str, str]:
    """First value of each attribute, as browsers do with duplicates, bounded."""
    out: dict[str, str] = {}
    for key, value in attrs:
        out.setdefault(key, (value or "")[:MAX_ATTR])
    return out


def _is_refresh(values: dict[str, str]) -> bool:
    return values.get("http-equiv", "").strip().lower() == "refresh"


def _words(parts: list[str], sep: str = "") -> str:
    return " ".join(sep.join(parts).split())


def read_html(html: str, limit: int = MAX_HTML) -> Page:
    """What one HTML document holds, from its first `limit` characters; malformed HTML
    yields what could be read."""
    reader = _Reader()
    # html.parser gives up on some broken markup (an AssertionError or a ValueError deep
    # in its state machine): keep what it saw before that
    with contextlib.suppress(Exception):
        reader.feed(html[:limit])
        reader.close()
    return reader.page()
