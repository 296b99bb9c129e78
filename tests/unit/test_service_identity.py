"""Device identity in the service from what the per-run store keeps (scanner/service/
identity.py): the SSH host key fingerprint as a strong key, the stored weak signals, and
vendor/model/firmware from the most specific source. Matching runs on an embedded SQLite
database made from the schema (no per-run store, no scan)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from scanner.model import Evidence, Result, Service, Verdict
from scanner.service import identity, schema
from scanner.service import schema as t
from scanner.service.db import open_db
from scanner.store import IdentityRow

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import sqlalchemy as sa

KEY = "SHA256:kH0w+oUWf9n2UbuOQr0BASarAjYhggTRiAYB8/bGewE"
OTHER_KEY = "SHA256:Xq5bR0n9+Tq2p1Ykq6GfPpw0Jm2J7m6Tg3V0W3mEo1c"
SEEN = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
SITE = "default"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = open_db(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    schema.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _known(conn: sa.Connection, address: str, keys: set[tuple[str, str]]) -> int:
    """A device the service already knows at `address`, holding `keys`."""
    row = conn.execute(
        t.devices.insert().values(site=SITE, address=address, first_seen=SEEN, last_seen=SEEN)
    ).inserted_primary_key
    assert row is not None
    device_id = int(row[0])
    identity.remember(conn, SITE, device_id, keys, SEEN)
    return device_id


def _ssh(address: str, fingerprint: str = KEY) -> identity.Signals:
    return identity.signals(address, [], [], [IdentityRow("ssh", "ssh_hostkey", fingerprint)])


def test_the_ssh_host_key_is_a_strong_key_and_only_in_openssh_form() -> None:
    got = _ssh("10.9.0.1")
    assert got.strong == frozenset({("ssh-hostkey", KEY)})
    assert got.summary() == {"ssh-hostkey": KEY}
    for wrong in ("SHA256:short", "MD5:aa:bb", KEY + "=", KEY.lower().replace("sha256", "x")):
        assert identity.signals("10.9.0.1", [], [], [IdentityRow("ssh", "ssh_hostkey", wrong)]) == (
            identity.Signals("10.9.0.1", frozenset(), {})
        )


def test_a_device_that_moved_is_found_by_its_ssh_host_key(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        moved = _known(conn, "10.9.1.20", {("ssh-hostkey", KEY)})
        # the SSH device is now at .21; something without SSH answers at its old address
        found = [_ssh("10.9.1.21"), identity.signals("10.9.1.20", [], [])]
        got = identity.resolve(conn, SITE, found)
    assert got["10.9.1.21"] == identity.Match(moved, "key")
    assert got["10.9.1.20"] == identity.Match(None, "new")  # the moved device is claimed


def test_a_host_key_shared_by_two_addresses_of_a_run_names_no_device(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        first = _known(conn, "10.9.2.40", {("ssh-hostkey", KEY)})
        # two devices of one product line, one firmware image, one host key
        found = [_ssh("10.9.2.41"), _ssh("10.9.2.42")]
        assert identity.shared_keys(found) == {("ssh-hostkey", KEY)}
        assert identity.usable_keys(found[0], identity.shared_keys(found)) == frozenset()
        got = identity.resolve(conn, SITE, found)
    assert got == {
        "10.9.2.41": identity.Match(None, "new"),
        "10.9.2.42": identity.Match(None, "new"),
    }
    assert first not in {m.device_id for m in got.values()}


def test_another_host_key_at_a_known_address_is_another_device(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        old = _known(conn, "10.9.3.50", {("ssh-hostkey", KEY)})
        got = identity.resolve(conn, SITE, [_ssh("10.9.3.50", OTHER_KEY)])
        same = identity.resolve(conn, SITE, [_ssh("10.9.3.50")])
    assert got["10.9.3.50"] == identity.Match(None, "new", changed_from=old)
    assert same["10.9.3.50"] == identity.Match(old, "key")


def test_stored_weak_signals_are_summarised_never_matched(engine: sa.Engine) -> None:
    rows = [
        IdentityRow("snmp", "snmp_sysname", "core-sw-3F"),
        IdentityRow("snmp", "snmp_oid", "1.3.6.1.4.1.9.1.516"),
        IdentityRow("modbus", "modbus", "Schneider Electric BMX P34 2020 v3.1"),
        IdentityRow("ssdp", "upnp", "manufacturer: NETGEAR, Inc. modelName: R7000"),
        IdentityRow("bacnet", "bacnet", "Honeywell Spyder"),
        IdentityRow("s7", "s7", "module: CPU 315-2 PN/DP"),
        IdentityRow("https", "favicon", "mmh3:1 md5:aa"),  # a credential-list hint only
    ]
    got = identity.signals("10.9.4.1", [], [], rows)
    assert got.strong == frozenset()
    assert got.summary() == {
        "snmp-sysname": "core-sw-3F",
        "snmp-sysobjectid": "1.3.6.1.4.1.9.1.516",
        "modbus-identity": "Schneider Electric BMX P34 2020 v3.1",
        "upnp-description": "manufacturer: NETGEAR, Inc. modelName: R7000",
        "bacnet-identity": "Honeywell Spyder",
        "s7-identity": "module: CPU 315-2 PN/DP",
    }
    with engine.begin() as conn:
        # a device elsewhere with the same sysName is not this one: weak signals never match
        _known(conn, "10.9.4.2", set())
        assert identity.resolve(conn, SITE, [got]) == {"10.9.4.1": identity.Match(None, "new")}


def _cert_result(address: str) -> Result:
    evidence = Evidence(
        "tls_certificate", "x", {"subject": "CN=plc,O=Initech", "sha256": "ab" * 32}
    )
    return Result(
        "tls.cert.validity",
        address,
        Service("tcp", 443, "https", tls=True),
        Verdict.PASS,
        "valid",
        evidence=(evidence,),
    )


def test_inventory_takes_the_most_specific_source() -> None:
    ssdp = Service(
        "udp", 1900, "ssdp", banner="SERVER: Linux/4.14 UPnP/1.0 Globex/2.3; USN: uuid:x-1"
    )
    upnp = [
        IdentityRow("ssdp", "vendor", "NETGEAR, Inc."),
        IdentityRow("ssdp", "model", "Nighthawk R7000"),
    ]
    snmp = [IdentityRow("snmp", "vendor", "Cisco")]
    modbus = [
        IdentityRow("modbus", "vendor", "Schneider Electric"),
        IdentityRow("modbus", "model", "BMX P34 2020"),
        IdentityRow("modbus", "firmware", "v3.1"),
    ]
    cert = [_cert_result("10.9.5.1")]
    # only the certificate and the SERVER header: what they say
    base = identity.signals("10.9.5.1", [ssdp], cert)
    assert (base.vendor, base.model, base.firmware) == ("Initech", "Globex", "2.3")
    # the SNMP enterprise names the maker better than a certificate's O=
    assert identity.signals("10.9.5.1", [ssdp], cert, snmp).vendor == "Cisco"
    # the UPnP description better than both, and better than the SERVER header's product
    described = identity.signals("10.9.5.1", [ssdp], cert, [*snmp, *upnp])
    assert (described.vendor, described.model, described.firmware) == (
        "NETGEAR, Inc.",
        "Nighthawk R7000",
        "2.3",
    )
    # the industrial identity best of all, in whatever order the rows were written
    plc = identity.signals("10.9.5.1", [ssdp], cert, [*upnp, *snmp, *modbus])
    assert (plc.vendor, plc.model, plc.firmware) == ("Schneider Electric", "BMX P34 2020", "v3.1")
    assert identity.inventory(plc) == {
        "vendor": "Schneider Electric",
        "model": "BMX P34 2020",
        "firmware": "v3.1",
    }
    # BACnet and S7 name models too
    bacnet = [
        IdentityRow("bacnet", "vendor", "Honeywell"),
        IdentityRow("bacnet", "model", "Spyder"),
    ]
    got = identity.signals("10.9.5.1", [], [], [*upnp, *bacnet])
    assert (got.vendor, got.model) == ("Honeywell", "Spyder")
    s7 = identity.signals("10.9.5.1", [], [], [IdentityRow("s7", "model", "CPU 1214C")])
    assert s7.model == "CPU 1214C"
    # an inventory value is bounded to its column
    long = identity.signals("10.9.5.1", [], [], [IdentityRow("ssdp", "model", "M" * 600)])
    assert len(long.model) == 255
