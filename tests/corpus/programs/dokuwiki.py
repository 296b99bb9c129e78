"""DokuWiki from Debian, served by lighttpd and php-cgi: a server-rendered PHP admin UI.

Configured as Debian's package configures it (authplain backend, ACLs on, the `admin`
group is superuser, passwords stored as the unsalted MD5 Debian's postinst writes), served
from the site root. The login is an HTML form with a CSRF token (`sectok`) posted to
`/doku.php`; a wrong password gets the same form back with HTTP 403 and an error message,
which is the rejection shape a scanner has to recognise.

Everything DokuWiki writes (configuration, pages, cache, sessions) lives in the work
directory: a PHP `auto_prepend_file` points DokuWiki's `DOKU_CONF` there before Debian's
`preload.php` picks its default, and `savedir` points at a copy of Debian's skeleton data.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

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

    import httpx

ADDRESS = "127.0.72.20"
PORT = 80
FACTORY = Login("admin", "admin")
OPERATOR = Login("operator", "Qx7-corpus-op!", kind="operator")
#: What a wrong password gets: the login form again, status 403, and this message.
REJECTION_TEXT = "Sorry, username or password was wrong."
LOGIN_PATH = "/doku.php?id=start&do=login"

PROGRAM = Program(
    name="dokuwiki",
    origin="debian:dokuwiki=0.0.20220731.a-2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="http",
            port=PORT,
            logins=(FACTORY, OPERATOR),
            login_surface="form",
            note=(
                f"form at {LOGIN_PATH}: POST /doku.php with u, p, sectok (CSRF token from "
                "the form), do=login, id; accepted: 302 and a DW... session cookie; "
                f"rejected: 403, the form again and '{REJECTION_TEXT}'; no lockout"
            ),
        ),
    ),
    description="DokuWiki 2022-07-31b 'Igor' (PHP 8.2 php-cgi under lighttpd 1.4.69)",
)

_SHARE = Path("/usr/share/dokuwiki")
_DEBIAN_DATA = Path("/var/lib/dokuwiki/data")
_HINT = "apt-get install dokuwiki php-cgi lighttpd (.ci/corpus/debian-web.sh)"


def _user_line(login: Login, groups: str) -> str:
    # Debian's postinst stores the admin password as plain MD5, which authplain accepts.
    digest = hashlib.md5(login.password.encode(), usedforsecurity=False).hexdigest()
    return (
        f"{login.username}:{digest}:{login.username.title()}:{login.username}@localhost:{groups}\n"
    )


def _configure(workdir: Path) -> Path:
    conf = workdir / "conf"
    conf.mkdir()
    data = workdir / "data"
    shutil.copytree(_DEBIAN_DATA, data, symlinks=True)
    (conf / "local.php").write_text(
        "<?php\n"
        "$conf['title'] = 'Debian DokuWiki';\n"
        "$conf['license'] = 'cc-by-sa';\n"
        "$conf['useacl'] = 1;\n"
        "$conf['superuser'] = '@admin';\n"
        f"$conf['savedir'] = '{data}';\n"
    )
    # Debian's default ACL: anyone reads, logged-in users edit.
    (conf / "acl.auth.php").write_text(
        "*               @ALL          1\n*               @user         8\n"
    )
    (conf / "users.auth.php").write_text(
        _user_line(FACTORY, "admin,user") + _user_line(OPERATOR, "user")
    )
    # Debian's plugin switches (the testing plugin off, the auth plugins required).
    for name in ("plugins.php", "plugins.required.php", "plugins.local.php"):
        with contextlib.suppress(FileNotFoundError):
            shutil.copy(Path("/etc/dokuwiki") / name, conf / name)
    prepend = workdir / "prepend.php"
    prepend.write_text(f"<?php\ndefine('DOKU_CONF', '{conf}/');\n")
    ini = workdir / "php.d"
    ini.mkdir()
    (ini / "90-corpus.ini").write_text(
        f"auto_prepend_file = {prepend}\nsession.save_path = {workdir}\n"
    )
    cfg = workdir / "lighttpd.conf"
    php_cgi = require("/usr/bin/php-cgi", _HINT)
    # Debian's php-cgi reads its own conf.d first; ours only adds the prepend file.
    scan_dir = f"/etc/php/8.2/cgi/conf.d:{ini}"
    cfg.write_text(
        f'server.document-root = "{_SHARE}"\n'
        f'server.bind = "{ADDRESS}"\n'
        f"server.port = {PORT}\n"
        f'server.errorlog = "{workdir / "lighttpd-error.log"}"\n'
        'server.modules = ("mod_access", "mod_fastcgi")\n'
        'server.follow-symlink = "enable"\n'
        'index-file.names = ("doku.php", "index.php")\n'
        'mimetype.assign = (".css" => "text/css", ".js" => "application/javascript", '
        '".png" => "image/png", ".gif" => "image/gif", ".svg" => "image/svg+xml", '
        '".ico" => "image/vnd.microsoft.icon")\n'
        # Debian's /etc/dokuwiki/lighttpd.conf denies the same directories.
        '$HTTP["url"] =~ "/(\\.|_)ht" { url.access-deny = ( "" ) }\n'
        '$HTTP["url"] =~ "^/(bin|data|inc|conf|vendor)" { url.access-deny = ( "" ) }\n'
        'fastcgi.server = ( ".php" => (( '
        f'"bin-path" => "{php_cgi}", "socket" => "{workdir / "php.socket"}", '
        '"max-procs" => 1, '
        f'"bin-environment" => ( "PHP_FCGI_CHILDREN" => "2", "PHP_INI_SCAN_DIR" => "{scan_dir}" ), '
        '"bin-copy-environment" => ( "PATH" ), '
        '"broken-scriptfilename" => "enable" )) )\n'
    )
    return cfg


def submit_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """What the login form does: its CSRF token (`sectok`) comes with the page."""
    page = client.get(LOGIN_PATH)
    sectok = re.search(r'name="sectok" value="([^"]*)"', page.text)
    fields = {"id": "start", "do": "login", "u": username, "p": password}
    return client.post("/doku.php?id=start", data={"sectok": sectok[1] if sectok else "", **fields})


def verify(service: ServiceTruth, login: Login) -> bool:
    with web_client.client(ADDRESS, service.port) as client:
        answer = submit_login(client, login.username, login.password)
        return answer.status_code == 302 and any(n.startswith("DW") for n in client.cookies)


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    lighttpd = require("/usr/sbin/lighttpd", _HINT)
    if not (_SHARE / "doku.php").is_file():
        raise CorpusError(f"{_SHARE / 'doku.php'} not found: {_HINT}")
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
