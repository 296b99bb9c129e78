"""The Nagios 4 web interface from Debian (CGIs in C, PHP front page) behind HTTP Digest.

Configured the way Debian's /etc/nagios4/apache2.conf describes its "step up": the Digest
stanza (realm `Nagios4`, an htdigest user file) covers the whole site, and
`use_authentication=1` in cgi.cfg makes the CGIs check who is logged in. lighttpd does the
Digest exchange here instead of Apache (same realm, same user file format), with php-cgi for
the PHP front page. The CGIs read their cgi.cfg from the work directory through
`NAGIOS_CGI_CONFIG`; Nagios itself (the scheduler) is not running, so the status pages say
so, behind the login as they would on a stopped monitoring box.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.corpus import web_client
from tests.corpus.base import (
    CorpusError,
    Login,
    Program,
    Running,
    ServiceTruth,
    program_running,
    require,
    start,
    tcp_ready,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

ADDRESS = "127.0.72.21"
PORT = 80
REALM = "Nagios4"
FACTORY = Login("admin", "password")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
#: The front page every link leads to; `/` redirects here, as Debian's site does not exist
#: at the root.
HOME = "/nagios4/"
#: A CGI that answers only someone logged in and allowed (authorized_for_* in cgi.cfg).
TAC = "/nagios4/cgi-bin/tac.cgi"

PROGRAM = Program(
    name="nagios4",
    origin="debian:nagios4-cgi=4.4.6-4+deb12u2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="http",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="digest",
            note=(
                f"every path asks for HTTP Digest (realm {REALM!r}, MD5, qop=auth); "
                "rejected: 401 with a fresh WWW-Authenticate: Digest challenge, same as no "
                f"credentials; accepted: 200 on {HOME} and {TAC}; no lockout"
            ),
        ),
    ),
    description="Nagios Core 4.4.6 CGIs and PHP pages (lighttpd 1.4.69, php-cgi 8.2)",
)

_HTDOCS = Path("/usr/share/nagios4/htdocs")
_CGI_BIN = Path("/usr/lib/cgi-bin/nagios4")
_HINT = "apt-get install nagios4-cgi php-cgi lighttpd (.ci/corpus/debian-web.sh)"


def _htdigest_line(login: Login) -> str:
    # The format `htdigest` writes: user:realm:MD5(user:realm:password).
    ha1 = hashlib.md5(
        f"{login.username}:{REALM}:{login.password}".encode(), usedforsecurity=False
    ).hexdigest()
    return f"{login.username}:{REALM}:{ha1}\n"


def _configure(workdir: Path) -> Path:
    users = workdir / "htdigest.users"
    users.write_text(_htdigest_line(FACTORY) + _htdigest_line(OPERATOR))
    users.chmod(0o600)
    # Debian's cgi.cfg with authentication on; the admin is allowed everything, the operator
    # may look at hosts and services.
    cgi_cfg = workdir / "cgi.cfg"
    cgi_cfg.write_text(
        "main_config_file=/etc/nagios4/nagios.cfg\n"
        f"physical_html_path={_HTDOCS}\n"
        "url_html_path=/nagios4\n"
        "show_context_help=0\nuse_pending_states=1\n"
        "use_authentication=1\nuse_ssl_authentication=0\n"
        f"authorized_for_system_information={FACTORY.username}\n"
        f"authorized_for_configuration_information={FACTORY.username}\n"
        f"authorized_for_system_commands={FACTORY.username}\n"
        f"authorized_for_all_services={FACTORY.username},{OPERATOR.username}\n"
        f"authorized_for_all_hosts={FACTORY.username},{OPERATOR.username}\n"
        f"authorized_for_all_service_commands={FACTORY.username}\n"
        f"authorized_for_all_host_commands={FACTORY.username}\n"
        "refresh_rate=90\nresult_limit=100\nescape_html_tags=1\nlock_author_names=1\n"
    )
    php_cgi = require("/usr/bin/php-cgi", _HINT)
    cfg = workdir / "lighttpd.conf"
    cfg.write_text(
        f'server.document-root = "{_HTDOCS}"\n'
        f'server.bind = "{ADDRESS}"\n'
        f"server.port = {PORT}\n"
        f'server.errorlog = "{workdir / "lighttpd-error.log"}"\n'
        'server.modules = ("mod_access", "mod_alias", "mod_auth", "mod_authn_file", '
        '"mod_redirect", "mod_setenv", "mod_cgi", "mod_fastcgi")\n'
        'server.follow-symlink = "enable"\n'
        'index-file.names = ("index.php", "index.html")\n'
        'mimetype.assign = (".html" => "text/html", ".css" => "text/css", '
        '".js" => "application/javascript", ".png" => "image/png", ".gif" => "image/gif", '
        '".jpg" => "image/jpeg", ".ico" => "image/vnd.microsoft.icon")\n'
        # Debian's aliases (apache2.conf), longest first.
        f'alias.url = ( "/nagios4/cgi-bin/" => "{_CGI_BIN}/", '
        f'"/cgi-bin/nagios4/" => "{_CGI_BIN}/", '
        '"/nagios4/stylesheets/" => "/etc/nagios4/stylesheets/", '
        f'"/nagios4/" => "{_HTDOCS}/" )\n'
        f'url.redirect = ( "^/$" => "{HOME}" )\n'
        f'setenv.add-environment = ( "NAGIOS_CGI_CONFIG" => "{cgi_cfg}" )\n'
        '$HTTP["url"] =~ "^/(nagios4/cgi-bin|cgi-bin/nagios4)/" { cgi.assign = ( ".cgi" => "" ) }\n'
        'auth.backend = "htdigest"\n'
        f'auth.backend.htdigest.userfile = "{users}"\n'
        f'auth.require = ( "/" => ( "method" => "digest", "realm" => "{REALM}", '
        '"require" => "valid-user" ) )\n'
        'fastcgi.server = ( ".php" => (( '
        f'"bin-path" => "{php_cgi}", "socket" => "{workdir / "php.socket"}", '
        '"max-procs" => 1, "bin-environment" => ( "PHP_FCGI_CHILDREN" => "2" ), '
        '"bin-copy-environment" => ( "PATH" ), "broken-scriptfilename" => "enable" )) )\n'
    )
    return cfg


def verify(service: ServiceTruth, login: Login) -> bool:
    with web_client.client(ADDRESS, service.port) as client:
        auth = httpx.DigestAuth(login.username, login.password)
        return client.get(HOME, auth=auth).status_code == 200


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    lighttpd = require("/usr/sbin/lighttpd", _HINT)
    if not (_CGI_BIN / "tac.cgi").is_file():
        raise CorpusError(f"{_CGI_BIN / 'tac.cgi'} not found: {_HINT}")
    cfg = _configure(workdir)
    with program_running(PROGRAM) as run:
        start(
            run,
            "lighttpd",
            [lighttpd, "-D", "-f", str(cfg)],
            workdir=workdir,
            ready=lambda: tcp_ready(ADDRESS, PORT),
        )
        yield run
