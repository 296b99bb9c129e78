"""Finding how a web application sends its login (the `LoginSurface` fact).

With the scan's headless Chromium: open the start page, wait for a password field (also in
open shadow roots and frames, also after the app routes itself to `#/login` or `/login`),
type one random control login, submit it the way a person would (Enter, else the submit
button) and record the request that carries the password, with the answer it got as the
failure signal. Without Chromium: read the page's scripts for a login endpoint, and return a
surface only when one is written there.

The control login is random letters and digits, never a real credential: it exists to be
rejected, and to be recognised in whatever request carries it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import string
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx

from probes._login.surface_request import SentLogin, carries, describe_answer, read_login
from probes._login.surface_scripts import (
    base_href,
    find_script_login,
    full_path,
    module_imports,
    page_scripts,
)
from scanner.browser import BrowserUnavailable
from scanner.facts import LoginSurface, on_service
from scanner.http_exchange import exchange
from scanner.redact import mask_url

if TYPE_CHECKING:
    from playwright.async_api import Frame, Request

    from probes._login.surface_scripts import ScriptLogin
    from scanner.browser import BrowserPage
    from scanner.model import Service
    from scanner.net import DeviceNetwork

SETTLE = 8.0  # the longest an app may take to draw its password field
QUIET = 1.5  # no request for this long after load: the app has drawn what it will draw
SUBMIT_WAIT = 4.0  # for the login request after a click
# for the login request after Enter: scripts send at once; an app that ignores Enter costs
# this much before the click, one that sends later than this gets one click too many
ENTER_WAIT = 2.5
ANSWER_WAIT = 8.0  # for the answer to the login request
ROUTES = ("#/login", "#!/login", "login", "signin")  # where SPAs keep a login
MAX_REQUESTS = 400  # requests remembered per page
MAX_PAGE = 512 * 1024  # bytes of the start page read
MAX_SCRIPT = 2 * 1024 * 1024  # bytes read of one script
MAX_SCRIPT_TOTAL = 8 * 1024 * 1024  # bytes read of all scripts of a page
MAX_SCRIPT_FILES = 96  # script files and imported modules read per page
GET_DEADLINE = 15.0  # seconds for one page or script, whole
SCRIPTS_DEADLINE = 30.0  # seconds for reading them all: a slow device ends the reading early
MAX_ANSWER = 16 * 1024  # bytes of the control's answer described
# Library bundles rarely hold the app's own login code: read them last.
_LIBRARY = re.compile(
    r"vendor|jquery|monaco|polyfill|bootstrap|react|angular|vue|lodash|runtime", re.I
)

# Marks the first visible password input of a frame (walking open shadow roots), the user
# name input before it and the button that submits it, for Playwright locators to act on.
_MARK = """() => {
  const all = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      all.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  for (const el of all) el.removeAttribute('data-shinsa');
  const inputs = all.filter((e) => e.tagName === 'INPUT' && !e.disabled);
  const pw = inputs.find((e) => e.type === 'password' && shown(e));
  if (!pw) return null;
  pw.setAttribute('data-shinsa', 'password');
  const texts = ['text', 'email', 'tel', 'username'];
  const before = inputs
    .slice(0, inputs.indexOf(pw))
    .filter((e) => texts.includes(e.type) && shown(e) && !e.readOnly);
  const user =
    before.find((e) => (e.autocomplete || '').includes('username')) || before[before.length - 1];
  if (user) user.setAttribute('data-shinsa', 'username');
  const root = pw.form || pw.getRootNode();
  const buttons = [
    ...root.querySelectorAll('button, input[type=submit], input[type=button], [role=button]'),
  ].filter(shown);
  const words = /log ?in|sign ?in|log ?on|submit|anmelden|connexion|entrar|ログイン/i;
  const named = (b) => words.test((b.textContent || '') + ' ' + (b.value || ''));
  // Outside a form every <button> is type=submit: prefer the ones after the password field
  // (a "Log in" button that opened the dialog comes before it).
  const after = buttons.filter(
    (b) => pw.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  const submit = pw.form
    ? buttons.find((b) => b.type === 'submit') || buttons.find(named) || buttons[0]
    : after.find(named) || after[0] || buttons.find(named) || buttons[0];
  if (submit) submit.setAttribute('data-shinsa', 'submit');
  return { username: !!user, submit: !!submit };
}"""


# Marks the first visible link or button whose text asks for a login (open shadow roots too).
_MARK_ENTRY = """() => {
  const words = /^\\s*(log ?in|sign ?in|log ?on|anmelden|connexion|entrar|ログイン)\\s*$/i;
  const walk = (root) => {
    for (const el of root.querySelectorAll('a, button, [role=button]')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && words.test(el.textContent || el.value || '')) {
        el.setAttribute('data-shinsa', 'entry');
        return true;
      }
    }
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot && walk(el.shadowRoot)) return true;
    }
    return false;
  };
  return walk(document);
}"""


@dataclass(frozen=True, slots=True)
class SurfaceSearch:
    """What the search found, and in words how (or why nothing)."""

    surface: LoginSurface | None
    reason: str
    refused: tuple[str, ...] = ()  # what scope refused while the page ran
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _StartPage:
    url: str  # where the page was found, after the server's redirects
    requested: str  # the URL asked for first (the app's root)
    status: int
    headers: httpx.Headers
    html: str


def control_login() -> tuple[str, str]:
    """A random user name and password: letters and digits only, so that they are found
    verbatim in whatever encoding the app sends them."""
    alphabet = string.ascii_letters + string.digits
    user = "ctl" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
    password = "".join(secrets.choice(alphabet) for _ in range(14)) + "7Qz"
    return user, password


async def find_login_surface(
    net: DeviceNetwork, service: Service, path: str = "/"
) -> SurfaceSearch:
    """How the web app on `service` takes a login: from Chromium when the scan has one,
    else from its scripts.

    Error handling: a page or script that cannot be read gives a surface of None with the
    reason; a browser that fails mid-way falls back to the scripts.
    """
    t0 = time.monotonic()
    page = await _start_page(net, service, path)
    if page is None:
        return SurfaceSearch(None, f"{path} on {service} did not answer")
    if page.status == 401 and "www-authenticate" in page.headers:
        return SurfaceSearch(None, "HTTP authentication, not an application login")
    low = page.html.lower()
    if not any(tag in low for tag in ("<script", "<iframe", "<frame")):
        return SurfaceSearch(None, "the start page has no scripts or frames")
    why_not_browser = ""
    try:
        found = await _with_chromium(net, service, page.url)
        return SurfaceSearch(found.surface, found.reason, found.refused, time.monotonic() - t0)
    except BrowserUnavailable as exc:
        why_not_browser = str(exc)
    except TimeoutError:
        why_not_browser = "the page did not finish within its deadline"
    except Exception as exc:
        # The page's scripts, or Chromium itself, failed mid-way (a detached element, a
        # crashed renderer): what the device does is no error of the scan, and the scripts
        # are still there to read.
        why_not_browser = f"the page failed: {type(exc).__name__}: {exc}"[:200]
    surface = await _from_scripts(net, service, page)
    reason = (
        f"read from the app's scripts (no browser: {why_not_browser})"
        if surface
        else f"no login endpoint in the app's scripts (no browser: {why_not_browser})"
    )
    return SurfaceSearch(surface, reason, seconds=time.monotonic() - t0)


async def _with_chromium(net: DeviceNetwork, service: Service, url: str) -> SurfaceSearch:
    username, password = control_login()
    async with net.browser_page() as bp:
        requests: list[Request] = []
        last_request = [time.monotonic()]

        def remember(request: Request) -> None:
            last_request[0] = time.monotonic()
            if len(requests) < MAX_REQUESTS:
                requests.append(request)

        bp.page.on("request", remember)
        found = await _show_login(bp, url, last_request)
        if found is None:
            return SurfaceSearch(
                None, "no password field (start page and usual login routes)", _refused(bp)
            )
        frame, marks = found
        page_url = frame.url
        mark = '[data-shinsa="{}"]'
        if marks.get("username"):
            await frame.locator(mark.format("username")).first.fill(username)
        first = len(requests)
        await frame.locator(mark.format("password")).first.fill(password)
        await frame.locator(mark.format("password")).first.press("Enter")
        hit = await _login_request(bp, requests, first, password, ENTER_WAIT)
        if hit is None and marks.get("submit"):
            with contextlib.suppress(Exception):  # the Enter may have replaced the page
                await frame.locator(mark.format("submit")).first.click(timeout=2000)
            hit = await _login_request(bp, requests, first, password, SUBMIT_WAIT)
        if hit is None:
            return SurfaceSearch(
                None, "a password field, but no request carried the control login", _refused(bp)
            )
        request, sent = hit
        shape = read_login(sent, username, password)
        if shape is None:
            return SurfaceSearch(
                None,
                f"the login request to {mask_url(sent.url)[:100]} carries the password in a form "
                "no replay can reproduce",
                _refused(bp),
            )
        status, answer = await _answer(bp, request, username, password)
        surface = LoginSurface(
            service=service,
            page_url=page_url,
            url=shape.url,
            method=shape.method,
            content_type=shape.content_type,
            username_field=shape.username_field,
            password_field=shape.password_field,
            extra_fields=shape.extra_fields,
            headers=shape.headers,
            auth_header=shape.auth_header,
            failure_status=status,
            failure_shape=answer,
            source="chromium",
        )
        if not on_service(surface.url, service):
            return SurfaceSearch(
                None,
                f"the login goes to another service ({mask_url(surface.url)[:100]})",
                _refused(bp),
            )
        return SurfaceSearch(surface, "recorded from a control login in Chromium", _refused(bp))


def _refused(bp: BrowserPage) -> tuple[str, ...]:
    return tuple(bp.refusals())


async def _show_login(
    bp: BrowserPage, url: str, last_request: list[float]
) -> tuple[Frame, dict[str, bool]] | None:
    """The frame showing a password field: the start page first, then the usual routes."""
    for i, target in enumerate((url, *(urljoin(url, r) for r in ROUTES))):
        if i and bp.remaining() < SUBMIT_WAIT + 2:
            break
        try:
            response = await bp.page.goto(target, wait_until="domcontentloaded")
        except Exception:  # noqa: S112 -- a route the app lacks is no error of the scan
            continue
        if i and response is not None and response.status >= 400:
            continue  # the server has no such page (a hash route answers None: same page)
        found = await _wait_for_password(bp, SETTLE if i == 0 else SETTLE / 2, last_request)
        if found is None and i == 0 and await _click_login_entry(bp):
            found = await _wait_for_password(bp, SETTLE / 2, last_request)
        if found is not None:
            return found
    return None


async def _click_login_entry(bp: BrowserPage) -> bool:
    """Click the start page's "Log in" link or button (a login shown only on request: a
    modal, a route); whether there was one to click."""
    for frame in bp.page.frames:
        try:
            if await frame.evaluate(_MARK_ENTRY):
                await frame.locator('[data-shinsa="entry"]').first.click(timeout=2000)
                return True
        except Exception:  # noqa: S112 -- a frame that went away, an element that moved
            continue
    return False


async def _wait_for_password(
    bp: BrowserPage, seconds: float, last_request: list[float]
) -> tuple[Frame, dict[str, bool]] | None:
    """Poll every frame until a password field shows, the page goes quiet, or time is up."""
    t0 = time.monotonic()
    deadline = t0 + min(seconds, max(0.0, bp.remaining() - SUBMIT_WAIT))
    while True:
        for frame in bp.page.frames:
            try:
                marks = await frame.evaluate(_MARK)
            except Exception:  # noqa: S112 -- a frame that navigates or detaches mid-look
                continue
            if isinstance(marks, dict):
                return frame, {k: bool(v) for k, v in marks.items()}
        now = time.monotonic()
        quiet = now - last_request[0] >= QUIET and now - t0 >= QUIET
        if now >= deadline or quiet:
            return None
        await asyncio.sleep(0.25)


async def _login_request(
    bp: BrowserPage, requests: list[Request], first: int, password: str, seconds: float
) -> tuple[Request, SentLogin] | None:
    """The first request since `first` that carries the password, within `seconds`."""
    deadline = time.monotonic() + min(seconds, bp.remaining())
    seen = first
    while True:
        while seen < len(requests):
            request = requests[seen]
            seen += 1
            try:
                headers = await request.all_headers()
            except Exception:  # noqa: S112 -- a request whose page went away
                continue
            sent = SentLogin(request.method, request.url, headers, request.post_data_buffer or b"")
            if carries(sent, password):
                return request, sent
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.1)


async def _answer(
    bp: BrowserPage, request: Request, username: str, password: str
) -> tuple[int, str]:
    """The control login's answer: its status and a bounded description (0 and why, when
    none came)."""
    try:
        async with asyncio.timeout(min(ANSWER_WAIT, bp.remaining())):
            response = await request.response()
    except TimeoutError:
        return 0, f"no answer within {ANSWER_WAIT:g} s"
    if response is None:
        return 0, f"no answer ({(request.failure or 'failed')[:80]})"
    headers = response.headers
    body = b""
    if not 300 <= response.status < 400:
        with contextlib.suppress(Exception):  # a body the browser did not keep
            async with asyncio.timeout(min(ANSWER_WAIT, bp.remaining())):
                body = (await response.body())[:MAX_ANSWER]
    shape = describe_answer(
        response.status,
        headers.get("content-type", ""),
        body,
        location=headers.get("location", ""),
        secrets=(username, password),
    )
    return response.status, shape


async def _start_page(net: DeviceNetwork, service: Service, path: str) -> _StartPage | None:
    """GET the start page, following up to three redirects on the same service."""
    async with net.http(service) as client:
        url = first = str(client.base_url.join(path))
        for _ in range(4):
            got = await _get(client, url, MAX_PAGE)
            if got is None:
                return None
            status, headers, body = got
            location = headers.get("location", "")
            if 300 <= status < 400 and location:
                nxt = urljoin(url, location)
                if not on_service(nxt, service):
                    break
                url = nxt
                continue
            return _StartPage(url, first, status, headers, body.decode("utf-8", "replace"))
    return None


async def _get(
    client: httpx.AsyncClient, url: str, limit: int, seconds: float = GET_DEADLINE
) -> tuple[int, httpx.Headers, bytes] | None:
    """One bounded GET: at most `limit` bytes of the body, decoded, within `seconds` (a
    device that dribbles bytes cannot stretch it); None when nothing answered in time."""
    try:
        async with asyncio.timeout(seconds):
            answer = await exchange(client, "GET", url, limit=limit, throttle=False)
            return answer.status, answer.headers, answer.body
    except (httpx.HTTPError, OSError, TimeoutError):
        return None


async def _from_scripts(
    net: DeviceNetwork, service: Service, page: _StartPage
) -> LoginSurface | None:
    """A surface written in the page's scripts, or None: never a guessed endpoint.

    Reads the page's inline scripts, then its script files and the ES modules they import
    (breadth first, the app's own before library bundles), within MAX_SCRIPT_FILES and
    MAX_SCRIPT_TOTAL bytes. An absolute path found in one file may have its prefix written
    in another (an API client's base), so reading goes on to the end of the bounds; a
    relative path resolves against `<base href>`, else the URL first asked for (JavaScript
    API clients build on the app's root, not on the login page a server redirected to)."""
    sources, inline = page_scripts(page.html, MAX_PAGE)
    texts: list[str] = []
    found: ScriptLogin | None = None
    for text in inline:
        texts.append(text)
        found = found or find_script_login(text)
    queue = [u for u in (urljoin(page.url, s) for s in sources) if on_service(u, service)]
    queue.sort(key=lambda u: bool(_LIBRARY.search(u.rsplit("/", 1)[-1])))
    seen = set(queue)
    budget = MAX_SCRIPT_TOTAL
    deadline = time.monotonic() + SCRIPTS_DEADLINE
    async with net.http(service) as client:
        for _ in range(MAX_SCRIPT_FILES):
            if time.monotonic() > deadline:
                break
            if not queue or budget <= 0 or (found is not None and not found.path.startswith("/")):
                break  # a relative path needs no prefix from other files
            url = queue.pop(0)
            left = deadline - time.monotonic()
            got = await _get(client, url, min(MAX_SCRIPT, budget), min(GET_DEADLINE, left))
            if got is None or got[0] != 200:
                continue
            budget -= len(got[2])
            text = got[2].decode("utf-8", "replace")
            texts.append(text)
            for spec in module_imports(text):
                nxt = urljoin(url, spec)
                if nxt not in seen and on_service(nxt, service):
                    seen.add(nxt)
                    queue.append(nxt)
            found = found or find_script_login(text)
    return _script_surface(service, page, found, texts) if found is not None else None


def _script_surface(
    service: Service, page: _StartPage, found: ScriptLogin, texts: list[str]
) -> LoginSurface | None:
    base = urljoin(page.url, base_href(page.html)) if base_href(page.html) else page.requested
    url = urljoin(base, full_path(found.path, texts))
    if not on_service(url, service):
        return None
    return LoginSurface(
        service=service,
        page_url=page.url,
        url=url,
        method=found.method,
        content_type=found.content_type,
        username_field=found.username_field,
        password_field=found.password_field,
        extra_fields=found.extra_fields,
        source="scripts",
    )
