"""Import the DefaultCreds-cheat-sheet data set into shinsa's credential lists.

    .venv/bin/python tools/import_defaultcreds.py            # pip download the pinned version
    .venv/bin/python tools/import_defaultcreds.py --db FILE  # a DefaultCreds_db.json at hand

Writes two files under profiles/credentials/ (format shinsa-credentials/1), both included by
factory-defaults.yaml:

- defaultcreds.yaml: one `vendor` entry per upstream product, with the protocols it applies
  to, a `match` built from the vendor's name (and curated aliases for common device makers),
  and its source;
- generic.yaml: per protocol, the logins ranked by how many of the public data sets' entries
  list them (DefaultCreds products plus the Mirai table in mirai-2016.yaml), with the counts.

Protocol rule (the upstream data names none, except in a suffix such as "(ssh)"):

- a suffix names the service: (ssh) ssh, (telnet) telnet, (ftp) ftp, (web)/(gui) http,
  (snmp) snmp, camera suffixes ((ip camera), (ip-cam), (webcam)...) http and rtsp,
  (printer) http and ftp; a suffix naming a service shinsa does not log in to (mssql,
  vnc, rdp, ipmi, db2, postgres, mongodb, redis, mysql...) drops the row;
- no suffix: the device's own account, which embedded devices use for every login service
  they run: http, ssh, telnet, ftp, and rtsp (cameras' streams take the web account); mqtt
  too, because no public data set lists broker logins by product and a broker on a device
  takes the device account;
- a password without a username: telnet and http only (password prompts, Basic with an
  empty user); an SNMP row is ["", community];
- an empty username and password is "no login at all": only the `open` entries of
  factory-defaults.yaml stand for it (anonymous MQTT, open RTSP), so it is not ranked.

Never vendor entries (their rows still count toward the generic ranking): generic names
(`ssh`, `snmp`, `unknown`, `various`, `wireless`), operating systems and shared software
(busybox, linux, unix, windows, apache, databases), whose names appear on devices of every
maker, and BIOS password tables (award, ami, phoenix), which no network service takes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import yaml

PINNED = "0.5.3.0"
PACKAGE = "defaultcreds-cheat-sheet"
UPSTREAM = "https://github.com/ihebski/DefaultCreds-cheat-sheet"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "profiles" / "credentials"
MIRAI = OUT / "mirai-2016.yaml"
#: how many ranked logins per protocol generic.yaml keeps (profiles pick their top N)
GENERIC_KEEP = 100

ACCOUNT = ("http", "ssh", "telnet", "ftp", "rtsp", "mqtt")
SUFFIX_PROTOCOLS: dict[str, tuple[str, ...]] = {
    "ssh": ("ssh",),
    "telnet": ("telnet",),
    "ftp": ("ftp",),
    "web": ("http",),
    "gui": ("http",),
    "snmp": ("snmp",),
    "ip camera": ("http", "rtsp"),
    "ip-cam": ("http", "rtsp"),
    "ipcamera": ("http", "rtsp"),
    "camera": ("http", "rtsp"),
    "webcam": ("http", "rtsp"),
    "printer": ("http", "ftp"),
}
#: suffixes of services shinsa never logs in to: the row is dropped
OTHER_SERVICES = frozenset(
    {"mssql", "vnc", "rdp", "ipmi", "db2", "postgres", "mongodb", "redis", "mysql", "sql db"}
    | {"db", "roundcube", "os", "root", "server"}
)
#: rows that only count toward the generic ranking (see the module docstring)
NOT_A_VENDOR = frozenset(
    {
        "productvendor",  # the upstream CSV's header row
        "ftp",
        "ssh",
        "telnet",
        "snmp",
        "publicprivate",
        "unknown",
        "various",
        "wireless",
        "busybox",
        "linux",
        "unix",
        "debian",
        "redhat",
        "vxworks",
        "windows",
        "microsoft",
        "backtrack",
        "vagrant",
        "kali linux",
        "kali linux(vagrant)",
        "modern.ie",
        "apache",
        "apache project",
        "samba",
        "mysql",
        "postgresql",
        "postgres",
        "informix",
        "sybase",
        "interbase",
        "firebird",
        "firebird project",
        "db2",
        "mssql",
        "vnc",
        "redis",
        "mongodb noauth",
        "oracle",
        "award",
        "ami",
        "phoenix",
        "phoenix v1.14",
        "amptron",
        "biostar",
        "technology",
        "telecom",
        "research",
        "general instruments",
        "ip camera",  # a kind of device, not a maker
        "video web server",
        "pbx",
        "wlan_3d",
    }
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: single words that are ordinary English or too short to name a maker in free text:
#: these vendors are matched only where a device names its manufacturer outright
#: (`vendor` key: UPnP manufacturer, certificate O=, Modbus VendorName...)
COMMON_WORDS = _words(
    "3m adp adt amigo apple aris arun ascend aspect ast atl atx becu bni bt canyon "
    "celerity cnet cobalt concord creative crt defender drs dvb e-con efficient emc "
    "episd ge gateway giga google guru hayes integral intel ion irc jaht jde jds kti "
    "laxo lg lockdown lts lumens mercury meridian metro micron milan mole motive muze "
    "nai ncr nec next northern nsi oce ods oki orange overland parallels parrot patton "
    "pbx planet prime promise prostar quantum rainbow rca redline remedy rm rnn rsa "
    "saba sap sato semaphore sharp shiva shuttle sigma sophia spike sprint ssa sun "
    "symbol tandem tiara tiny tinys tmc troy tsunami union unify vertex wang xd zen "
    "zenith zeus zoom mantis acer fon elsa enox atcom bea bmc ca gvc hp ibm jvc mrv "
    "rm smc tert xavi zcom mintel arris micronet inova vasco accelerated alien extended "
    "extreme integrated laser march quest server spider telco united visual wedge pyramid "
    "foundry marshall addon airway allied allot ambit amino atlantis blackbox caldera cayman "
    "crossbeam cumulus datacom demarc eminent gandalf gigabyte highpoint lifesize lucent "
    "nimble prestige riverbed scallop smartswitch tumbleweed veritas verity christie emerson"
)
#: corporate words dropped from a name before it becomes a pattern, when what is left
#: is still a distinctive name
CORPORATE = _words(
    "inc inc. corp corp. co co. ltd ltd. gmbh corporation technologies technology networks "
    "systems communications electronics software computer computers industries"
)

#: Curated patterns for device makers whose devices rarely print their plain name: server
#: tokens, product lines, short brand names that need case. Key: the vendor as written in
#: the upstream product names (lower case), value: (display name, pattern on `any`).
CURATED: dict[str, tuple[str, str]] = {
    "hikvision": (
        "Hikvision",
        r"(?i)\bhikvision\b|\bApp-webs\b|\bDNVRS-Webs\b|\bDVRDVS-Webs\b|\bHikvision-Webs\b",
    ),
    "dahua": ("Dahua", r"(?i)\bdahua\b|\bDH-(?:IPC|NVR|XVR|SD)"),
    "axis": ("Axis", r"\bAXIS\b|(?i:\baxis communications\b)"),
    "axis communications": ("Axis", r"\bAXIS\b|(?i:\baxis communications\b)"),
    "ubiquiti": (
        "Ubiquiti",
        r"(?i)\bubnt\b|\bubiquiti\b|\bairos\b|\bunifi\b|\bedge(?:os|router|switch)\b",
    ),
    "unifi": (
        "Ubiquiti",
        r"(?i)\bubnt\b|\bubiquiti\b|\bairos\b|\bunifi\b|\bedge(?:os|router|switch)\b",
    ),
    "mikrotik": ("MikroTik", r"(?i)\bmikrotik\b|\brouteros\b|\bROSSSH\b"),
    "tp-link": ("TP-Link", r"(?i)\btp-?link\b"),
    "tp link": ("TP-Link", r"(?i)\btp-?link\b"),
    "d-link": ("D-Link", r"(?i)\bd-?link\b"),
    "dlink": ("D-Link", r"(?i)\bd-?link\b"),
    "netgear": ("NETGEAR", r"(?i)\bnetgear\b"),
    "zyxel": ("Zyxel", r"(?i)\bzyxel\b|\bzywall\b"),
    "huawei": ("Huawei", r"(?i)\bhuawei\b|\bechoLife\b"),
    "zte": ("ZTE", r"\bZTE\b|(?i:\bzxhn\b|\bzxv10\b)"),
    "cisco": ("Cisco", r"(?i)\bcisco\b"),
    "linksys": ("Linksys", r"(?i)\blinksys\b"),
    "asus": ("ASUS", r"\bASUS\b|(?i:\basustek\b)|\bRT-(?:AC|AX|N)\d"),
    "hp": ("HP", r"\bHP\b|(?i:\bhewlett[- ]?packard\b|\blaserjet\b|\bjetdirect\b|\bofficejet\b)"),
    "hewlett-packard": ("HP", r"\bHP\b|(?i:\bhewlett[- ]?packard\b|\blaserjet\b|\bjetdirect\b)"),
    "hewlett packard": ("HP", r"\bHP\b|(?i:\bhewlett[- ]?packard\b|\blaserjet\b|\bjetdirect\b)"),
    "samsung": ("Samsung", r"(?i)\bsamsung\b|\bwisenet\b"),
    "hanwha": ("Hanwha", r"(?i)\bhanwha\b|\bwisenet\b"),
    "siemens": ("Siemens", r"(?i)\bsiemens\b|\bsimatic\b|\bscalance\b"),
    "schneider": ("Schneider Electric", r"(?i)\bschneider\b|\bmodicon\b"),
    "schneider electric": ("Schneider Electric", r"(?i)\bschneider\b|\bmodicon\b"),
    "fortinet": ("Fortinet", r"(?i)\bforti(?:net|gate|os|web|mail)\b"),
    "fortigate": ("Fortinet", r"(?i)\bforti(?:net|gate|os|web|mail)\b"),
    "juniper": ("Juniper", r"(?i)\bjuniper\b|\bjunos\b|\bscreenos\b|\bnetscreen\b"),
    "avm": ("AVM", r"\bAVM\b|(?i:\bfritz!?\s?box)"),
    "apc": ("APC", r"\bAPC\b|(?i:\bpowerchute\b|\bamerican power conversion\b)"),
    "dell": ("Dell", r"(?i)\bdell\b|\bidrac\b"),
    "f5": ("F5", r"\bF5\b|(?i:\bbig-?ip\b)"),
    "ibm": ("IBM", r"\bIBM\b"),
    "jvc": ("JVC", r"\bJVC\b"),
    "smc": ("SMC", r"\bSMC\b|(?i:\bsmc networks\b)"),
    "lg": ("LG", r"\bLG\b|(?i:\blg electronics\b)"),
    "nec": ("NEC", r"\bNEC\b"),
    "oki": ("OKI", r"\bOKI\b|(?i:\boki data\b)"),
    "sharp": ("Sharp", r"\bSHARP\b|(?i:\bsharp corporation\b)"),
    "zoom": ("Zoom", r"(?i:\bzoom telephonics\b)"),
    "raspberry pi": ("Raspberry Pi", r"(?i)\braspbian\b|\braspberry\s?pi\b|\+rpt\d*\b"),
    "apache tomcat host manager": ("Apache Tomcat", r"(?i)\bapache[ -]tomcat\b|\bcoyote\b"),
    "synology inc": ("Synology", r"(?i)\bsynology\b|\bdiskstation\b"),
}


def download(version: str) -> tuple[dict[str, object], str, str]:
    """(the JSON data, the licence text, the wheel's file name) of `version` from PyPI."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 -- fixed arguments, our own interpreter
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                f"{PACKAGE}=={version}",
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            data = json.loads(z.read("DefaultCreds/DefaultCreds_db.json"))
            licence = next(
                z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/LICENSE")
            )
        return data, licence, wheel.name


def check_licence(text: str) -> None:
    """Refuse to import anything but the MIT licence the project's data-sources note names."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if first != "MIT License" or "Permission is hereby granted, free of charge" not in text:
        raise SystemExit(f"unexpected licence ({first!r}): check it before importing")


def _value(raw: str) -> str | None:
    """The upstream's "<blank>" is empty; descriptions in place of a value are dropped."""
    if raw.strip().lower() == "<blank>":
        return ""
    if not raw or len(raw) > 64 or re.search(r"\s", raw) or raw[0] in "(<":
        return None
    return raw


def split_product(product: str) -> tuple[str, tuple[str, ...] | None]:
    """(base name, protocols) of an upstream product; protocols None: drop the row."""
    suffixes = re.findall(r"\(([^)]*)\)", product)
    base = re.sub(r"\s*\([^)]*\)", "", product).strip()
    protocols: tuple[str, ...] = ACCOUNT
    for raw in suffixes:
        s = raw.strip().lower()
        if s in SUFFIX_PROTOCOLS:
            protocols = SUFFIX_PROTOCOLS[s]
        elif s in OTHER_SERVICES:
            return base, None
    return base, protocols


def protocols_for(protocols: tuple[str, ...], user: str, password: str) -> tuple[str, ...]:
    if protocols == ("snmp",):
        return protocols if not user and password else ()
    if not user and not password:
        return ()
    if not user:
        return tuple(p for p in protocols if p in ("telnet", "http"))
    return protocols


def _word(token: str) -> str:
    return r"[\s_-]?".join(re.escape(part) for part in re.split(r"[\s_-]+", token) if part)


def vendor_match(base: str) -> tuple[str, dict[str, str]]:
    """(display vendor, match) for an upstream base name."""
    key = base.lower()
    first = key.split()[0] if key.split() else key
    if key in CURATED or first in CURATED:  # "cisco systems", "huawei technologies co"
        name, pattern = CURATED[key if key in CURATED else first]
        return name, {"any": pattern}
    names: list[str] = []
    weak = False
    for alternative in key.split("/"):  # "buffalo/melco": either name
        words = [w for w in re.split(r"\s+", alternative.strip()) if w]
        trimmed = [w for w in words if w not in CORPORATE] or words
        if len(trimmed) == 1 < len(words) and (len(trimmed[0]) < 5 or trimmed[0] in COMMON_WORDS):
            trimmed = words  # "open networks" stays a phrase: "open" alone is any page's word
        name = " ".join(trimmed)
        names.append(_word(name))
        short = len(re.sub(r"\W", "", name)) <= 3
        weak |= len(trimmed) == 1 and (name.rstrip("®") in COMMON_WORDS or short)
    display = base if base.lower() != base else base.title()
    either = "|".join(names)
    if weak:
        return display, {"vendor": rf"(?im)^(?:{either})(?![a-z0-9])"}
    return display, {"any": rf"(?i)(?<![a-z0-9])(?:{either})(?![a-z0-9])"}


def mirai_pairs() -> list[tuple[str, str]]:
    data = yaml.safe_load(MIRAI.read_text())
    return [
        ("" if u is None else str(u), "" if p is None else str(p))
        for entry in data["credentials"]
        for u, p in entry["pairs"]
    ]


def q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def build(
    data: dict[str, object], version: str, when: str, licence: str = ""
) -> tuple[str, str, dict[str, int]]:
    table = data.get("_default")
    if not isinstance(table, dict):
        raise SystemExit("not a DefaultCreds_db.json: no '_default' table")
    rows = list(table.values())
    products: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
    protocols_of: dict[str, tuple[str, ...]] = {}
    stats: Counter[str] = Counter(rows=len(rows))
    for row in rows:
        product = str(row["product"]).strip()
        user, password = _value(str(row["username"])), _value(str(row["password"]))
        base, protocols = split_product(product)
        if base.lower() == "productvendor":
            continue
        if protocols is None:
            stats["rows for services shinsa does not log in to"] += 1
            continue
        if user is None or password is None:
            stats["rows whose value is a description, not a login"] += 1
            continue
        protocols_of[product] = protocols
        products[product][(user, password)] = None

    # --- prevalence: per protocol, how many products (and botnet tables) list a login
    counts: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for product, pairs in products.items():
        for user, password in pairs:
            for proto in protocols_for(protocols_of[product], user, password):
                counts[proto][(user, password)] += 1
    for user, password in dict.fromkeys(mirai_pairs()):
        # Mirai tried these on Telnet (ports 23 and 2323) only
        if user or password:
            counts["telnet"][(user, password)] += 1

    notice = "\n".join(f"#   {line}".rstrip() for line in licence.strip().splitlines())
    # --- vendor entries
    vendor_lines: list[str] = []
    vendors: set[str] = set()
    for product in sorted(products, key=str.lower):
        base, _ = split_product(product)
        if base.lower() in NOT_A_VENDOR or product.lower() in NOT_A_VENDOR:
            stats["products kept for the ranking only"] += 1
            continue
        # one entry per set of protocols (a password-only row is not an SSH login), the
        # product's most prevalent logins first
        groups: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        for pair in products[product]:
            protocols = protocols_for(protocols_of[product], *pair)
            if protocols:
                groups[tuple(sorted(protocols))].append(pair)
        display, match = vendor_match(base)
        key, pattern = next(iter(match.items()))
        for protocols, logins in groups.items():
            logins.sort(key=lambda pair: -max(counts[p][pair] for p in protocols))
            vendors.add(display.lower())
            entry = {
                "vendor": display,
                "product": product,
                "protocols": list(protocols),
                "match": {key: pattern},
                "pairs": [list(pair) for pair in logins],
                "source": f"DefaultCreds-cheat-sheet {version}, product {product!r}",
            }
            vendor_lines.append(json.dumps(entry, ensure_ascii=False))
            stats["vendor entries"] += 1
    stats["vendors"] = len(vendors)

    header = f"""# Factory logins by vendor and product, imported from the DefaultCreds-cheat-sheet
# data set by tools/import_defaultcreds.py. Do not edit: change the tool and run it again.
#
# upstream: {UPSTREAM}
#   (PyPI package {PACKAGE} {version}, file DefaultCreds/DefaultCreds_db.json)
# licence:  MIT (the package's LICENSE, checked by the tool on import, reproduced below as
#   it requires). MIT allows redistribution with this GPL-2.0-or-later program. Upstream
#   says most rows were gathered from changeme, routersploit and SecLists; the pairs
#   themselves are published factory defaults (facts).
# imported: {when}
#
{notice}
#
# Each entry is one upstream product. `protocols` follow the tool's rule (its docstring):
# a suffix such as "(ssh)" names the service; no suffix means the device account (http,
# ssh, telnet, ftp, rtsp, mqtt). `match` is built from the vendor's name with word
# boundaries (curated aliases for common device makers); names that are ordinary words are
# matched only where the device names its manufacturer outright (`vendor` key).
#
# The body is JSON, one entry per line: still YAML (a flow mapping), and the loader reads
# it with the JSON parser, ten times faster than libyaml, since every scan loads it.
"""
    meta = {
        "format": "shinsa-credentials/1",
        "licence": "MIT",
        "upstream": UPSTREAM,
        "version": version,
        "imported": when,
    }
    vendor_yaml = (
        header
        + json.dumps(meta, ensure_ascii=False)[:-1]
        + ', "credentials": [\n'
        + ",\n".join(vendor_lines)
        + "\n]}\n"
    )

    # ties within a protocol go to the login more prevalent over all protocols
    overall: Counter[tuple[str, str]] = Counter()
    for per_protocol in counts.values():
        overall.update(per_protocol)
    generic_lines: list[str] = []
    generic_source = (
        f"DefaultCreds-cheat-sheet {version} (MIT) and the Mirai table (mirai-2016.yaml): "
        "how many of their entries list the login"
    )
    for proto in ("ssh", "telnet", "ftp", "http", "rtsp", "mqtt", "snmp"):
        ranked = sorted(counts[proto].items(), key=lambda kv: (-kv[1], -overall[kv[0]], kv[0]))[
            :GENERIC_KEEP
        ]
        if not ranked:
            continue
        generic_lines += [
            "  - vendor: generic",
            f"    product: {q(f'{proto} logins by prevalence in public data sets')}",
            "    kind: generic",
            f"    protocols: [{proto}]",
            "    pairs:",
            *(f"      - [{q(u)}, {q(p)}, {n}]" for (u, p), n in ranked),
            f"    source: {q(generic_source)}",
        ]
        stats[f"generic {proto}"] = len(ranked)
    generic_yaml = (
        f"""# Generic factory logins per protocol, most prevalent first, generated by
# tools/import_defaultcreds.py on {when}. Do not edit: change the tool and run it again.
#
# The third value of a pair is its count: how many entries of the public data sets list
# that login for that protocol, i.e. DefaultCreds-cheat-sheet {version} products
# (MIT, {UPSTREAM})
# whose rows apply to the protocol by the tool's rule, plus 1 when the Mirai botnet's
# table (2016, mirai-2016.yaml; Telnet only) has it. Ties go to the login more prevalent
# over all protocols, then alphabetical order. The top {GENERIC_KEEP} per protocol are
# kept; a profile's `generic_top` picks how many are tried when nothing identifies the
# device.
#
{notice}
format: shinsa-credentials/1
licence: "MIT (DefaultCreds-cheat-sheet); the Mirai table is a published fact"
upstream: {q(UPSTREAM)}
version: {q(version)}
imported: {q(when)}
credentials:
"""
        + "\n".join(generic_lines)
        + "\n"
    )
    return vendor_yaml, generic_yaml, dict(stats)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, help="a DefaultCreds_db.json instead of downloading")
    ap.add_argument("--licence", type=Path, help="its LICENSE file (with --db)")
    ap.add_argument("--version", default=PINNED, help=f"package version (default {PINNED})")
    ap.add_argument("--date", default=datetime.date.today().isoformat(), help="import date")
    args = ap.parse_args(argv)
    if args.db:
        if not args.licence:
            ap.error("--db needs --licence: the licence is checked before anything is written")
        data = json.loads(args.db.read_text())
        licence = args.licence.read_text()
    else:
        data, licence, _ = download(args.version)
    check_licence(licence)
    vendor_yaml, generic_yaml, stats = build(data, args.version, args.date, licence)
    (OUT / "defaultcreds.yaml").write_text(vendor_yaml)
    (OUT / "generic.yaml").write_text(generic_yaml)
    for key, value in stats.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
