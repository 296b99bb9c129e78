"""Server-rendered pages: jinja2 with autoescape on for every template (device strings are
escaped; no template marks device data `|safe`), and the frame every page shares.

`render(request, name, context, principal)` adds to the context:
- `t(key, **fields)`: the words in the principal's language (scanner.service.ui_text),
  with `{tz}` filled with the zone's short name (column headers say which zone),
- `when(datetime)`: a time in the zone pages show times in (scanner.service.clock),
- `lang`, `csrf` (the session's token for every form's hidden `csrf` field), `principal`,
- `nav`: the main navigation as NavItem(href, key, current),
- `request`, and `static(path)` (the URL of a file under /static).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi.responses import HTMLResponse

from scanner.service import clock
from scanner.service.ui_text import text

if TYPE_CHECKING:
    from collections.abc import Mapping
    from zoneinfo import ZoneInfo

    from fastapi import Request

    from scanner.service.auth import Principal

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    key: str  # a ui_text key
    current: bool = False


NAV = (
    ("/", "nav.fleet"),
    ("/devices", "nav.devices"),
    ("/runs", "nav.runs"),
    ("/schedules", "nav.schedules"),
    ("/alerts", "nav.alerts"),
    ("/inventory", "nav.inventory"),
    ("/users", "nav.users"),
)

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
)


def nav(path: str) -> list[NavItem]:
    def current(href: str) -> bool:
        return path == "/" if href == "/" else path == href or path.startswith(href + "/")

    return [NavItem(href, key, current(href)) for href, key in NAV]


def static(path: str) -> str:
    return "/static/" + path.lstrip("/")


def page_zone(request: Request, lang: str) -> ZoneInfo:
    """The zone this service shows times in on a page in `lang`."""
    return clock.display_zone(getattr(request.app.state.config, "tz", ""), lang)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    principal: Principal | None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The template `name` rendered for `principal` (None: the login page's visitor)."""
    lang = principal.lang if principal else str(context.get("lang", "en"))
    tz = page_zone(request, lang)
    tz_label = clock.label(tz)

    def words(key: str, **fields: object) -> str:
        return text(lang, key, **{"tz": tz_label, **fields})

    values: dict[str, Any] = {
        "request": request,
        "t": words,
        "when": partial(clock.shown, tz=tz),
        "lang": lang,
        "csrf": principal.csrf if principal else "",
        "principal": principal,
        "nav": nav(request.url.path) if principal else [],
        "static": static,
    }
    values.update(context)
    html = environment.get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code)
