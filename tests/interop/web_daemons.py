"""lighttpd sites and OpenSSH servers for the web and banner checks, on 127.0.60.0/24.

Each context manager writes its server's configuration (and the site's pages and /bin/sh
CGI scripts) into a directory the caller owns, starts the Debian daemon in the foreground
in its own process group, waits (bounded) until its ports answer, and stops the group at
exit (SIGTERM, then SIGKILL, both bounded). Like tls_daemons.py, nothing here imports
pytest: a missing binary raises `MissingBinary` naming the Debian package, a daemon that
dies or never answers raises `DaemonFailed` with its log, and the tests turn both into
failures.

The CGI scripts are the flaws (or their fixes) under test, so they are written out here in
full: a search page that echoes its query raw or escaped, and a form login whose session
is either handled carefully or in every wrong way a device gets it wrong.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec

from tests.interop.tls_daemons import (
    START_TIMEOUT,
    DaemonFailed,
    MissingBinary,
    ca_issued,
    require,
    stop,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

#: This suite's addresses, one server each, so every server keeps its standard port.
BASIC_AUTH_ADDRESS = "127.0.60.1"
REFLECTING_ADDRESS = "127.0.60.2"
ESCAPING_ADDRESS = "127.0.60.3"
CAREFUL_LOGIN_ADDRESS = "127.0.60.4"
CARELESS_LOGIN_ADDRESS = "127.0.60.5"
STOCK_TAG_ADDRESS = "127.0.60.6"
CAMERA_TAG_ADDRESS = "127.0.60.7"
SSHD_NOTICE_ADDRESS = "127.0.60.8"
SSHD_PLAIN_ADDRESS = "127.0.60.9"
HTTPS_REDIRECT_ADDRESS = "127.0.60.10"

#: The notice the OpenSSH `Banner` shows before authentication.
LOGIN_NOTICE = (
    "WARNING: Authorized use only. This system is monitored; activity may be recorded\n"
    "and disclosed to law enforcement.\n"
)


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    address: str
    ports: tuple[int, ...]
    directory: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    @property
    def port(self) -> int:
        return self.ports[0]

    def log_tail(self) -> str:
        """The daemon's output and error log, last part of each, for a failure message."""
        tails = []
        for log in sorted(self.directory.glob("*.log")):
            with contextlib.suppress(OSError):
                tails.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(tails)


def _answers(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def _serve(
    name: str, argv: Sequence[str], address: str, ports: Sequence[int], directory: Path
) -> Iterator[Server]:
    taken = [port for port in ports if _answers(address, port)]
    if taken:
        # Readiness is "the port answers": a leftover server there would fake it.
        raise DaemonFailed(f"{name}: {address}:{taken} is already taken by another process")
    with (directory / f"{name}.log").open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops its CGIs too
        )
    server = Server(name, address, tuple(ports), directory, proc)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not all(_answers(address, port) for port in ports):
            if proc.poll() is not None:
                raise DaemonFailed(f"{name} exited with {proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonFailed(
                    f"{name} not answering on {address}:{list(ports)} after "
                    f"{START_TIMEOUT:g} s:\n{server.log_tail()}"
                )
            time.sleep(0.05)
        yield server
    finally:
        stop(proc)


