"""The traffic log (scanner/traffic_log.py): bounded, printable excerpts of what was sent and
received, every secret masked as *** before a handler sees it."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import pytest

from scanner import traffic_log
from scanner.traffic_log import SecretMask, escaped

if TYPE_CHECKING:
    from collections.abc import Iterator

ADDR = "127.0.10.9"


@pytest.fixture
def log() -> Iterator[tuple[io.StringIO, SecretMask]]:
    """The debug log with a mask: published list words `1234` and `public`, the site's
    own `Fleet-Pw-9931`."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    mask = SecretMask({"1234", "public", "admin"}, site={"Fleet-Pw-9931"})
    handler.addFilter(mask)
    logger = logging.getLogger("shinsa")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    traffic_log.install(mask)
    try:
        yield out, mask
    finally:
        traffic_log.uninstall(mask)
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_an_excerpt_is_printable_and_bounded():
    assert escaped(b"a\\b\r\n\t\x00\xff") == "a\\\\b\\r\\n\\t\\x00\\xff"
    assert escaped(b"x" * 300, 4) == "xxxx… (+296 bytes)"


def test_every_list_password_sent_is_masked_however_short(log: tuple[io.StringIO, SecretMask]):
    out, _ = log
    traffic_log.sent("tcp", ADDR, 23, b"1234\r\n")
    traffic_log.sent("tcp", ADDR, 21, b"PASS 1234\r\n")
    traffic_log.sent("tcp", ADDR, 80, b"port=12345")  # a longer number is not the password
    # an SNMP GetRequest with the community `public` inside the BER bytes
    traffic_log.sent("udp", ADDR, 161, b"0\x26\x02\x01\x01\x04\x06public\xa0\x19")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(": ***\\r\\n")
    assert lines[1].endswith(": PASS ***\\r\\n")
    assert lines[2].endswith(": port=12345")
    assert "\\x04\\x06***\\xa0" in lines[3]
    assert "public" not in out.getvalue()


def test_what_a_device_sends_is_masked_as_the_store_masks_it(
    log: tuple[io.StringIO, SecretMask],
):
    out, _ = log
    # the site's password, echoed in any case and cut; a published word left as text
    traffic_log.received("tcp", ADDR, 23, b"Welcome FLEET-PW-9931 / fleet-pw-99\r\nadmin> ")
    traffic_log.received("tcp", ADDR, 80, b"Location: http://x/home?pw=secret1&user=admin")
    text = out.getvalue()
    assert "fleet" not in text.lower()
    assert "secret1" not in text  # URL values never show
    assert "admin> " in text  # a prompt is not masked for being a published password


def test_a_user_name_is_shown_and_a_request_line_masked(log: tuple[io.StringIO, SecretMask]):
    out, _ = log
    traffic_log.opened("ssh", ADDR, 22, "login admin", ours=False)
    traffic_log.opened("http", ADDR, 80, "GET /cgi?pwd=Fleet-Pw-9931&x=1234")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("ssh 127.0.10.9:22 login admin")
    assert "Fleet" not in lines[1]
    assert "1234" not in lines[1]


def test_nothing_is_formatted_below_the_level():
    logger = logging.getLogger("shinsa")
    logger.setLevel(logging.INFO)
    try:
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        logger.addHandler(handler)
        traffic_log.sent("tcp", ADDR, 23, b"bytes")
        traffic_log.opened("tcp", ADDR, 23, "connected")
        logger.removeHandler(handler)
    finally:
        logger.setLevel(logging.NOTSET)
    assert out.getvalue() == "tcp 127.0.10.9:23 connected\n"
