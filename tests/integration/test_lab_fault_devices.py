"""Hostile lab devices (lab/personality.py HOSTILE) scanned end to end: each one proves a
scanner fix stays fixed, with the verdicts an honest scanner gives. Address block
127.0.77.0/24 (this file's own, apart from the per-worker test blocks)."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from lab.device import Lab
from lab.personality import HOSTILE, Personality, builtin_names, load_builtin
from scanner.model import Verdict
from scanner.store import Store
from tests.integration.conftest import scan_lab

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

ADDRESS = "127.0.77.10"
#: the devices added later (trickler, malformed Location, 0xff text) have their own
TRICKLER_ADDRESS = "127.0.77.30"
LOCATION_ADDRESS = "127.0.77.31"
SSH_FF_ADDRESS = "127.0.77.32"
NOT_UTF8_ADDRESS = "127.0.77.40"  # and .41


def test_hostile_devices_stay_out_of_the_demo_set():
    # The demo (and every sweep over builtin_names) scans what it scanned before.
    assert HOSTILE.isdisjoint(builtin_names())
    assert all(load_builtin(name).name == name for name in HOSTILE)


async def test_gzip_firmware_is_read_through_its_encoding(tmp_path: Path):
    # Given firmware that gzips every answer, with a plain-HTTP login form taking admin/admin
    # and a 404 page that echoes its path raw
    async with Lab([load_builtin("fault-gzip-firmware")], ADDRESS) as lab:
        (device,) = lab.devices
        (service,) = device.services
        async with httpx.AsyncClient() as client:
            # (asked for no encoding at all, it still answers gzip)
            raw = await client.get(
                f"http://{ADDRESS}:{service.port}/", headers={"Accept-Encoding": "identity"}
            )
        assert raw.headers["content-encoding"] == "gzip"
        assert 'action="/login"' in raw.text  # httpx decoded the real gzip body
        with Store(tmp_path / "s.sqlite") as store:
            # When it is scanned
            scanned = await scan_lab(lab, store)
            verdicts = {r.check_id: r for r in scanned.results()}
    # Then the scanner reads the pages through the encoding: the cleartext login, the factory
    # login and the reflection are all found
    assert verdicts["services.cleartext-admin"].verdict is Verdict.FAIL
    creds = verdicts["creds.default.http"]
    assert creds.verdict is Verdict.FAIL, creds.reason
    assert "admin/••••" in creds.reason
    xss = verdicts["web.xss.reflected"]
    assert xss.verdict is Verdict.FAIL, xss.reason
    assert "(path)" in xss.reason, xss.reason


async def test_malformed_redirects_are_evidence_not_errors(tmp_path: Path):
    # Given firmware whose every answer is a 302 to a Location no client can follow
    async with Lab([load_builtin("fault-malformed-location")], LOCATION_ADDRESS) as lab:
        with Store(tmp_path / "s.sqlite") as store:
            # When it is scanned
            scanned = await scan_lab(lab, store)
            results = list(scanned.results())
    # Then no check ends in error, and the malformed redirect is reported as what it is
    errors = [(r.check_id, r.service, r.reason) for r in results if r.verdict is Verdict.ERROR]
    assert errors == []
    cleartext = {
        r.service.port: r
        for r in results
        if r.check_id == "services.cleartext-admin" and r.service is not None
    }
    assert sorted(cleartext) == [8080, 8081, 8082]
    for port, sent, why in (
        (8080, "'http:host/'", "a scheme without '//' and a host"),
        # urljoin reads 'http://' as the device's own address: followed, the 302 read as a
        # page without a login form, and cleartext-admin passed
        (8081, "'http://'", "an HTTP URL without a host"),
        (8082, "'http://ho st/'", "a host name with characters no host name has"),
    ):
        result = cleartext[port]
        assert result.verdict is Verdict.INCONCLUSIVE, (port, result.reason)
        assert f"redirected to a malformed location {sent} ({why})" in result.reason
        # no page is behind a redirect to nowhere: reflection is not judged on an empty 302
        xss = next(
            r
            for r in results
            if r.check_id == "web.xss.reflected" and r.service and r.service.port == port
        )
        assert xss.verdict is Verdict.INCONCLUSIVE, (port, xss.reason)
        assert f"redirected to a malformed location {sent} ({why})" in xss.reason
    # nothing the device answered reads as a pass (only the open port's being allowed does)
    passed = {r.check_id for r in results if r.verdict is Verdict.PASS}
    assert passed == {"services.unexpected"}


async def test_an_ssh_ident_with_byte_ff_is_reported_not_an_error(tmp_path: Path):
    # Given an SSH port whose identification line carries the raw byte 0xff
    async with Lab([load_builtin("fault-ssh-ff-ident")], SSH_FF_ADDRESS) as lab:
        (device,) = lab.devices
        (service,) = device.services
        reader, writer = await asyncio.open_connection(SSH_FF_ADDRESS, service.port)
        line = await reader.readline()
        writer.close()
        assert b"\xff" in line  # the lab really sends that byte
        with Store(tmp_path / "s.sqlite") as store:
            # When it is scanned
            scanned = await scan_lab(lab, store)
            results = list(scanned.results())
    # Then no verdict quotes a Python exception: each says what the device did, naming its
    # ident. (The ssh.* checks end in error because this `login: none` port closes after its
    # ident without a KEXINIT, as every such lab port does; that is not the 0xff byte.)
    python = ("Error:", "Exception", "Traceback", "codec", "can't decode", "UnicodeDecode")
    quoting = [(r.check_id, r.reason) for r in results if any(p in r.reason for p in python)]
    assert quoting == []
    for r in results:
        if r.verdict is Verdict.ERROR:
            assert "never sent its key exchange offer" in r.reason, r.reason
    # what the device sent, 0xff shown as its escape (U+FFFD would hide which byte it was)
    assert any("'SSH-2.0-Dropbear\\xff_2019'" in r.reason for r in results)


async def test_logins_a_device_accepts_from_anyone_are_not_factory_logins(tmp_path: Path):
    # Given telnet, FTP and RTSP that log in any user with any password, and an SNMP agent
    # that answers any community
    async with Lab([load_builtin("fault-accept-anything")], ADDRESS) as lab:
        with Store(tmp_path / "s.sqlite") as store:
            # When it is scanned
            scanned = await scan_lab(lab, store)
            verdicts = {r.check_id: r for r in scanned.results()}
    # Then no check claims a factory login was accepted: the control login shows that
    # random logins are accepted too
    for check in ("creds.default.telnet", "creds.default.ftp", "creds.default.rtsp"):
        result = verdicts[check]
        assert result.verdict is Verdict.INCONCLUSIVE, result.reason
        assert "answered a random bogus login the same way as a successful one" in result.reason
    # ... and the agent fails for what it is, readable with any community
    snmp = verdicts["creds.default.snmp"]
    assert snmp.verdict is Verdict.FAIL, snmp.reason
    assert "answers any community string, so anyone can read it" in snmp.reason
    assert "factory login" not in snmp.reason


async def test_a_malformed_connack_is_never_an_accepted_login(tmp_path: Path):
    # Given MQTT answering every CONNECT with a CONNACK whose remaining length is malformed
    async with Lab([load_builtin("fault-malformed-connack")], ADDRESS) as lab:
        with Store(tmp_path / "s.sqlite") as store:
            # When it is scanned
            scanned = await scan_lab(lab, store)
            results = list(scanned.results())
    # Then no login is counted as accepted: the answer is not read as MQTT at all, so the
    # port is an unidentified service and no MQTT login check claims anything
    assert [r for r in results if r.check_id == "creds.default.mqtt"] == []
    cleartext = next(r for r in results if r.check_id == "services.cleartext-admin")
    assert cleartext.verdict is Verdict.INCONCLUSIVE, cleartext.reason
    assert "could not be identified" in cleartext.reason
    assert not any(r.verdict is Verdict.ERROR for r in results)


def _trickling_every(seconds: float) -> Personality:
    """fault-trickler with a shorter pause between bytes than its 2 s, so that a short test
    still sees many of them arrive."""
    trickler = load_builtin("fault-trickler")
    return replace(trickler, services=tuple(replace(s, trickle=seconds) for s in trickler.services))


def _json_report(out: Path) -> dict[str, Any]:
    """The report.json of the one run written under `out`."""
    (run_dir,) = (p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return report


async def test_a_trickling_device_is_cut_off_by_the_run_deadline_never_read_as_an_answer(
    tmp_path: Path,
):
    # Given firmware whose answer head arrives one byte every 0.5 s and never ends
    async with Lab([_trickling_every(0.5)], TRICKLER_ADDRESS) as lab:
        (device,) = lab.devices
        (service,) = device.services
        reader, writer = await asyncio.open_connection(TRICKLER_ADDRESS, service.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: device\r\n\r\n")
        got = b""
        async with asyncio.timeout(2.2):
            while len(got) < 4:  # each read gets a byte: no read timeout ever fires
                got += await reader.read(100)
        writer.close()
        assert got == b"HTTP"  # one byte each 0.5 s, not the whole head at once
        # When the command users run scans it with a --max-scan-time of 6 s
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scanner",
            "scan",
            TRICKLER_ADDRESS,
            "--ports",
            str(service.port),
            "--timeout",
            "1",
            "--max-scan-time",
            "6",
            "--format",
            "json",
            "-q",
            "--no-browser",
            "--out",
            str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        elapsed = time.monotonic() - started
    # Then the run ends at its deadline (start-up aside), the device is recorded as not
    # scanned to the end with the deadline as the reason, the exit code says a device could
    # not be scanned, and nothing the device trickled is read as a pass
    assert elapsed < 30, elapsed
    assert proc.returncode == 3, err.decode()
    assert "--max-scan-time 6 s reached: the run ends" in err.decode()
    report = _json_report(tmp_path)
    assert report["run"]["status"] == "incomplete"
    with Store(tmp_path / "shinsa.sqlite") as store:
        assert store.run(report["run"]["id"]).status == "incomplete"  # not left running
    (scanned,) = report["devices"]
    assert not scanned["finished"]
    assert scanned["unfinished_reason"] == "the run's --max-scan-time of 6 s passed first"
    assert [r["check_id"] for r in scanned["results"] if r["verdict"] == "pass"] == []


async def test_a_trickled_head_is_never_an_answer_when_the_device_deadlines_end_it(
    tmp_path: Path,
):
    # Given the same firmware, and a scan with no --max-scan-time at all
    async with Lab([_trickling_every(0.5)], TRICKLER_ADDRESS) as lab:
        with Store(tmp_path / "s.sqlite") as store:
            # When it is scanned, each read at 2 s (so each answer's head has 10 s)
            started = time.monotonic()
            scanned = await scan_lab(lab, store)
            elapsed = time.monotonic() - started
            results = scanned.results()
            failures = store.failures(scanned.run_id)
    # Then the scan ends by itself: every step's own deadline cut the trickle off, and every
    # check that needed the device's answer says it got none in time; the only pass is the
    # profile allowing the open port, which needs no answer
    assert elapsed < 300, elapsed
    assert failures == {}
    passed = [r.check_id for r in results if r.verdict is Verdict.PASS]
    assert passed == ["services.unexpected"]
    cleartext = next(r for r in results if r.check_id == "services.cleartext-admin")
    assert cleartext.verdict is Verdict.INCONCLUSIVE, cleartext.reason
    assert "no answer in time" in cleartext.reason
    creds = next(r for r in results if r.check_id == "creds.default.http")
    assert creds.verdict is Verdict.INCONCLUSIVE, creds.reason


#: CommonMark's backslash escapes, which OSCAL's markup fields and SARIF's `markdown` use
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#|!])")


def _strings(value: object, markdown: frozenset[str] = frozenset()) -> list[str]:
    """Every string in a JSON document as a reader sees it: the Markdown escapes of the
    fields named in `markdown` undone (Markdown escapes a backslash itself)."""
    if isinstance(value, dict):
        return [
            _MARKDOWN_ESCAPE.sub(r"\1", t) if k in markdown else t
            for k, v in value.items()
            for t in _strings(v, markdown)
        ]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v, markdown)]
    return [value] if isinstance(value, str) else []


def _report_texts(out: Path) -> dict[str, list[str]]:
    """The text a reader of each report file sees: its format's own encoding undone."""
    (run_dir,) = (p for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    texts: dict[str, list[str]] = {}
    for path in sorted(run_dir.iterdir()):
        raw = path.read_text(encoding="utf-8")
        if path.name.endswith(".jsonl"):
            texts[path.name] = [t for line in raw.splitlines() for t in _strings(json.loads(line))]
        elif path.name.endswith(".json"):
            markdown = {
                "report.sarif.json": frozenset({"markdown"}),
                "report.oscal.json": frozenset({"title", "description", "remarks"}),
            }.get(path.name, frozenset())
            texts[path.name] = _strings(json.loads(raw), markdown)
        elif path.name.endswith(".csv"):
            texts[path.name] = [cell for row in csv.reader(io.StringIO(raw)) for cell in row]
        elif path.name.endswith(".xml"):
            root = ET.fromstring(raw)  # noqa: S314  # our own report, just written
            texts[path.name] = [
                t for e in root.iter() for t in (e.text or "", *e.attrib.values()) if t
            ]
        elif path.name.endswith(".html"):
            texts[path.name] = [html.unescape(raw)]
    return texts


async def test_bytes_that_are_not_utf8_read_as_one_escape_in_every_report(tmp_path: Path):
    # Given an SSH ident carrying the byte 0xff and an MQTT CONNACK whose length bytes are 0xff
    ssh_ff, connack = load_builtin("fault-ssh-ff-ident"), load_builtin("fault-malformed-connack")
    async with Lab([ssh_ff, connack], NOT_UTF8_ADDRESS) as lab:
        ports = sorted({s.port for d in lab.devices for s in d.services})
        # When the command users run scans both and writes every report format
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scanner",
            "scan",
            *(d.address for d in lab.devices),
            "--ports",
            ",".join(map(str, ports)),
            "--format",
            "json,jsonl,junit,sarif,csv,csv-requirements,oscal,html,html-ja",
            "-q",
            "--no-browser",
            "--out",
            str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode in (0, 1, 3), err.decode()
    texts = _report_texts(tmp_path)
    assert len(texts) == 9, sorted(texts)
    # Then each byte reads as its escape \xff exactly once, in every format: never U+FFFD,
    # never escaped again (repr of an escape: \\xff)
    ident = "SSH-2.0-Dropbear\\xff_2019"
    for name, strings in texts.items():
        text = "\n".join(strings)
        assert "\ufffd" not in text, name
        assert "\\\\x" not in text, (name, text[text.find("\\\\x") - 80 :][:160])
        if name != "report-requirements.csv":  # requirement statuses only, no device text
            assert ident in text, name
    # the CONNACK's bytes, in the unidentified port's evidence and quoted in its result
    for name in ("report.json", "report.jsonl", "report.csv", "report.html"):
        assert "banner '\\xff\\xff\\xff\\xff\\x7f\\x00\\x00'" in "\n".join(texts[name]), name