def _quoted(text: str) -> str:
    """A lighttpd configuration string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def lighttpd(
    name: str,
    address: str,
    directory: Path,
    *,
    pages: Mapping[str, str],
    config: str = "",
    ports: Sequence[int] = (80,),
) -> Iterator[Server]:
    """lighttpd serving `pages` (path under the document root -> text) on address:ports[0],
    `.cgi` files run by /bin/sh, with `config` appended to the configuration."""
    binary = require("/usr/sbin/lighttpd", "lighttpd")
    directory = directory / name
    www = directory / "www"
    www.mkdir(parents=True)
    for path, text in pages.items():
        (www / path).parent.mkdir(parents=True, exist_ok=True)
        (www / path).write_text(text)
    cfg = directory / "lighttpd.conf"
    cfg.write_text(
        f"server.document-root = {_quoted(str(www))}\n"
        f"server.bind = {_quoted(address)}\n"
        f"server.port = {ports[0]}\n"
        f"server.errorlog = {_quoted(str(directory / 'error.log'))}\n"
        'server.modules = ("mod_auth", "mod_authn_file", "mod_cgi", "mod_redirect")\n'
        'mimetype.assign = (".html" => "text/html", ".txt" => "text/plain")\n'
        'index-file.names = ("index.html")\n'
        'cgi.assign = (".cgi" => "/bin/sh")\n' + config
    )
    with _serve(name, [binary, "-D", "-f", str(cfg)], address, ports, directory) as server:
        yield server


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )


# --- HTTP Basic on the whole site ---------------------------------------------------------


def basic_auth_site(
    address: str, directory: Path, username: str, password: str
) -> contextlib.AbstractContextManager[Server]:
    """Every page behind HTTP Basic (mod_auth, plain user file), as a camera's web UI."""
    users = directory / "basic-auth.user"
    directory.mkdir(parents=True, exist_ok=True)
    users.write_text(f"{username}:{password}\n")
    users.chmod(0o600)
    return lighttpd(
        "basic-auth",
        address,
        directory,
        pages={
            "index.html": _page(
                "Camera", '<p>Live view</p>\n<a href="/settings.html">Settings</a>'
            ),
            "settings.html": _page("Camera settings", "<p>Resolution: 1080p, 25 fps</p>"),
        },
        config=(
            'auth.backend = "plain"\n'
            f"auth.backend.plain.userfile = {_quoted(str(users))}\n"
            'auth.require = ("/" => ("method" => "basic", "realm" => "Interop Camera", '
            '"require" => "valid-user"))\n'
        ),
    )


# --- A search page that echoes its query ----------------------------------------------------

#: /bin/sh: `param NAME QUERY` is NAME's value in an x-www-form-urlencoded QUERY, decoded
#: (`+` and %XX, by mawk: Debian's dash has no printf \x escape).
_QUERY_PARAM = r"""
param() {
    printf '%s' "$2" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1 | awk '
        BEGIN { for (i = 1; i < 256; i++) hex[sprintf("%02X", i)] = sprintf("%c", i) }
        {
            gsub(/\+/, " "); out = ""
            while (match($0, /%[0-9A-Fa-f][0-9A-Fa-f]/)) {
                out = out substr($0, 1, RSTART - 1) hex[toupper(substr($0, RSTART + 1, 2))]
                $0 = substr($0, RSTART + 3)
            }
            printf "%s", out $0
        }'
}
"""
_SEARCH_CGI = r"""
q=$(param q "$QUERY_STRING")
@SHOW@
printf 'Content-Type: text/html\r\n\r\n'
printf '<!DOCTYPE html>\n<html><head><title>Search</title></head><body>\n'
printf '<p>No recordings match %s</p>\n</body></html>\n' "$q"
"""
#: HTML-escaping (&, <, >, both quotes), as a careful template engine does.
_ESCAPE = r"""q=$(printf '%s' "$q" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
    -e 's/"/\&quot;/g' -e "s/'/\&#39;/g")"""


def _search_cgi(escape: bool) -> str:
    show = _ESCAPE if escape else "# The flaw: q goes into the page as it came."
    return "#!/bin/sh\n" + _QUERY_PARAM + _SEARCH_CGI.replace("@SHOW@", show)


def search_site(
    address: str, directory: Path, *, escape: bool
) -> contextlib.AbstractContextManager[Server]:
    """An index page with a GET search form; the CGI echoes `q` raw (search.cgi) or
    HTML-escaped (safe.cgi)."""
    script = "safe.cgi" if escape else "search.cgi"
    form = (
        f'<form action="/cgi-bin/{script}" method="get">\n'
        '<input type="text" name="q"><input type="submit" value="Search recordings">\n'
        "</form>"
    )
    return lighttpd(
        "escaping" if escape else "reflecting",
        address,
        directory,
        pages={"index.html": _page("Recordings", form), f"cgi-bin/{script}": _search_cgi(escape)},
    )


# --- A form login with a cookie session -------------------------------------------------------


