"""Device identity: which device of the service's database a scanned address is.

A device is followed across address changes (DHCP, renumbering) by what the scan already
read and the per-run store keeps: its services and results, and what the device said about
what it is (the store's `identity` rows, written by the engine from
scanner/fingerprint/identity.py; a store made before them has none):

- strong keys, unique to one device: the TLS certificate's SHA-256 (the `tls_certificate`
  evidence of the certificate checks), the UPnP UDN (the `USN` of an SSDP answer, a
  udp/ssdp service's banner) and the SSH host key's SHA-256 fingerprint ("SHA256:...", as
  `ssh-keygen -l` prints it; the key the server shows a client with default options);
- weak signals, shared by every device of one model or easily set alike: the SNMP
  sysDescr (a udp/snmp banner), sysName and sysObjectID, the EtherNet/IP identity (product
  name, vendor, device type, revision: a udp/enip banner), Modbus Read Device
  Identification, the UPnP device description, the BACnet device object's names and the
  S7 component identification. They fill the run's `identity` summary, never a match.

Vendor, model and firmware for the inventory come from the most specific source that said
them: the industrial identities (EtherNet/IP, Modbus VendorName/ProductCode/
MajorMinorRevision, BACnet vendor-name/model-name, S7 module type), then the UPnP
description (manufacturer, modelName with modelNumber), then the SNMP enterprise of
sysObjectID, then the UPnP SERVER header's product/version and the certificate subject's O=.

What the store does not keep, and so cannot follow a device here: MAC addresses (a later
issue: the scan sees none on loopback).

Matching, per site (`resolve`):

1. A strong key seen at two or more addresses of one run is ignored for that run: cheap
   devices ship one certificate for the whole product line, and it names no device.
2. An address whose usable strong keys name a known device is that device, wherever it was.
3. Otherwise the device last seen at the same address, unless their keys conflict: both
   have keys of a kind and none is equal (another device took the address: a NEW device,
   and the old one's ID is recorded as `identity_changed_from`).
4. Otherwise a new device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scanner.service import schema as t

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from scanner.model import Result, Service
    from scanner.store import IdentityRow

#: kinds whose value names one device (identity_keys rows)
STRONG = ("tls-cert", "upnp-udn", "ssh-hostkey")
#: the store's identity kinds (scanner/fingerprint/identity.py) that are weak signals here
STORED_WEAK = {
    "snmp_sysname": "snmp-sysname",
    "snmp_oid": "snmp-sysobjectid",
    "modbus": "modbus-identity",
    "upnp": "upnp-description",
    "bacnet": "bacnet-identity",
    "s7": "s7-identity",
}
#: kinds that describe a model, shown and summarised, never matched on
WEAK = ("snmp-sysdescr", "enip-identity", *STORED_WEAK.values())
#: how specific a source of vendor, model and firmware is (lower wins), by the protocol of
#: the service that said it; any other (a certificate's O=) comes last
SOURCE_RANK = {"enip": 0, "modbus": 0, "bacnet": 0, "s7": 0, "ssdp": 1, "snmp": 2}
_ENIP_VENDOR_RANK = 3  # a vendor number, not a name
_LAST = 4
_INVENTORY = ("vendor", "model", "firmware")

_UDN = re.compile(r"USN:\s*(uuid:[0-9A-Za-z-]{1,64})", re.IGNORECASE)
_SERVER = re.compile(r"SERVER:\s*([^;]*)", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9A-Fa-f:]{64,95}")
#: OpenSSH's SHA-256 fingerprint: 32 bytes in base64 without padding
_SSH_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_ORG = re.compile(r"(?:^|,)O=((?:[^,\\]|\\.)+)")
_ENIP = re.compile(
    r"^(?P<name>.*), vendor (?P<vendor>\d+), device type \d+, revision (?P<rev>\S+)$"
)


@dataclass(frozen=True, slots=True)
class Signals:
    """What one scanned address says about which device it is."""

    address: str
    strong: frozenset[tuple[str, str]]  # (kind, value)
    weak: Mapping[str, str] = field(default_factory=dict)
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    mac: str = ""  # never read into the store today (see the module's docstring)

    def summary(self) -> dict[str, str]:
        """{kind: value} for run_devices.summary["identity"] (one value per kind)."""
        out = dict(sorted(self.strong))
        out.update(self.weak)
        return out


def signals(
    address: str,
    services: Sequence[Service],
    results: Iterable[Result],
    stored: Iterable[IdentityRow] = (),
) -> Signals:
    """The signals of one address from its stored services, results and identity rows
    (the store's `identity(run_id)[address]`) (pure)."""
    strong: set[tuple[str, str]] = set()
    weak: dict[str, str] = {}
    # (rank, order) -> value per inventory field; the lowest rank, then the first, wins
    found: dict[str, list[tuple[int, int, str]]] = {f: [] for f in _INVENTORY}

    def offer(field_name: str, rank: int, value: str) -> None:
        if value:
            found[field_name].append((rank, len(found[field_name]), value[:255]))

    for s in services:
        if s.transport != "udp" or not s.banner:
            continue
        if s.protocol == "ssdp":
            udn = _UDN.search(s.banner)
            if udn:
                strong.add(("upnp-udn", udn.group(1).lower()))
            server = _SERVER.search(s.banner)
            # UPnP's SERVER is "OS/version UPnP/version product/version"
            tokens = server.group(1).split() if server else []
            if len(tokens) >= 3 and "/" in tokens[-1]:
                product, _, version = tokens[-1].partition("/")
                offer("model", _LAST, product)
                offer("firmware", _LAST, version)
        elif s.protocol == "snmp" and not s.banner.startswith("SNMP "):
            weak.setdefault("snmp-sysdescr", s.banner[:255])
        elif s.protocol == "enip":
            weak.setdefault("enip-identity", s.banner[:255])
            enip = _ENIP.match(s.banner)
            if enip:  # the most specific source: it wins over UPnP's SERVER
                offer("model", SOURCE_RANK["enip"], enip["name"])
                offer("firmware", SOURCE_RANK["enip"], enip["rev"])
                offer("vendor", _ENIP_VENDOR_RANK, f"EtherNet/IP vendor {enip['vendor']}")
    for row in stored:
        if row.kind == "ssh_hostkey" and _SSH_FINGERPRINT.fullmatch(row.value):
            strong.add(("ssh-hostkey", row.value))
        elif row.kind in STORED_WEAK:
            weak.setdefault(STORED_WEAK[row.kind], row.value[:255])
        elif row.kind in _INVENTORY:
            offer(row.kind, SOURCE_RANK.get(row.source, _LAST), row.value)
    for r in results:
        for e in r.evidence:
            if e.kind != "tls_certificate":
                continue
            digest = e.details.get("sha256")
            if isinstance(digest, str) and _SHA256.fullmatch(digest):
                strong.add(("tls-cert", digest.replace(":", "").lower()))
            subject = e.details.get("subject")
            org = _ORG.search(subject) if isinstance(subject, str) else None
            if org:
                offer("vendor", _LAST, org.group(1).replace("\\", ""))
    best = {f: min(values)[2] if values else "" for f, values in found.items()}
    return Signals(
        address, frozenset(strong), weak, best["vendor"], best["model"], best["firmware"]
    )


@dataclass(frozen=True, slots=True)
class Match:
    device_id: int | None  # None: a new device
    how: str  # "key" | "address" | "new"
    changed_from: int | None = None  # the address's previous device, when another took it


def shared_keys(found: Iterable[Signals]) -> set[tuple[str, str]]:
    """Strong keys seen at two or more addresses of one run: they name no device."""
    where: dict[tuple[str, str], set[str]] = {}
    for s in found:
        for key in s.strong:
            where.setdefault(key, set()).add(s.address)
    return {key for key, addresses in where.items() if len(addresses) > 1}


def usable_keys(s: Signals, shared: set[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    return s.strong - shared


def resolve(
    conn: sa.Connection,
    site: str,
    found: Sequence[Signals],
    given: Mapping[str, Match] | None = None,
) -> dict[str, Match]:
    """Each address's device (see the module's docstring); reads, never writes. `given`:
    addresses already decided (a run imported again keeps its first import's devices)."""
    shared = shared_keys(found)
    usable = {s.address: usable_keys(s, shared) for s in found}
    out: dict[str, Match] = dict(given or {})
    claimed = {m.device_id for m in out.values() if m.device_id is not None}
    # 1. by key first, so that a device that moved is not taken by its old address's match
    for s in found:
        keys = usable[s.address]
        if not keys or s.address in out:
            continue
        owners: dict[int, int] = {}
        for device_id in _owners(conn, site, keys):
            owners[device_id] = owners.get(device_id, 0) + 1
        ranked = sorted((d for d in owners if d not in claimed), key=lambda d: (-owners[d], -d))
        if ranked:
            out[s.address] = Match(ranked[0], "key")
            claimed.add(ranked[0])
    # 2. by address, unless the keys say it is another device
    for s in found:
        if s.address in out:
            continue
        previous = conn.execute(
            sa.select(t.devices.c.id)
            .where(t.devices.c.site == site, t.devices.c.address == s.address)
            .order_by(t.devices.c.last_seen.desc(), t.devices.c.id.desc())
        ).scalars()
        candidate = next((int(d) for d in previous if int(d) not in claimed), None)
        if candidate is None:
            out[s.address] = Match(None, "new")
            continue
        if _conflict(usable[s.address], _keys_of(conn, candidate)):
            out[s.address] = Match(None, "new", changed_from=candidate)
            continue
        out[s.address] = Match(candidate, "address")
        claimed.add(candidate)
    return out


def _owners(conn: sa.Connection, site: str, keys: Iterable[tuple[str, str]]) -> list[int]:
    wanted = sa.tuple_(t.identity_keys.c.kind, t.identity_keys.c.value).in_(list(keys))
    rows = conn.execute(
        sa.select(t.identity_keys.c.device_id).where(t.identity_keys.c.site == site, wanted)
    ).scalars()
    return [int(d) for d in rows if d is not None]


def _keys_of(conn: sa.Connection, device_id: int) -> set[tuple[str, str]]:
    rows = conn.execute(
        sa.select(t.identity_keys.c.kind, t.identity_keys.c.value).where(
            t.identity_keys.c.device_id == device_id
        )
    )
    return {(str(r.kind), str(r.value)) for r in rows}


def _conflict(new: frozenset[tuple[str, str]], old: set[tuple[str, str]]) -> bool:
    """Both read a key of some kind, and no key is the same: not the same device. Keys of
    different kinds say nothing (a closed HTTPS port does not make another device)."""
    common_kinds = {k for k, _ in new} & {k for k, _ in old}
    return bool(common_kinds) and not (new & old)


def remember(
    conn: sa.Connection,
    site: str,
    device_id: int,
    keys: Iterable[tuple[str, str]],
    seen: datetime,
) -> None:
    """Record `keys` as the device's (a key another device held moves to it)."""
    for kind, value in keys:
        conn.execute(
            t.identity_keys.delete().where(
                t.identity_keys.c.site == site,
                t.identity_keys.c.kind == kind,
                t.identity_keys.c.value == value,
            )
        )
        conn.execute(
            t.identity_keys.insert().values(
                device_id=device_id, site=site, kind=kind, value=value, last_seen=seen
            )
        )


def inventory(s: Signals) -> dict[str, Any]:
    """The devices columns the signals fill (only what was read: an empty value keeps the
    inventory's older one)."""
    fields = {"vendor": s.vendor, "model": s.model, "firmware": s.firmware, "mac": s.mac}
    return {k: v for k, v in fields.items() if v}
