"""A device that trickles its answer never holds a scan (issue 11 #6).

Each read has a timeout, so a device that sends one byte just inside it keeps a read going
for hours: the answer's head, a page's body, each port's fingerprint and each device's work
have whole deadlines, and the run has `--max-scan-time`. Servers on 127.0.75.60-69.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from probes.registry import REGISTRY, all_checks
from scanner import engine
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, scan
from scanner.facts import Facts
from scanner.fingerprint.services import Timing, fingerprint
from scanner.http_decoding import read_body
from scanner.judging.profiles import load_profile
from scanner.model import Service, Target
from scanner.net import Limits, Network
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

TRICKLER = "127.0.75.60"
SLOW_BODY = "127.0.75.61"
PORT = 8080


async def _trickle_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An HTTP answer whose head never ends: one header byte every 0.2 s, for 10 minutes."""
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(reader.read(4096), 5)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(3000):
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(0.2)
    writer.close()


async def _trickle_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A whole head, then a body of one byte every 0.2 s."""
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(reader.read(4096), 5)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        )
        writer.write(b"<html><title>slow</title>")
        for _ in range(3000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)
    writer.close()


@contextlib.asynccontextmanager
async def serving(address: str, handler: Any) -> AsyncIterator[None]:
    """`handler` on address:PORT; its connections are cancelled and closed on the way out
    (a trickler is still trickling when the test is done with it)."""
    tasks: set[asyncio.Task[None]] = set()
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.append(writer)
        with contextlib.suppress(asyncio.CancelledError):
            await handler(reader, writer)

    server = await asyncio.start_server(tracked, address, PORT)
    try:
        yield
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:
            writer.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


LIMITS = Limits(connect_timeout=0.5, read_timeout=0.5)  # head deadline 0.5 + 4 × 0.5 = 2.5 s


async def test_an_answer_head_trickled_in_is_a_read_timeout_at_its_whole_deadline():
    async with serving(TRICKLER, _trickle_head):
        dev = Network(Scope.of([TRICKLER]), LIMITS).device(TRICKLER)
        started = time.monotonic()
        async with dev.http(Service("tcp", PORT, protocol="http")) as client:
            with pytest.raises(httpx.ReadTimeout, match=r"did not arrive whole within 2\.5 s"):
                await client.get("/")
        assert 2.4 < time.monotonic() - started < 5


async def test_a_body_trickled_in_is_incomplete_at_its_deadline_never_whole():
    async with serving(SLOW_BODY, _trickle_body):
        dev = Network(Scope.of([SLOW_BODY]), LIMITS).device(SLOW_BODY)
        async with dev.http(Service("tcp", PORT, protocol="http")) as client:
            request = client.build_request("GET", "/")
            response = await client.send(request, stream=True)
            try:
                started = time.monotonic()
                body = await read_body(response, 64 * 1024, deadline=1.5)
            finally:
                await response.aclose()
        assert 1.4 < time.monotonic() - started < 3
        assert not body.whole
        assert body.incomplete.startswith("the page trickled in too slowly (")
        assert body.data.startswith(b"<html><title>slow</title>x")


async def test_fingerprinting_a_trickling_port_ends_at_the_port_deadline():
    async with serving(TRICKLER, _trickle_head):
        dev = Network(Scope.of([TRICKLER]), Limits(connect_timeout=0.5, read_timeout=1.5)).device(
            TRICKLER
        )
        timing = Timing(port_deadline=4.0, pages_deadline=4.0)
        started = time.monotonic()
        (service,) = await fingerprint(dev, [PORT], [], Facts(), timing=timing)
        assert time.monotonic() - started < 10
        assert service.port == PORT
        # Whatever it was named, the reason it is not fully known is written on it.
        assert service.note, service


async def test_a_device_past_its_deadline_is_recorded_and_the_run_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async def stuck(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(3600)  # a fingerprint that would never end
        raise AssertionError("unreachable")

    monkeypatch.setattr(engine, "fingerprint", stuck)
    monkeypatch.setattr(engine, "identify_deadline", lambda ports, per_device: 1.0)
    async with serving(TRICKLER, _trickle_head):
        request = ScanRequest(
            targets=(Target(TRICKLER),),
            scope=Scope.of([TRICKLER]),
            ports=PortSet(tcp=(PORT,)),
            profile=load_profile("base", all_checks()),
            registry=REGISTRY,
            limits=LIMITS,
        )
        with Store(tmp_path / "s.sqlite") as store:
            store.start_run(
                "r",
                profile_id="base",
                profile_digest="x",
                scanner_version="t",
                request={},
                targets=[(TRICKLER, "")],
            )
            async with asyncio.timeout(30):
                await scan(request, store, "r", Reporter())
            assert store.failures("r") == {
                TRICKLER: "fingerprinting did not finish within its deadline of 1 s"
            }


def test_max_scan_time_ends_the_run_and_records_what_did_not_finish(tmp_path: Path):
    """Through the command users run: the trickler would take minutes, the run takes 3 s."""

    async def main() -> subprocess.CompletedProcess[str]:
        async with serving(TRICKLER, _trickle_head):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scanner",
                "scan",
                TRICKLER,
                "--ports",
                str(PORT),
                "--timeout",
                "1.5",
                "--max-scan-time",
                "3",
                "--format",
                "json",
                "-q",
                "--no-browser",
                "--out",
                str(tmp_path),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            return subprocess.CompletedProcess([], proc.returncode or 0, out.decode(), err.decode())

    started = time.monotonic()
    done = asyncio.run(main())
    assert time.monotonic() - started < 30
    assert done.returncode == 3, done.stderr
    assert "--max-scan-time 3 s reached" in done.stderr
    (run_dir,) = (p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    report = json.loads((run_dir / "report.json").read_text())
    assert report["run"]["status"] == "incomplete"
    (device,) = report["devices"]
    assert not device["finished"]
    assert device["unfinished_reason"] == "the run's --max-scan-time of 3 s passed first"
    assert not [r for r in device["results"] if r["verdict"] == "pass"]
