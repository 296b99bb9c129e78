"""Web sessions opened on one service with a known credential, and told alive or not.

"Alive" means a page that shows its content with the session and something else without
it (as `session.logout` measures it) still shows that content: `WebSessions.find_page`
looks for such a page once, `alive` asks it again with one session (a request, so it
refreshes that session). Every session has its own client and cookie jar from the door
(`DeviceNetwork.http`: a permit per request, none while a session idles).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from probes._login.http_session import NoSession, open_session
from probes._session.common import Gone
from probes._web import fetch_page, read_page, same_page
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, LOGIN_SURFACES, on_service

if TYPE_CHECKING:
    import httpx

    from probes._login.http_session import WebSession
    from scanner.credentials import Credential
    from scanner.model import Service
    from scanner.probe import ProbeContext

#: Pages tried as "needs the session".
MAX_PAGES = 10
#: Links never followed as a page that needs the session: they would end it.
LOGOUT_LINK = ("logout", "log out", "log-out", "logoff", "sign out", "signout")


@dataclass(slots=True)
class LiveSession:
    """One logged-in web session: its own client and cookie jar."""

    number: int
    client: httpx.AsyncClient
    session: WebSession
    ref: float = field(default_factory=time.monotonic)  # its last request
    login: float = field(default_factory=time.monotonic)

    @property
    def headers(self) -> dict[str, str]:
        token = self.session.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def aclose(self) -> None:
        await self.client.aclose()


class WebSessions:
    """Opens sessions on one web service and tells whether one is still alive."""

    def __init__(self, ctx: ProbeContext, service: Service, credential: Credential | None):
        self.ctx, self.service, self.credential = ctx, service, credential
        self.opened = 0
        self.url = ""  # a page that needs the session
        self.body = b""  # that page with the session
        self.live: list[LiveSession] = []

    async def open(self) -> LiveSession:
        client = self.ctx.net.http(self.service)
        pages = self.ctx.facts.get(HTTP_PAGES) or ()
        forms = self.ctx.facts.get(LOGIN_FORMS) or ()
        surfaces = [
            s for s in self.ctx.facts.get(LOGIN_SURFACES) or () if s.service.key == self.service.key
        ]
        try:
            opened = await open_session(
                self.ctx.net,
                client,
                self.service,
                self.credential,
                pages=pages,
                forms=forms,
                surfaces=surfaces,
            )
        except BaseException:
            await client.aclose()
            raise
        if isinstance(opened, NoSession):
            await client.aclose()
            raise Gone(opened.reason, surface=opened.surface) from None
        self.opened += 1
        session = LiveSession(self.opened, client, opened)
        self.live.append(session)
        return session

    async def find_page(self, session: WebSession, client: httpx.AsyncClient) -> str | None:
        """Set the page that needs the session; None when found, else why not."""
        links, _ = read_page(session.landing, session.landing_body)
        candidates = [session.page_url]
        if session.landing_by_get:
            candidates.append(session.landing)
        candidates += [
            link.url
            for link in links
            if on_service(link.url, self.service)
            and not any(w in f"{link.url} {link.text}".lower() for w in LOGOUT_LINK)
        ]
        bearer = {"Authorization": f"Bearer {session.token}"} if session.token else {}
        address = self.ctx.net.address
        async with self.ctx.net.http(self.service) as anonymous:
            for url in list(dict.fromkeys(candidates))[:MAX_PAGES]:
                with_session = await fetch_page(client, url, address, bearer)
                if isinstance(with_session, str) or not with_session.content:
                    continue
                without = await fetch_page(anonymous, url, address, {})
                if isinstance(without, str):
                    continue
                if not (without.content and same_page(with_session.body, without.body)):
                    self.url, self.body = url, with_session.body
                    return None
        return "no page that shows content only with the session was found"

    async def alive(self, session: LiveSession) -> bool | str:
        """Whether the page still shows its content with the session; a request, so it
        refreshes the session."""
        page = await fetch_page(session.client, self.url, self.ctx.net.address, session.headers)
        if isinstance(page, str):
            return page
        session.ref = time.monotonic()
        return page.content and same_page(self.body, page.body)

    async def drop(self, session: LiveSession) -> None:
        if session in self.live:
            self.live.remove(session)
        await session.aclose()

    async def aclose(self) -> None:
        for session in list(self.live):
            await self.drop(session)