#: Shared by the login site's scripts; @SESSIONS@ is the directory of session files.
_SESSION_LIB = r"""
SESSIONS=@SESSIONS@
new_sid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
# Only a 32-hex-digit ID is looked up: a cookie never names a path outside SESSIONS.
sid=$(printf '%s' "$HTTP_COOKIE" | tr ';' '\n' \
    | sed -n 's/^ *sid=\([0-9a-f]\{32\}\)$/\1/p' | head -n 1)
logged_in() { [ -n "$sid" ] && [ "$(cat "$SESSIONS/$sid" 2>/dev/null)" = auth ]; }
to_login() { printf 'Status: 302 Found\r\nLocation: /cgi-bin/login.cgi\r\n\r\n'; }
"""
_LOGIN_CGI = r"""
if [ "$REQUEST_METHOD" = POST ]; then
    body=$(head -c "${CONTENT_LENGTH:-0}")
    if [ "$(param user "$body"):$(param pass "$body")" = @ACCOUNT@ ]; then
@PROMOTE@
        printf 'Status: 302 Found\r\nSet-Cookie: sid=%s@FLAGS@\r\n' "$sid"
        printf 'Location: %s\r\n\r\n' "$landing"
        exit 0
    fi
    printf 'Content-Type: text/html\r\n\r\n%s' @FAILED@
    exit 0
fi
# A visitor gets a session ID before logging in (for a language choice, say).
sid=$(new_sid)
echo anon > "$SESSIONS/$sid"
printf 'Content-Type: text/html\r\nSet-Cookie: sid=%s@FLAGS@\r\n\r\n' "$sid"
printf '%s' @FORM@
"""
#: The login keeps the visitor's ID, now logged in, and puts it in the landing URL.
_CARELESS_PROMOTE = r"""
        [ -n "$sid" ] || sid=$(new_sid)
        echo auth > "$SESSIONS/$sid"
        landing="/cgi-bin/home.cgi?sid=$sid"
"""
#: The login drops the visitor's ID and issues a new one.
_CAREFUL_PROMOTE = r"""
        rm -f "$SESSIONS/$sid"
        sid=$(new_sid)
        echo auth > "$SESSIONS/$sid"
        landing=/cgi-bin/home.cgi
"""
_LOGOUT_CGI = r"""
@FORGET@
printf 'Status: 302 Found\r\nSet-Cookie: sid=; Path=/; Max-Age=0\r\n'
printf 'Location: /cgi-bin/login.cgi\r\n\r\n'
"""
_PAGE_CGI = r"""
@GUARD@
printf 'Content-Type: text/html\r\n\r\n%s' @PAGE@
"""
_GUARD = "logged_in || { to_login; exit 0; }"


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def _login_scripts(state: Path, username: str, password: str, *, careful: bool) -> dict[str, str]:
    """login.cgi, home.cgi, status.cgi and logout.cgi. Sessions are files in `state`
    holding `anon` (handed out with the login page) or `auth` (logged in).

    careful: the login replaces the visitor's ID with a new one (HttpOnly, SameSite=Strict),
    both pages behind it need the session, and logout deletes it on the server.
    careless: the login promotes the visitor's ID as it is, re-sends it without flags and
    puts it in the redirect URL; status.cgi needs no session; logout only clears the cookie.
    """
    head = "#!/bin/sh\n" + _QUERY_PARAM + _fill(_SESSION_LIB, SESSIONS=shlex.quote(str(state)))
    form = (
        '<form action="/cgi-bin/login.cgi" method="post">\n'
        '<input type="text" name="user"><input type="password" name="pass">\n'
        '<input type="submit" value="Log in"></form>'
    )
    login = _fill(
        _LOGIN_CGI,
        ACCOUNT=shlex.quote(f"{username}:{password}"),
        PROMOTE=(_CAREFUL_PROMOTE if careful else _CARELESS_PROMOTE).strip("\n"),
        FLAGS="; Path=/; HttpOnly; SameSite=Strict" if careful else "; Path=/",
        FORM=shlex.quote(_page("Camera login", form)),
        FAILED=shlex.quote(_page("Camera login", form + "\n<p>Invalid username or password</p>")),
    )
    home = _fill(
        _PAGE_CGI,
        GUARD=_GUARD,
        PAGE=shlex.quote(
            _page(
                "Camera home",
                '<p>Live view of camera 1</p>\n<a href="/cgi-bin/status.cgi">Status</a>\n'
                '<a href="/cgi-bin/logout.cgi">Log out</a>',
            )
        ),
    )
    status = _fill(
        _PAGE_CGI,
        GUARD=_GUARD if careful else "# The flaw: no session needed.",
        PAGE=shlex.quote(_page("Camera status", "<p>Firmware 2.4.1, uptime 12 days</p>")),
    )
    forget = 'rm -f "$SESSIONS/$sid"' if careful else "# The flaw: the session stays valid."
    logout = _fill(_LOGOUT_CGI, FORGET=forget)
    return {
        f"cgi-bin/{name}.cgi": head + script
        for name, script in (
            ("login", login),
            ("home", home),
            ("status", status),
            ("logout", logout),
        )
    }


