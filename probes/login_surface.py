"""Publishes how each web application takes a login (the `LOGIN_SURFACES` fact).

No verdict of its own: the default-credentials, login-transport, session, lockout and expiry
checks `use` the fact, so they run after this probe and replay the recorded request with
httpx. HTTP Basic and Digest are left to fingerprinting, and so are pages without scripts or
frames (their forms are what fingerprinting reads); a form on a page with scripts is rendered,
since a script may send something else than the form says (JSON, extra fields, headers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from probes._login.surface import find_login_surface
from scanner.facts import HTTP_PAGES, LOGIN_SURFACES, FactKey
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
        if any(p.auth_scheme for p in pages):
            return []  # HTTP authentication: fingerprinting has the surface
        shown = [p for p in pages if not 300 <= p.status < 400]
        if shown and all(p.without_scripts for p in shown):
            # No script or frame on what fingerprinting read: not one more request to the
            # device (and no delay for the login checks that wait for this probe).
            return []
        found = await find_login_surface(ctx.net, service)
        if found.surface is not None:
            ctx.facts.add(LOGIN_SURFACES, found.surface)
        return []
