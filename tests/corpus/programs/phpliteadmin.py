"""phpLiteAdmin from Debian, served by lighttpd and php-cgi: a password-only PHP admin UI.

A web front end to SQLite databases with one password and no user name; Debian's package
keeps the upstream default password, `admin` (the page itself warns that it is still the
default). The login is an HTML form posting `password`, `login` and a CSRF `token` to the
page. Both answers are `302 Found`: a right password goes back to the page (`?`), which then
lists the databases; a wrong one goes to `?failed=1`, which shows the form again with
"Incorrect password." (status 200). As there is only the one account, no operator login
can be planted beside it.

Served at the site root as Debian's Apache snippet serves /phpliteadmin (DirectoryIndex
phpliteadmin.php). The document root in the work directory holds links to Debian's files
and a phpliteadmin.config.php of its own (the script reads it from its directory), so the
database directory and the PHP sessions are in the work directory too.
"""

from __future__ import annotations

import contextlib
import re
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

ADDRESS = "127.0.72.25"
PORT = 80
FACTORY = Login("", "admin")  # no user name: the form has a password field only
LOGIN_PATH = "/phpliteadmin.php"
#: What a wrong password gets: 302 to a Location ending in this, then the form again with
#: status 200 and REJECTION_TEXT.
REJECTION_LOCATION = "phpliteadmin.php?failed=1"
REJECTION_TEXT = "Incorrect password."
#: What only a logged-in page shows (no database exists yet).
WELCOME_TEXT = "Welcome to phpLiteAdmin"

PROGRAM = Program(
    name="phpliteadmin",
    origin="debian:phpliteadmin=1.9.8.2-2",
    address=ADDRESS,
    services=(
        ServiceTruth(
            protocol="http",
            port=PORT,
            logins=(FACTORY,),
            login_surface="form",
            note=(
                f"password-only form at / ({LOGIN_PATH}): POST password, login=true, "
                "remember, token (CSRF, from the form) with the PHPSESSID cookie; accepted: "
                "302 to ?, then the database page and pla3412_* cookies; rejected: 302 to "
                f"{REJECTION_LOCATION}, which shows the form again (200) and "
                f"'{REJECTION_TEXT}'; one account only; no lockout"
            ),
        ),
    ),
    description="phpLiteAdmin 1.9.8.2 (PHP 8.2 php-cgi under lighttpd 1.4.69)",
)

_SHARE = Path("/usr/share/phpliteadmin")
_HINT = "apt-get install phpliteadmin php-cgi lighttpd (.ci/corpus/debian-web.sh)"


def _configure(workdir: Path) -> Path:
    www = workdir / "www"
    www.mkdir()
    for name in ("phpliteadmin.php", "languages"):
        (www / name).symlink_to(_SHARE / name)
    databases = workdir / "databases"
    databases.mkdir()
    # Debian's /etc/phpliteadmin.config.php sets only the directory; the password stays the
    # built-in default.
    (www / "phpliteadmin.config.php").write_text(f"<?php\n$directory = '{databases}';\n")
    ini = workdir / "php.d"
    ini.mkdir()
    (ini / "90-corpus.ini").write_text(f"session.save_path = {workdir}\n")
    php_cgi = require("/usr/bin/php-cgi", _HINT)
    scan_dir = f"/etc/php/8.2/cgi/conf.d:{ini}"
    cfg = workdir / "lighttpd.conf"
    cfg.write_text(
        f'server.document-root = "{www}"\n'
        f'server.bind = "{ADDRESS}"\n'
        f"server.port = {PORT}\n"
        f'server.errorlog = "{workdir / "lighttpd-error.log"}"\n'
        'server.modules = ("mod_access", "mod_fastcgi")\n'
        'server.follow-symlink = "enable"\n'
        'index-file.names = ("phpliteadmin.php")\n'
        'mimetype.assign = (".css" => "text/css", ".js" => "application/javascript", '
        '".png" => "image/png")\n'
        'url.access-deny = ( "phpliteadmin.config.php" )\n'
        'fastcgi.server = ( ".php" => (( '
        f'"bin-path" => "{php_cgi}", "socket" => "{workdir / "php.socket"}", '
        '"max-procs" => 1, '
        f'"bin-environment" => ( "PHP_FCGI_CHILDREN" => "2", "PHP_INI_SCAN_DIR" => "{scan_dir}" ), '
        '"bin-copy-environment" => ( "PATH" ), '
        '"broken-scriptfilename" => "enable" )) )\n'
    )
    return cfg


def submit_login(client: httpx.Client, password: str) -> httpx.Response:
    """What the login form does: its CSRF token comes with the page."""
    page = client.get("/")
    token = re.search(r'name="token" value="([0-9a-f]+)"', page.text)
    fields = {"password": password, "login": "true", "remember": "yes"}
    return client.post(LOGIN_PATH, data={"token": token[1] if token else "", **fields})


def verify(service: ServiceTruth, login: Login) -> bool:
    with web_client.client(ADDRESS, service.port) as client:
        answer = submit_login(client, login.password)
        return answer.status_code == 302 and answer.headers["location"].endswith(LOGIN_PATH + "?")


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Running]:
    lighttpd = require("/usr/sbin/lighttpd", _HINT)
    if not (_SHARE / "phpliteadmin.php").is_file():
        raise CorpusError(f"{_SHARE / 'phpliteadmin.php'} not found: {_HINT}")
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