def form_login_site(
    address: str, directory: Path, username: str, password: str, *, careful: bool
) -> contextlib.AbstractContextManager[Server]:
    """`/` redirects to a CGI login form; see `_login_scripts` for the two behaviours."""
    name = "careful-login" if careful else "careless-login"
    state = directory / name / "sessions"
    state.mkdir(parents=True)
    return lighttpd(
        name,
        address,
        directory,
        pages=_login_scripts(state, username, password, careful=careful),
        config='url.redirect = ("^/$" => "/cgi-bin/login.cgi")\n',
    )


# --- Server tags and HTTPS redirects ----------------------------------------------------------


def tagged_site(
    address: str, directory: Path, tag: str | None
) -> contextlib.AbstractContextManager[Server]:
    """A plain page; `tag` replaces lighttpd's `Server: lighttpd/1.4.69` (None keeps it)."""
    return lighttpd(
        f"tag-{tag or 'stock'}",
        address,
        directory,
        pages={"index.html": _page("Camera", "<p>Live view</p>")},
        config=f"server.tag = {_quoted(tag)}\n" if tag is not None else "",
    )


def https_redirect_site(address: str, directory: Path) -> contextlib.AbstractContextManager[Server]:
    """Port 80 answers every request with a 301 to the same path on https://address/;
    port 443 serves the login page over TLS (ECDSA leaf from a test CA)."""
    module = "/usr/lib/lighttpd/mod_openssl.so"
    if not os.path.exists(module):
        raise MissingBinary(module, "lighttpd-mod-openssl")
    keys = directory / "https-redirect-certs"
    keys.mkdir(parents=True)
    key = ec.generate_private_key(ec.SECP256R1())
    certs = ca_issued(keys, "redirect.interop.test", address, key)
    login = _page(
        "Camera login",
        '<form action="/login" method="post"><input type="text" name="user">'
        '<input type="password" name="pass"><input type="submit" value="Log in"></form>',
    )
    return lighttpd(
        "https-redirect",
        address,
        directory,
        pages={"index.html": login},
        ports=(80, 443),
        config=(
            'server.modules += ("mod_openssl")\n'
            f'$SERVER["socket"] == {_quoted(address + ":443")} {{\n'
            '  ssl.engine = "enable"\n'
            f"  ssl.pemfile = {_quoted(str(certs.cert))}\n"
            f"  ssl.privkey = {_quoted(str(certs.key))}\n"
            "}\n"
            '$HTTP["scheme"] == "http" {\n'
            f'  url.redirect = ("" => {_quoted("https://" + address + "${url.path}${qsa}")})\n'
            "}\n"
        ),
    )


# --- OpenSSH ---------------------------------------------------------------------------------


@contextlib.contextmanager
def sshd(address: str, directory: Path, *, notice: str | None) -> Iterator[Server]:
    """Debian's OpenSSH on address:22; `notice` is shown before authentication (`Banner`)."""
    binary = require("/usr/sbin/sshd", "openssh-server")
    keygen = require("ssh-keygen", "openssh-client")
    name = "sshd-notice" if notice is not None else "sshd-plain"
    directory = directory / name
    directory.mkdir(parents=True)
    key = directory / "ssh_host_ed25519_key"
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    banner = ""
    if notice is not None:
        (directory / "notice.txt").write_text(notice)
        banner = f"Banner {directory / 'notice.txt'}\n"
    cfg = directory / "sshd_config"
    cfg.write_text(
        f"Port 22\nListenAddress {address}\nHostKey {key}\n"
        f"PidFile {directory / 'sshd.pid'}\nUsePAM no\nStrictModes no\n{banner}"
    )
    with _serve(name, [binary, "-D", "-e", "-f", str(cfg)], address, (22,), directory) as s:
        yield s
