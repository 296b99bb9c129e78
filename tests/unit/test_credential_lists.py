"""Factory-login lists: the attributed data set, validated on load, chosen by what the
device says about itself (and never by a stray word), spent within budget."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from scanner.credential_lists import (
    BUILTIN,
    AttemptLedger,
    budget_plan,
    device_text,
    load_catalog,
    load_list,
    take_slots,
)
from scanner.credentials import Credential
from scanner.errors import ConfigError
from scanner.facts import (
    HTTP_PAGES,
    IDENTITY,
    SERVICES,
    UDP_ANSWERS,
    Facts,
    HttpPage,
    IdentitySignal,
    UdpAnswer,
)
from scanner.model import Service

if TYPE_CHECKING:
    from types import ModuleType

CATALOG = load_catalog()
LISTS = BUILTIN.parent
TOOL = Path(__file__).resolve().parents[2] / "tools" / "import_defaultcreds.py"


def test_the_shipped_list_loads_and_every_entry_names_its_source():
    catalog = load_catalog()
    assert catalog.entries
    assert all(e.source for e in catalog.entries)
    assert all(c.source for e in catalog.entries for c in e.pairs)


def test_loading_is_fast_enough_to_do_once_per_scan():
    started = time.perf_counter()
    catalog = load_catalog()
    took = time.perf_counter() - started
    print(f"load_catalog: {len(catalog.entries)} entries in {took * 1000:.0f} ms")
    started = time.perf_counter()
    catalog.select("http", {"http": "Boa/0.94.14rc21\nIP Camera"}, generic_top=25)
    print(f"select: {(time.perf_counter() - started) * 1000:.1f} ms")
    assert took < 10  # a bound for a busy CI machine, not a benchmark


def test_the_imported_files_say_licence_upstream_version_and_date():
    for name in ("defaultcreds.yaml", "generic.yaml"):
        text = (LISTS / name).read_text()
        data = yaml.safe_load(text)
        assert "MIT" in data["licence"]
        assert data["upstream"] == "https://github.com/ihebski/DefaultCreds-cheat-sheet"
        assert data["version"]
        assert data["imported"]
        assert "tools/import_defaultcreds.py" in text.split("\n{")[0].split("\nformat:")[0]
        assert "Permission is hereby granted" in text  # the MIT notice travels with the data
    assert yaml.safe_load(BUILTIN.read_text())["include"] == ["defaultcreds.yaml", "generic.yaml"]


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_defaultcreds", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_importer_applies_its_protocol_rule_and_counts_each_product_once():
    tool = load_tool()
    rows = [
        ("productvendor", "username", "password"),  # the upstream CSV header
        ("acme", "admin", "admin"),
        ("acme", "admin", "admin"),  # a duplicate row counts once
        ("acme", "<blank>", "1234"),  # password only: telnet and http
        ("acme", "admin", "(serial number)"),  # a description, not a password
        ("acme (ssh)", "root", "acme"),
        ("globex (web)", "admin", "admin"),
        ("globex (mssql)", "sa", "<blank>"),  # a service shinsa does not log in to
        ("snmp (snmp)", "<blank>", "public"),
        ("unix", "root", "root"),  # counts, but identifies nothing
    ]
    db = {
        "_default": {
            str(i): {"product": p, "username": u, "password": w} for i, (p, u, w) in enumerate(rows)
        }
    }
    vendor_yaml, generic_yaml, _ = tool.build(db, "9.9", "2026-01-01")
    entries = yaml.safe_load(vendor_yaml)["credentials"]
    shape = {(e["product"], tuple(e["protocols"])): e["pairs"] for e in entries}
    assert shape == {
        ("acme", ("ftp", "http", "mqtt", "rtsp", "ssh", "telnet")): [["admin", "admin"]],
        ("acme", ("http", "telnet")): [["", "1234"]],
        ("acme (ssh)", ("ssh",)): [["root", "acme"]],
        ("globex (web)", ("http",)): [["admin", "admin"]],
    }
    generic = {
        e["protocols"][0]: {(u, p): n for u, p, n in e["pairs"]}
        for e in yaml.safe_load(generic_yaml)["credentials"]
    }
    assert generic["http"][("admin", "admin")] == 2
    assert generic["ssh"][("admin", "admin")] == 1
    assert generic["ssh"][("root", "root")] == 1
    assert ("", "1234") not in generic["ssh"]
    assert generic["snmp"] == {("", "public"): 1}
    assert generic["telnet"][("root", "xc3511")] == 1  # the Mirai table, Telnet only
    assert ("root", "xc3511") not in generic["http"]
    with pytest.raises(SystemExit, match="unexpected licence"):
        tool.check_licence("GNU GENERAL PUBLIC LICENSE\nVersion 3")


def test_at_least_a_thousand_vendor_entries_each_with_its_source_and_a_match():
    vendor = [e for e in CATALOG.entries if e.kind == "vendor"]
    assert len(vendor) >= 1000
    assert len({e.vendor.lower() for e in vendor}) >= 900
    assert all(e.match and e.source.strip() and e.pairs for e in vendor)
    imported = [e for e in vendor if e.source.startswith("DefaultCreds-cheat-sheet")]
    assert len(imported) >= 1000
    assert all("product" in e.source for e in imported)


def test_protocol_rule_keeps_password_only_logins_off_ssh_and_communities_on_snmp():
    for e in CATALOG.entries:
        for cred in e.pairs:
            if "ssh" in e.protocols or "ftp" in e.protocols:
                assert cred.username, f"{e.product}: an SSH/FTP login needs a user name"
            if e.protocols == frozenset({"snmp"}) and e.kind != "open":
                assert not cred.username
                assert cred.password


def test_generic_lists_are_ordered_by_the_counts_they_keep():
    generic = [e for e in CATALOG.entries if e.kind == "generic"]
    assert {p for e in generic for p in e.protocols} == {
        "ssh",
        "telnet",
        "ftp",
        "http",
        "rtsp",
        "mqtt",
        "snmp",
    }
    for e in generic:
        assert len(e.counts) == len(e.pairs)
        assert all(n >= 1 for n in e.counts)
        assert list(e.counts) == sorted(e.counts, reverse=True)
    ranked = CATALOG.prevalence("telnet")
    assert ranked[0][0].username == "admin"
    assert ranked[0][0].password == "admin"
    assert [n for _, n in ranked] == sorted((n for _, n in ranked), reverse=True)


#: Logins the real-software corpus plants, and the rank the public data gives them.
PLANTED = [
    ("admin", "admin"),
    ("admin", "password"),
    ("admin", "1234"),
    ("admin", "12345"),
    ("root", "root"),
    ("operator", "operator"),
    ("user", "user"),
    ("guest", "guest"),
    ("admin", ""),
    ("root", ""),
]


def rank(protocol: str, pair: tuple[str, str]) -> int | None:
    logins = [(c.username, c.password) for c, _ in CATALOG.prevalence(protocol)]
    return logins.index(pair) + 1 if pair in logins else None


@pytest.mark.parametrize("protocol", ["ssh", "telnet", "ftp", "http", "rtsp", "mqtt"])
def test_the_corpus_logins_rank_where_the_public_data_puts_them(protocol):
    ranks = {f"{u}/{p}": rank(protocol, (u, p)) for u, p in PLANTED}
    print(protocol, ranks)
    top25 = [("admin", "admin"), ("admin", "password"), ("admin", "1234"), ("root", "root")]
    top25 += [("user", "user"), ("guest", "guest"), ("admin", ""), ("root", "")]
    for pair in top25:
        assert (rank(protocol, pair) or 999) <= 25, pair
    # operator/operator: five products each; ranks 28-35, inside the top 50 (acceptance
    # tries all 100)
    assert (rank(protocol, ("operator", "operator")) or 999) <= 50
    chosen = CATALOG.select(protocol, {}, generic_top=25)
    assert ("admin", "password") in [(c.username, c.password) for c in chosen.pairs]


def test_vendor_entries_whose_fingerprint_matches_come_first():
    catalog = load_catalog()
    plain = catalog.for_protocol("http", {})
    hik = catalog.for_protocol("http", {"http": "App-webs/"})
    assert (hik[0].username, hik[0].password) == ("admin", "12345")
    assert (plain[0].username, plain[0].password) == ("admin", "admin")
    # each pair once, even when a vendor entry repeats a generic one
    assert len({(c.username, c.password) for c in hik}) == len(hik)


def test_anonymous_is_tried_first_where_it_exists():
    catalog = load_catalog()
    first = catalog.for_protocol("mqtt", {})[0]
    assert (first.username, first.password) == ("", "")
    assert catalog.for_protocol("ftp", {})[0].username == "anonymous"
    assert [c.password for c in catalog.for_protocol("snmp", {})] == ["public", "private"]


def test_device_text_gathers_http_and_banners():
    facts = Facts()
    ssh = Service("tcp", 22, "ssh", banner="SSH-2.0-ROSSSH")
    web = Service("tcp", 80, "http")
    facts.put(SERVICES, (ssh, web))
    facts.put(
        HTTP_PAGES, (HttpPage(web, "http://x/", 200, server="Hikvision-Webs", title="Login"),)
    )
    text = device_text(facts)
    assert "ROSSSH" in text["ssh"]
    assert "Hikvision-Webs" in text["http"]
    assert "ROSSSH" in text["any"]


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "list.yaml"
    p.write_text("format: shinsa-credentials/1\ncredentials:\n" + body)
    return p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - {protocols: [ssh], pairs: [[a, b]]}\n", "needs a 'source'"),
        ("  - {protocols: [gopher], pairs: [[a, b]], source: s}\n", "protocols must be"),
        ("  - {protocols: [ssh], pairs: [[a]], source: s}\n", r"pairs\[0\] must be"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, match: {http: '('}}\n", "bad regular"),
        ("  - {protocols: [ssh], pairs: [[a, b]], source: s, colour: red}\n", "unknown field"),
    ],
)
def test_bad_lists_get_a_message_naming_file_and_entry(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_list(write(tmp_path, body))


def test_user_lists_come_before_the_built_in_one(tmp_path):
    mine = write(tmp_path, "  - {protocols: [ssh], pairs: [[op, 'S3cret!']], source: site list}\n")
    first = load_catalog([mine]).for_protocol("ssh", {})[0]
    assert (first.username, first.password) == ("op", "S3cret!")
    assert "S3cret!" not in repr(first)
    assert "S3cret!" not in str(first)


def test_budget_is_per_account_per_device_and_shared_across_services():
    ledger = AttemptLedger()
    pairs = [Credential("admin", p) for p in ("admin", "1234", "12345")] + [Credential("root", "r")]
    chosen, skipped = budget_plan(pairs, ledger, per_account=2, max_pairs=10)
    assert [c.password for c in chosen] == ["admin", "1234", "r"]
    assert [c.password for c in skipped] == ["12345"]
    # a second service of the same device finds admin's budget spent
    chosen2, skipped2 = budget_plan(pairs, ledger, per_account=2, max_pairs=10)
    assert [c.password for c in chosen2] == ["r"]
    assert len(skipped2) == 3
    ledger.release("admin")  # e.g. a login that succeeded costs nothing
    assert ledger.failures("admin") == 1


def test_a_plan_stops_at_max_pairs_and_counts_what_it_took_against_each_account():
    ledger = AttemptLedger()
    names = ["admin", "admin", "root", "admin", "root", "user"]
    # admin's third is over its limit of 2; the fifth taken is the plan's most
    assert ledger.reserve_many(names, 2, 4) == [True, True, True, False, True, False]
    assert (ledger.failures("admin"), ledger.failures("root"), ledger.failures("user")) == (2, 2, 0)
    assert take_slots(names, {"admin": 1, "user": 5}, 2, 10) == [
        True, False, True, False, True, False
    ]  # fmt: skip
    ledger.release_many(["admin", "admin", "admin", "user"])  # never below nothing
    assert (ledger.failures("admin"), ledger.failures("user")) == (0, 0)
    assert ledger.reserve_many([], 2, 4) == []


# --- select(): the identified product's list, or the generic top N ---------------------------


def pairs_of(selection: Any) -> list[tuple[str, str]]:
    return [(c.username, c.password) for c in selection.pairs]


def test_nothing_identified_gives_open_entries_then_exactly_the_generic_top():
    chosen = CATALOG.select("mqtt", {}, generic_top=10)
    assert chosen.identified == ()
    assert chosen.list_name == "generic top 10"
    assert pairs_of(chosen)[:3] == [("", ""), ("guest", "guest"), ("mqtt", "mqtt")]
    ranked = [(c.username, c.password) for c, _ in CATALOG.prevalence("mqtt")]
    rest = pairs_of(chosen)[3:]
    assert len(rest) == 10
    assert rest == [p for p in ranked if p not in {("guest", "guest"), ("mqtt", "mqtt")}][:10]
    snmp = pairs_of(CATALOG.select("snmp", {}, generic_top=5))
    assert snmp[:2] == [("", "public"), ("", "private")]
    assert len(snmp) == 7
    assert len(set(snmp)) == len(snmp)


def test_an_identified_device_gets_its_products_pairs_and_nothing_else():
    chosen = CATALOG.select("http", {"http": "Hikvision-Webs"}, generic_top=25)
    assert chosen.identified == ("Hikvision IP cameras and NVRs (firmware before 5.3.0)",)
    assert chosen.list_name.startswith("vendor list: Hikvision")
    assert pairs_of(chosen) == [("admin", "12345")]
    ssh = CATALOG.select("ssh", {"ssh": "SSH-2.0-OpenSSH_5.8 Hikvision"}, generic_top=25)
    assert "Hikvision (ssh)" in ssh.identified
    assert ("admin", "admin") not in pairs_of(ssh)  # the generic list is not appended


def test_a_vendor_without_logins_for_this_protocol_falls_back_to_the_generic_list():
    chosen = CATALOG.select("snmp", {"http": "Hikvision-Webs"}, generic_top=3)
    assert chosen.identified == ()
    assert chosen.list_name == "generic top 3"


def site_list(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "site.yaml"
    p.write_text("format: shinsa-credentials/1\ncredentials:\n" + body)
    return p


def test_site_lists_come_first_identified_or_not(tmp_path):
    mine = site_list(
        tmp_path,
        "  - {protocols: [http], pairs: [[op, 'S3cret!']], source: site list}\n"
        "  - {vendor: Acme, product: cam, protocols: [http], match: {http: 'AcmeCam'},\n"
        "     pairs: [[acme, acme]], source: site list}\n",
    )
    catalog = load_catalog([mine])
    plain = catalog.select("http", {}, generic_top=5)
    assert pairs_of(plain)[0] == ("op", "S3cret!")
    assert plain.list_name == "your lists (1) + generic top 5"
    hik = catalog.select("http", {"http": "App-webs/"}, generic_top=5)
    assert pairs_of(hik) == [("op", "S3cret!"), ("admin", "12345")]
    acme = catalog.select("http", {"http": "AcmeCam 2.0", "ssh": "ROSSSH"}, generic_top=5)
    # the SSH banner identifies MikroTik too: the user's product comes first
    assert acme.identified[0] == "Acme cam"
    assert "MikroTik RouterOS before 6.49" in acme.identified
    assert pairs_of(acme)[:3] == [("op", "S3cret!"), ("acme", "acme"), ("admin", "")]
    only = catalog.select("http", {"http": "AcmeCam 2.0"}, generic_top=5)
    assert pairs_of(only) == [("op", "S3cret!"), ("acme", "acme")]


def facts_with(*signals: tuple[str, str]) -> Facts:
    facts = Facts()
    svc = Service("tcp", 443, "https", tls=True)
    facts.put(IDENTITY, tuple(IdentitySignal(svc, kind, text) for kind, text in signals))
    return facts


def identified(text: dict[str, str], protocol: str = "http") -> tuple[str, ...]:
    return CATALOG.select(protocol, text, generic_top=25).identified


def labels(found: tuple[str, ...]) -> str:
    return " | ".join(found).lower()


@pytest.mark.parametrize(
    ("facts", "protocol", "vendor"),
    [
        # HTTP Server header, title, realm
        (lambda: http_facts(server="App-webs/"), "http", "hikvision"),
        (lambda: http_facts(title="NETGEAR Router R7000"), "http", "netgear"),
        (lambda: http_facts(realm="TP-LINK Wireless N Router WR841N"), "http", "tp-link"),
        (lambda: http_facts(title="RouterOS router configuration page"), "http", "mikrotik"),
        # SSH, Telnet, FTP banners
        (lambda: banner_facts("ssh", "SSH-2.0-ROSSSH"), "ssh", "mikrotik"),
        (lambda: banner_facts("telnet", "ZXHN H108N\r\nLogin:"), "telnet", "zte"),
        (lambda: banner_facts("ftp", "220 FRITZ!Box7590 FTP server ready."), "telnet", "avm"),
        # SNMP sysDescr and sysObjectID
        (
            lambda: udp_facts("snmp", "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M)"),
            "telnet",
            "cisco",
        ),
        (
            lambda: facts_with(("snmp_oid", "1.3.6.1.4.1.14988.1"), ("vendor", "MikroTik")),
            "ssh",
            "mikrotik",
        ),
        # UPnP description, SSDP SERVER
        (
            lambda: facts_with(("upnp", "manufacturer: D-Link\nmodelName: DIR-615")),
            "http",
            "d-link",
        ),
        (
            lambda: udp_facts("ssdp", "SERVER: Linux/2.6 UPnP/1.0 Zyxel/1.0; ST: upnp:rootdevice"),
            "http",
            "zyxel",
        ),
        # TLS certificate subject and issuer
        (
            lambda: facts_with(("tls", "subject: CN=192.168.1.1,O=Ubiquiti Inc.\nissuer: CN=UBNT")),
            "ssh",
            "ubiquiti",
        ),
        # favicon hash and script names (a site list keyed on them, see below)
        # Modbus, EtherNet/IP, S7, BACnet identity
        (
            lambda: facts_with(("modbus", "Schneider Electric BMX P34 2020 v3.1")),
            "ftp",
            "schneider",
        ),
        (
            lambda: udp_facts(
                "enip", "MOXA MGate 5105-MB-EIP, vendor 991, device type 12, revision 4.1"
            ),
            "http",
            "moxa",
        ),
        (
            lambda: facts_with(
                ("s7", "module: CPU 315-2 PN/DP\ncopyright: Original Siemens Equipment")
            ),
            "http",
            "siemens",
        ),
        (
            lambda: facts_with(("bacnet", "Honeywell Spyder"), ("vendor", "Honeywell")),
            "http",
            "honeywell",
        ),
    ],
)
def test_each_identity_signal_selects_its_vendor(facts, protocol, vendor):
    found = identified(device_text(facts()), protocol)
    assert found, f"nothing identified for {vendor}"
    assert vendor in labels(found)


def http_facts(server: str = "", title: str = "", realm: str = "") -> Facts:
    facts = Facts()
    web = Service("tcp", 80, "http", product=server)
    facts.put(SERVICES, (web,))
    facts.put(
        HTTP_PAGES, (HttpPage(web, "http://x/", 200, server=server, title=title, auth_realm=realm),)
    )
    return facts


def banner_facts(protocol: str, banner: str) -> Facts:
    facts = Facts()
    facts.put(SERVICES, (Service("tcp", 1, protocol, banner=banner),))
    return facts


def udp_facts(protocol: str, summary: str) -> Facts:
    facts = Facts()
    facts.put(UDP_ANSWERS, (UdpAnswer(Service("udp", 1, protocol), "probe", summary),))
    return facts


def test_favicon_hash_and_script_names_select_a_list_keyed_on_them(tmp_path):
    mine = site_list(
        tmp_path,
        "  - {vendor: Acme, product: NVR, protocols: [http],\n"
        "     match: {favicon: '\\bmmh3:-1234567\\b'}, pairs: [[nvr, nvr]], source: site list}\n"
        "  - {vendor: Acme, product: cam, protocols: [http],\n"
        "     match: {scripts: '/webVideoCtrl\\.js$'}, pairs: [[cam, cam]], source: site list}\n",
    )
    catalog = load_catalog([mine])
    icon = device_text(facts_with(("favicon", "mmh3:-1234567 md5:00ff")))
    assert catalog.select("http", icon, generic_top=5).identified == ("Acme NVR",)
    near = device_text(facts_with(("favicon", "mmh3:-12345678 md5:00ff")))
    assert catalog.select("http", near, generic_top=5).identified == ()
    script = device_text(facts_with(("scripts", "/js/jquery.js\n/doc/webVideoCtrl.js")))
    assert catalog.select("http", script, generic_top=5).identified == ("Acme cam",)


STRAY = [
    {"http": "Apache/2.4.57 (Debian)\nWelcome"},
    {"http": "nginx/1.24.0\nNext Generation Firewall"},
    {"http": "lighttpd/1.4.69\nUnion Station Control Panel"},
    {"http": "Boa/0.94.14rc21\nIP Camera\nProtected Area"},
    {"http": "GoAhead-Webs\nX axis settings"},  # "axis" as a word is not Axis
    {"http": "mini_httpd/1.30 26Oct2018\nOrange Livebox?\nGateway"},
    {"http": "Werkzeug/3.0.1 Python/3.11.2\nSmart Home Hub\nPrime Video"},
    {"http": "Express\nZoom settings\nSun Power monitor"},
    {"http": "Addon Manager\nPrestige Hotel Wi-Fi\n1 Gigabyte free\nCumulus weather station"},
    {"ssh": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"},
    {"ssh": "SSH-2.0-dropbear_2022.83"},
    {"telnet": "BusyBox v1.36.1 (Debian 1:1.36.1-6) built-in shell (ash)\nrouter login:"},
    {"telnet": "User Access Verification\n\nUsername:"},
    {"ftp": "220 ProFTPD Server (Debian) [::ffff:127.0.0.1]"},
    {"ftp": "220-Welcome\n220 FTP server ready"},
    {"ftp": "220 (vsFTPd 3.0.3)"},
    {"snmp": "Linux router 5.10.0-21-armmp #1 SMP Debian 5.10.162-1 armv7l"},
    {"snmp_oid": "1.3.6.1.4.1.8072.3.2.10"},
    {"tls": "subject: O=Internet Widgits Pty Ltd,ST=Some-State,C=AU"},
    {"tls": "subject: CN=example.org\nissuer: CN=R3,O=Let's Encrypt,C=US"},
    {"vendor": "Let's Encrypt\nInternet Widgits Pty Ltd\nLinux"},
    {"upnp": "manufacturer: OpenWrt\nmodelName: Generic"},
]


@pytest.mark.parametrize("text", STRAY)
def test_no_vendor_is_picked_from_a_stray_word(text):
    for protocol in ("http", "ssh", "telnet", "ftp", "rtsp", "mqtt", "snmp"):
        assert identified(text, protocol) == (), (text, protocol)


def test_ordinary_word_vendors_need_the_device_to_name_its_maker():
    # "Zoom" and "Next" are makers in the data set, and ordinary words on a page
    assert identified({"http": "Zoom"}) == ()
    assert identified({"vendor": "Zoom Telephonics"}) != ()
    assert identified({"http": "Next"}) == ()
    assert "next" in labels(identified({"vendor": "Next"}))


def test_device_text_puts_each_signal_under_its_key_and_all_of_them_under_any():
    facts = facts_with(("favicon", "mmh3:1 md5:ab"), ("tls", "subject: O=Acme"), ("vendor", "Acme"))
    facts.put(
        UDP_ANSWERS,
        (
            UdpAnswer(Service("udp", 161, "snmp"), "get", "Acme OS 2.1"),
            UdpAnswer(Service("udp", 1900, "ssdp"), "search", "SERVER: AcmeUPnP/1.0"),
            UdpAnswer(Service("udp", 47808, "bacnet"), "who-is", "device instance 5, vendor 7"),
            UdpAnswer(Service("udp", 53, "dns"), "version", "dnsmasq-2.89"),
        ),
    )
    facts.put(SERVICES, (Service("tcp", 9100, "jetdirect", banner="PJL INFO ID Acme P1"),))
    text = device_text(facts)
    assert text["favicon"] == "mmh3:1 md5:ab"
    assert text["tls"] == "subject: O=Acme"
    assert text["vendor"] == "Acme"
    assert text["snmp"] == "Acme OS 2.1"
    assert text["upnp"] == "SERVER: AcmeUPnP/1.0"
    assert text["bacnet"] == "device instance 5, vendor 7"
    for part in ("mmh3:1", "O=Acme", "Acme OS 2.1", "AcmeUPnP"):
        assert part in text["any"]
    assert "dnsmasq" not in text["any"]  # what a DNS server runs says nothing of the device
    # a print server's PJL answer names the printer behind it, not this device
    assert "PJL" not in text["any"]


def test_a_json_body_after_comments_reads_like_the_same_yaml(tmp_path):
    body = (
        '{"format": "shinsa-credentials/1", "credentials": [\n'
        '{"vendor": "Acme", "product": "cam", "protocols": ["http"],'
        ' "match": {"http": "(?i)\\\\bacme\\\\b"}, "pairs": [["admin", "acme"]], "source": "s"}\n'
        "]}\n"
    )
    as_json = tmp_path / "fast.yaml"
    as_json.write_text("# a comment header\n#\n" + body)
    as_yaml = tmp_path / "slow.yaml"
    as_yaml.write_text(
        "format: shinsa-credentials/1\ncredentials:\n"
        "  - {vendor: Acme, product: cam, protocols: [http], match: {http: '(?i)\\bacme\\b'},\n"
        "     pairs: [[admin, acme]], source: s}\n"
    )
    fast, slow = load_list(as_json)[0], load_list(as_yaml)[0]
    assert (fast.vendor, fast.protocols, fast.pairs[0].password) == (
        slow.vendor,
        slow.protocols,
        slow.pairs[0].password,
    )
    assert fast.match[0][1].raw == slow.match[0][1].raw
    broken = tmp_path / "broken.yaml"
    broken.write_text('# header\n{"format": "shinsa-credentials/1", "credentials": [}\n')
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_list(broken)
