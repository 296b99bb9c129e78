"""Compressed pages through real lighttpd (Debian), issue 11 #1: a CGI that answers every
request gzip-encoded, the way ESP-class firmware serves `index.html.gz`, with lighttpd's
own framing (chunked transfer of the CGI's output). The page shows a login form over plain
HTTP and a GET search form that echoes its query raw; the whole scan must read them.

Ground truth: curl, with and without `--compressed`. This suite owns 127.0.77.90-99.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from scanner.model import Verdict
from tests.interop import web_daemons
from tests.interop.scanning import scan_daemon
from tests.interop.tls_daemons import DaemonFailed, MissingBinary

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.interop

ADDRESS = "127.0.77.90"

#: The CGI (python3, as the device's firmware would be C): the page, gzip-encoded whatever
#: the request's Accept-Encoding says.
GZIP_CGI = """\
import gzip, html, os, sys, urllib.parse
q = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", "")).get("q", [""])[0]
page = (
    "<html><head><title>ESP Cam</title></head><body>"
    "<form method='get' action='/cgi-bin/page.py'><input name='q' value='cam'></form>"
    "<form method='post' action='/cgi-bin/login.py'><input name='user'>"
    "<input type='password' name='pw'></form>"
    "<p>Results for " + q + "</p></body></html>"
)
sys.stdout.buffer.write(
    b"Content-Type: text/html\\r\\nContent-Encoding: gzip\\r\\n\\r\\n"
    + gzip.compress(page.encode())
)
"""


def _curl(*args: str) -> bytes:
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is missing (Debian package curl)")
    done = subprocess.run([curl, "-s", *args], capture_output=True, timeout=20, check=True)
    return done.stdout


async def test_gzip_pages_from_lighttpd_are_read_by_the_whole_scan(tmp_path: Path) -> None:
    config = (
        'cgi.assign += (".py" => "/usr/bin/python3")\n'
        'url.redirect = ("^/$" => "/cgi-bin/page.py")\n'
    )
    try:
        site = web_daemons.lighttpd(
            "gzip-device",
            ADDRESS,
            tmp_path,
            pages={"cgi-bin/page.py": GZIP_CGI},
            config=config,
        )
        with site as server:
            url = f"http://{ADDRESS}:{server.port}/cgi-bin/page.py"
            raw = await asyncio.to_thread(_curl, url)
            assert raw[:2] == b"\x1f\x8b"  # gzip on the wire though curl asked for nothing
            shown = await asyncio.to_thread(_curl, "--compressed", url + "?q=%3Cb%3E")
            assert b"type='password'" in shown
            assert b"Results for <b>" in shown
            results = await scan_daemon(
                tmp_path,
                address=ADDRESS,
                label="gzip-device",
                profile_yaml="extends: base\nprofile: interop-gzip\n",
                tcp=[server.port],
            )
    except (MissingBinary, DaemonFailed) as exc:
        pytest.fail(str(exc))
    by_check = {r.check_id: r for r in results}
    cleartext = by_check["services.cleartext-admin"]
    assert cleartext.verdict is Verdict.FAIL, cleartext.reason
    assert "serves a login form" in cleartext.reason
    xss = by_check["web.xss.reflected"]
    assert xss.verdict is Verdict.FAIL, xss.reason
    assert "?q" in xss.reason
    transport = by_check["web.login.cleartext"]
    assert transport.verdict is Verdict.FAIL, transport.reason
