"""Targets and scope: what may be scanned is decided before a packet leaves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from scanner.discovery.targets import parse_targets
from scanner.errors import ConfigError, ScopeError
from scanner.scope import Scope

if TYPE_CHECKING:
    from pathlib import Path


def addresses(specs: list[str]) -> list[str]:
    return [t.address for t in parse_targets(specs).targets]


def test_addresses_cidrs_and_ranges_expand_in_order_without_duplicates():
    assert addresses(["127.0.10.1", "127.0.10.4/31", "127.0.10.1-3"]) == [
        "127.0.10.1",
        "127.0.10.4",
        "127.0.10.5",
        "127.0.10.2",
        "127.0.10.3",
    ]


def test_full_range_and_ipv6_address():
    assert addresses(["127.0.10.254-127.0.11.1"]) == [
        "127.0.10.254",
        "127.0.10.255",
        "127.0.11.0",
        "127.0.11.1",
    ]
    assert addresses(["::1"]) == ["::1"]


def test_host_name_resolves_and_keeps_its_label():
    targets = parse_targets(["localhost"]).targets
    assert any(t.address in ("127.0.0.1", "::1") for t in targets)
    assert all(t.label == "localhost" for t in targets)


def test_at_file_reads_one_target_per_line_with_comments(tmp_path: Path):
    f = tmp_path / "t.txt"
    f.write_text("# lab\n127.0.10.7  # camera\n\n127.0.10.8\n")
    assert addresses([f"@{f}"]) == ["127.0.10.7", "127.0.10.8"]


def test_nmap_xml_gives_up_hosts_only(tmp_path: Path):
    f = tmp_path / "scan.xml"
    f.write_text(
        '<?xml version="1.0"?><nmaprun>'
        '<host><status state="up"/><address addr="127.0.10.9" addrtype="ipv4"/>'
        '<address addr="00:11:22:33:44:55" addrtype="mac"/>'
        '<hostnames><hostname name="cam9"/></hostnames></host>'
        '<host><status state="down"/><address addr="127.0.10.10" addrtype="ipv4"/></host>'
        "</nmaprun>"
    )
    tl = parse_targets([], from_nmap=f)
    assert [(t.address, t.label) for t in tl.targets] == [("127.0.10.9", "cam9")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("127.0.10.9-3", "ends before it starts"),
        ("127.0.10.1-x", "target range"),
        ("10.0.0.0/33", "not a valid CIDR"),
        ("bad name!", "not an address"),
        ("10.0.0.0/8", r"addresses \(at most"),
    ],
)
def test_bad_targets_get_a_clear_error(spec: str, message: str):
    with pytest.raises(ConfigError, match=message):
        parse_targets([spec])


def test_nmap_file_that_is_not_nmap_is_refused(tmp_path: Path):
    f = tmp_path / "x.xml"
    f.write_text("<html/>")
    with pytest.raises(ConfigError, match="not an nmap XML report"):
        parse_targets([], from_nmap=f)


def test_default_scope_is_what_the_user_named():
    tl = parse_targets(["127.0.10.0/30", "127.0.10.9"])
    scope = Scope(tl.networks)
    assert scope.admits("127.0.10.2")
    assert scope.admits("127.0.10.9")
    assert not scope.admits("127.0.10.8")


def test_scope_refuses_outside_addresses_and_host_names():
    scope = Scope.of(["127.0.10.0/24"])
    with pytest.raises(ScopeError, match=r"127\.0\.11\.1 is outside the allow-list"):
        scope.check("127.0.11.1")
    assert not scope.admits("localhost")
    assert not scope.admits("::1")


def test_a_target_file_line_may_give_a_label_and_a_profile(tmp_path: Path):
    f = tmp_path / "site.txt"
    f.write_text(
        "127.0.10.6 lobby-cam profile=acme-cam-200  # the lobby\n"
        "127.0.10.7 label=plc-1 profile=plc.yaml\n"
        "127.0.10.8 127.0.10.9\n"  # two targets on a line, as before labels existed
        "127.0.10.10/31 profile=base\n"
    )
    got = [(t.address, t.label, t.profile) for t in parse_targets([f"@{f}"]).targets]
    assert got == [
        ("127.0.10.6", "lobby-cam", "acme-cam-200"),
        ("127.0.10.7", "plc-1", str(tmp_path / "plc.yaml")),  # a file beside the list
        ("127.0.10.8", "", ""),
        ("127.0.10.9", "", ""),
        ("127.0.10.10", "", "base"),
        ("127.0.10.11", "", "base"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("127.0.10.6 cam other", "line 1: more than one label"),
        ("127.0.10.6 cam label=x", "line 1: more than one label"),
        ("127.0.10.6 profile=a profile=b", "line 1: more than one profile="),
        ("127.0.10.6 profile=", "line 1: profile= needs a value"),
        ("127.0.10.6 vendor=acme", "line 1: unknown setting vendor="),
    ],
)
def test_a_bad_target_file_line_names_the_line(tmp_path: Path, line: str, message: str):
    f = tmp_path / "site.txt"
    f.write_text(line + "\n")
    with pytest.raises(ConfigError, match=message):
        parse_targets([f"@{f}"])


def test_an_exclusion_is_refused_where_the_allow_list_refuses():
    scope = Scope.of(["127.0.10.0/24"], ["127.0.10.5", "127.0.10.8-9", "127.0.10.64/30"])
    for address in ("127.0.10.5", "127.0.10.8", "127.0.10.9", "127.0.10.66"):
        assert not scope.admits(address)
        with pytest.raises(ScopeError, match=f"{address} is excluded"):
            scope.check(address, "connection to")
    for address in ("127.0.10.4", "127.0.10.7", "127.0.10.10", "127.0.10.68"):
        scope.check(address)
    assert str(scope) == ("127.0.10.0/24 except 127.0.10.5/32, 127.0.10.8/31, 127.0.10.64/30")


@pytest.mark.parametrize(
    ("entry", "message"),
    [("127.0.10.9-3", "ends before it starts"), ("127.0.10.1-x", "expected an address")],
)
def test_a_bad_exclusion_is_a_clear_error(entry: str, message: str):
    with pytest.raises(ConfigError, match=message):
        Scope.of(["127.0.10.0/24"], [entry])
