"""Runs for the store engineer's tests (import, identity, retention): real scans of lab
devices on 127.0.90.x with `shinsa scan`, and per-run stores written through
`scanner.store.Store` where a test must choose exactly what a device said (a certificate
two devices share, a host that changed).

The lab runs in a thread of its own, so that `shinsa scan` runs in the test's thread as a
user runs it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lab.device import Lab
from lab.personality import load_builtin
from scanner.cli.app import main
from scanner.model import Evidence, Result, Service, Verdict
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from lab.personality import Personality
    from lab.servers.tls import TlsContexts

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def camera() -> Personality:
    """weak-camera cut to what a quick scan needs: HTTP, SNMP (sysDescr), SSDP (UDN)."""
    full = load_builtin("weak-camera")
    keep = tuple(s for s in full.services if s.port in (80, 161, 1900))
    return dataclasses.replace(full, services=keep)


def gateway() -> Personality:
    """tls-modern-gateway: one HTTPS service with a lab-CA certificate."""
    full = load_builtin("tls-modern-gateway")
    return dataclasses.replace(full, services=tuple(s for s in full.services if s.port == 8443))


@contextlib.contextmanager
def running(
    personalities: Sequence[Personality], first: str, tls: TlsContexts | None = None
) -> Iterator[Lab]:
    """The lab in a thread of its own; `tls`: another lab's keys and certificates, so that
    its devices come back at other addresses as themselves."""
    lab = Lab(personalities, first, tls)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()
    failed: list[BaseException] = []

    async def serve() -> None:
        try:
            async with lab:
                started.set()
                await stop.wait()
        except BaseException as exc:
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert started.wait(START_TIMEOUT), "the lab did not start in time"
        if failed:
            raise failed[0]
        yield lab
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT)
        assert not thread.is_alive(), "the lab did not stop in time"
        loop.close()


def ports(lab: Lab) -> str:
    tcp = sorted({s.port for d in lab.devices for s in d.services if s.transport == "tcp"})
    udp = sorted({s.port for d in lab.devices for s in d.services if s.transport == "udp"})
    spec = "T:" + ",".join(map(str, tcp))
    return spec + (",U:" + ",".join(map(str, udp)) if udp else "")


def scan(lab: Lab, out: Path, *extra: str) -> str:
    """`shinsa scan` of every lab device into `out` (with the options `extra`); the new
    run's ID."""
    before = {p.name for p in out.iterdir()} if out.exists() else set()
    code = main(
        [
            "scan",
            *(d.address for d in lab.devices),
            "--ports",
            ports(lab),
            "--out",
            str(out),
            "--profile",
            "base",
            "--no-browser",
            "-q",
            *extra,
        ]
    )
    assert code in (0, 1), code  # 1: the scan found failures, as a weak camera has
    (run_id,) = sorted(
        p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink() and p.name not in before
    )
    return run_id


@dataclasses.dataclass(frozen=True, slots=True)
class Seen:
    """What one address answered, for a store written by hand."""

    address: str
    cert: str = ""  # a TLS certificate's SHA-256 (hex), on tcp/443
    udn: str = ""  # a UPnP UDN ("uuid:..."), on udp/1900
    sys_descr: str = ""  # an SNMP sysDescr, on udp/161


def write_run(
    store_path: Path, run_id: str, devices: Sequence[Seen], started: datetime | None = None
) -> str:
    """A finished run of `devices` in the per-run store at `store_path`, as the engine
    writes one (services, a certificate check's evidence), started at `started`."""
    with Store(store_path) as store:
        store.start_run(
            run_id,
            profile_id="base",
            profile_digest="test",
            scanner_version="test",
            request={"profile": "base"},
            targets=[(d.address, "") for d in devices],
        )
        for d in devices:
            services: list[Service] = []
            if d.cert:
                services.append(Service("tcp", 443, protocol="https", tls=True))
            if d.udn:
                banner = f"SERVER: Linux/5.10 UPnP/1.0 Cam/2.1; ST: upnp:rootdevice; USN: {d.udn}"
                services.append(Service("udp", 1900, protocol="ssdp", banner=banner))
            if d.sys_descr:
                services.append(Service("udp", 161, protocol="snmp", banner=d.sys_descr))
            store.put_services(run_id, d.address, services)
            if d.cert:
                evidence = Evidence(
                    "tls_certificate",
                    "CN=cam issued by CN=cam",
                    {"subject": "CN=cam,O=Initech", "sha256": d.cert, "days_left": 300},
                )
                store.add_result(
                    run_id,
                    Result(
                        "tls.cert.validity",
                        d.address,
                        services[0],
                        Verdict.PASS,
                        "valid",
                        evidence=(evidence,),
                    ),
                )
            store.target_done(run_id, d.address)
        store.finish_run(run_id)
    if started is not None:
        # the store stamps the clock; a test of retention or ordering sets the start
        with contextlib.closing(sqlite3.connect(store_path)) as db, db:
            db.execute(
                "UPDATE runs SET started = ? WHERE id = ?",
                (started.astimezone(UTC).isoformat(), run_id),
            )
    return run_id
