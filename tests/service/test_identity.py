"""Device identity across runs (scanner/service/identity.py through the importer).

The per-run stores are written through scanner.store.Store with exactly the services and
certificate evidence the engine writes (tests/service/store_runs.py), so that a test
chooses which certificate or UPnP UDN each address shows. The SSH host key is followed
through real scans: a lab SSH device started again at another address with the same host
keys (the first lab's `TlsContexts`), as a device that DHCP moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lab.personality import load_builtin
from lab.servers.tls import TlsContexts
from scanner.model import Service
from scanner.service import identity, views
from scanner.service import schema as t
from scanner.service.importer import import_run
from scanner.store import Store
from tests.service.store_runs import Seen, running, scan, write_run

if TYPE_CHECKING:
    from pathlib import Path

CERT_A = "a1" * 32
CERT_B = "b2" * 32
SHARED = "5e" * 32
UDN = "uuid:2f0c8a4e-1b7d-5d7e-9d43-6a0f7c1e3b21"
T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
#: the store tests' block (127.0.90.x): the SSH gateway before and after it moved
SSH_FIRST, SSH_MOVED = "127.0.90.20", "127.0.90.21"


def _import(
    engine: sa.Engine,
    tmp: Path,
    run_id: str,
    devices: list[Seen],
    day: int = 0,
    site: str = "default",
) -> dict[str, int]:
    store = tmp / f"{run_id}.sqlite"
    write_run(store, run_id, devices, started=T0 + timedelta(days=day))
    return import_run(engine, store, run_id, site=site).devices


def _summary(engine: sa.Engine, run_id: str, address: str) -> dict[str, object]:
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(t.run_devices.c.summary).where(
                t.run_devices.c.run_id == run_id, t.run_devices.c.address == address
            )
        ).scalar_one()
    assert isinstance(value, dict)
    return value


def _device(engine: sa.Engine, device_id: int) -> sa.Row[tuple[object, ...]]:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).one()


def test_a_device_that_moved_keeps_its_id(any_engine: sa.Engine, tmp_path: Path) -> None:
    first = _import(
        any_engine, tmp_path, "r1", [Seen("10.0.0.20", cert=CERT_A), Seen("10.0.0.30", udn=UDN)]
    )
    # DHCP: the camera is now at .21, the UPnP device at .31, and a device without any
    # strong key answers at the camera's old address
    second = _import(
        any_engine,
        tmp_path,
        "r2",
        [Seen("10.0.0.20"), Seen("10.0.0.21", cert=CERT_A), Seen("10.0.0.31", udn=UDN)],
        day=1,
    )
    assert second["10.0.0.21"] == first["10.0.0.20"]
    assert second["10.0.0.31"] == first["10.0.0.30"]
    assert second["10.0.0.20"] not in first.values()  # a new device, not the camera
    moved = _device(any_engine, first["10.0.0.20"])
    assert moved.address == "10.0.0.21"
    assert moved.last_run_id == "r2"
    assert moved.first_seen.replace(tzinfo=UTC) == T0
    assert moved.last_seen.replace(tzinfo=UTC) == T0 + timedelta(days=1)
    assert _summary(any_engine, "r2", "10.0.0.21")["new_device"] is False
    assert _summary(any_engine, "r2", "10.0.0.20")["new_device"] is True
    assert "identity_changed_from" not in _summary(any_engine, "r2", "10.0.0.20")


def test_devices_sharing_one_certificate_are_not_merged(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    # one device alone with the product line's certificate ...
    first = _import(any_engine, tmp_path, "r1", [Seen("10.0.1.40", cert=SHARED)])
    # ... then two others with the same one, at other addresses: it names none of them
    second = _import(
        any_engine,
        tmp_path,
        "r2",
        [Seen("10.0.1.41", cert=SHARED), Seen("10.0.1.42", cert=SHARED)],
        day=1,
    )
    ids = {first["10.0.1.40"], second["10.0.1.41"], second["10.0.1.42"]}
    assert len(ids) == 3
    # the next run finds each at its address, still apart
    third = _import(
        any_engine,
        tmp_path,
        "r3",
        [Seen("10.0.1.41", cert=SHARED), Seen("10.0.1.42", cert=SHARED)],
        day=2,
    )
    assert third == second
    with any_engine.connect() as conn:
        owners = conn.execute(
            sa.select(t.identity_keys.c.device_id).where(t.identity_keys.c.value == SHARED)
        ).all()
    # only the run where it was one address's recorded it, for that device
    assert [o.device_id for o in owners] == [first["10.0.1.40"]]


def test_another_device_at_a_known_address_is_new_and_recorded(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    first = _import(any_engine, tmp_path, "r1", [Seen("10.0.2.50", cert=CERT_A, udn=UDN)])
    second = _import(
        any_engine,
        tmp_path,
        "r2",
        [Seen("10.0.2.50", cert=CERT_B, udn=UDN.replace("2f", "3e"))],
        day=1,
    )
    old, new = first["10.0.2.50"], second["10.0.2.50"]
    assert new != old
    summary = _summary(any_engine, "r2", "10.0.2.50")
    assert summary["identity_changed_from"] == old
    assert summary["new_device"] is True
    assert summary["identity"] == {"tls-cert": CERT_B, "upnp-udn": UDN.replace("2f", "3e")}
    # importing that run again records the same change, not "same device"
    store = tmp_path / "r2.sqlite"
    again = import_run(any_engine, store, "r2")
    assert again.devices == second
    assert _summary(any_engine, "r2", "10.0.2.50")["identity_changed_from"] == old


def test_one_key_kept_is_the_same_device_at_its_address(engine: sa.Engine, tmp_path: Path) -> None:
    first = _import(engine, tmp_path, "r1", [Seen("10.0.3.60", cert=CERT_A, udn=UDN)])
    # a new certificate (renewed) but the same UDN: the same device
    second = _import(engine, tmp_path, "r2", [Seen("10.0.3.60", cert=CERT_B, udn=UDN)], day=1)
    assert second == first
    # HTTPS closed, UPnP silent: nothing says it is another device
    third = _import(engine, tmp_path, "r3", [Seen("10.0.3.60")], day=2)
    assert third == first
    assert "identity_changed_from" not in _summary(engine, "r3", "10.0.3.60")
    # the renewed certificate now names it too
    with engine.connect() as conn:
        keys = conn.execute(
            sa.select(t.identity_keys.c.kind, t.identity_keys.c.value).where(
                t.identity_keys.c.device_id == first["10.0.3.60"]
            )
        ).all()
    assert {tuple(k) for k in keys} == {
        ("tls-cert", CERT_A),
        ("tls-cert", CERT_B),
        ("upnp-udn", UDN),
    }


def test_sites_do_not_share_devices(engine: sa.Engine, tmp_path: Path) -> None:
    one = _import(engine, tmp_path, "r1", [Seen("10.0.4.1", cert=CERT_A)], site="north")
    two = _import(engine, tmp_path, "r2", [Seen("10.0.4.2", cert=CERT_A)], site="south")
    assert one["10.0.4.1"] != two["10.0.4.2"]


def test_an_older_run_imported_late_does_not_move_the_device_back(
    engine: sa.Engine, tmp_path: Path
) -> None:
    newer = _import(engine, tmp_path, "r2", [Seen("10.0.5.2", cert=CERT_A)], day=5)
    older = _import(engine, tmp_path, "r1", [Seen("10.0.5.1", cert=CERT_A)], day=1)
    assert older["10.0.5.1"] == newer["10.0.5.2"]
    row = _device(engine, newer["10.0.5.2"])
    assert (row.address, row.last_run_id) == ("10.0.5.2", "r2")
    assert row.first_seen.replace(tzinfo=UTC) == T0 + timedelta(days=1)
    assert row.last_seen.replace(tzinfo=UTC) == T0 + timedelta(days=5)


def test_signals_read_from_stored_services() -> None:
    ssdp = Service(
        "udp",
        1900,
        protocol="ssdp",
        banner=f"SERVER: Linux/4.14 UPnP/1.0 Globex/2.3; ST: upnp:rootdevice; "
        f"USN: {UDN.upper().replace('UUID', 'uuid')}::upnp:rootdevice",
    )
    snmp = Service("udp", 161, protocol="snmp", banner="Globex HR-1 Linux 4.14")
    enip = Service(
        "udp",
        44818,
        protocol="enip",
        banner="1756-L71/B LOGIX5571, vendor 1, device type 14, revision 20.11",
    )
    got = identity.signals("10.0.6.1", [ssdp, snmp, enip], [])
    assert got.strong == frozenset({("upnp-udn", UDN)})  # the UDN, not the USN's suffix
    assert got.weak == {
        "snmp-sysdescr": "Globex HR-1 Linux 4.14",
        "enip-identity": "1756-L71/B LOGIX5571, vendor 1, device type 14, revision 20.11",
    }
    # EtherNet/IP's identity is the most specific source of model and firmware
    assert (got.model, got.firmware, got.vendor) == (
        "1756-L71/B LOGIX5571",
        "20.11",
        "EtherNet/IP vendor 1",
    )
    only_upnp = identity.signals("10.0.6.1", [ssdp], [])
    assert (only_upnp.model, only_upnp.firmware) == ("Globex", "2.3")
    # an SNMP error summary is not a sysDescr
    error = Service("udp", 161, protocol="snmp", banner="SNMP v2c error-status 2")
    assert identity.signals("10.0.6.1", [error], []).weak == {}


def _host_key(store: Path, run_id: str, address: str) -> str:
    with Store(store, create=False) as s:
        rows = s.identity(run_id).get(address, [])
    (key,) = [r.value for r in rows if r.kind == "ssh_hostkey"]
    return key


def test_a_lab_ssh_device_that_moved_is_found_by_its_host_key(
    engine: sa.Engine, tmp_path: Path
) -> None:
    gateway = load_builtin("modern-ssh-gateway")  # SSH only: no certificate, no UDN
    assert {s.protocol for s in gateway.services} == {"ssh"}
    keys = TlsContexts()  # the device's host keys, kept across its restart
    out = tmp_path / "out"
    only = ("--checks", "ssh.kex")  # identity is read whatever the checks
    with running([gateway], SSH_FIRST, keys) as lab:
        r1 = scan(lab, out, *only)
    with running([gateway], SSH_MOVED, keys) as lab:
        r2 = scan(lab, out, *only)
    with running([gateway], SSH_FIRST) as lab:  # another device, its own host keys
        r3 = scan(lab, out, *only)
    store = out / "shinsa.sqlite"
    key = _host_key(store, r1, SSH_FIRST)
    assert key.startswith("SHA256:")
    assert _host_key(store, r2, SSH_MOVED) == key
    assert _host_key(store, r3, SSH_FIRST) != key

    first = import_run(engine, store, r1).devices
    second = import_run(engine, store, r2).devices
    assert second[SSH_MOVED] == first[SSH_FIRST]  # followed by its host key alone
    moved = _device(engine, first[SSH_FIRST])
    assert (moved.address, moved.last_run_id) == (SSH_MOVED, r2)
    summary = _summary(engine, r2, SSH_MOVED)
    assert summary["new_device"] is False
    assert isinstance(summary["identity"], dict)
    assert summary["identity"]["ssh-hostkey"] == key
    with engine.connect() as conn:
        owner = conn.execute(
            sa.select(t.identity_keys.c.device_id).where(
                t.identity_keys.c.kind == "ssh-hostkey", t.identity_keys.c.value == key
            )
        ).scalar_one()
    assert owner == first[SSH_FIRST]

    # a device with other host keys at the first address is not the moved one
    third = import_run(engine, store, r3).devices
    assert third[SSH_FIRST] != first[SSH_FIRST]
    assert _summary(engine, r3, SSH_FIRST)["new_device"] is True


def test_what_a_device_said_fills_the_inventory_and_its_page(
    engine: sa.Engine, tmp_path: Path
) -> None:
    # the lab's PLC servers do not answer Read Device Identification, so the store is
    # written by hand with the rows the engine writes for a Modbus PLC that does
    store = tmp_path / "r1.sqlite"
    address = "10.0.7.70"
    write_run(store, "r1", [Seen(address, sys_descr="Modicon M340")], started=T0)
    with Store(store) as s:
        s.put_identity(
            "r1",
            address,
            [
                ("modbus", "modbus", "Schneider Electric BMX P34 2020 v3.1"),
                ("modbus", "vendor", "Schneider Electric"),
                ("modbus", "model", "BMX P34 2020"),
                ("modbus", "firmware", "v3.1"),
                ("snmp", "snmp_sysname", "plc-line-4"),
                ("snmp", "vendor", "Cisco"),  # a less specific source: not the vendor
            ],
        )
    device_id = import_run(engine, store, "r1").devices[address]
    (row,) = [r for r in views.inventory(engine) if r.id == device_id]
    assert (row.vendor, row.model, row.firmware) == (
        "Schneider Electric",
        "BMX P34 2020",
        "v3.1",
    )
    page = views.device(engine, device_id)
    assert page is not None
    assert page.device.identity == {
        "snmp-sysdescr": "Modicon M340",
        "modbus-identity": "Schneider Electric BMX P34 2020 v3.1",
        "snmp-sysname": "plc-line-4",
    }
