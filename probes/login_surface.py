"""Publishes how each web application takes a login (the `LOGIN_SURFACES` fact).

No verdict of its own: the default-credentials, login-transport, session, lockout and expiry
checks `use` the fact, so they run after this probe and replay the recorded request with
httpx. Services whose login fingerprinting already read (an HTML form, HTTP Basic or Digest)
are left to that; what remains is the single-page app whose login only a script sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from probes._login.surface import find_login_surface
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, LOGIN_SURFACES, FactKey
from scanner.probe import Check, ServiceProbe

if TYPE_CHECKING:
    from typing import Any

    from scanner.model import Result, Service
    from scanner.probe import ProbeContext


class LoginSurfaces(ServiceProbe):
    checks: ClassVar[tuple[Check, ...]] = ()
    protocols: ClassVar[frozenset[str]] = frozenset({"http", "https"})
    provides: ClassVar[frozenset[FactKey[Any]]] = frozenset({LOGIN_SURFACES})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        pages = [p for p in ctx.facts.get(HTTP_PAGES) or () if p.service.key == service.key]
        forms = [f for f in ctx.facts.get(LOGIN_FORMS) or () if f.service.key == service.key]
        if forms or any(p.auth_scheme for p in pages):
            return []  # a form or HTTP authentication: fingerprinting has the surface
        found = await find_login_surface(ctx.net, service)
        if found.surface is not None:
            ctx.facts.add(LOGIN_SURFACES, found.surface)
        return []
