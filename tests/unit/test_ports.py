"""Port specifications: nmap syntax in, sorted unique TCP/UDP tuples out; no sockets."""

from __future__ import annotations

import pytest

from scanner.discovery.ports import DEFAULT_PORTS, PortSet, describe, parse_ports, port_spec
from scanner.errors import ConfigError


def test_bare_ports_are_tcp_sorted_and_unique() -> None:
    assert parse_ports("443,22,80,22") == PortSet(tcp=(22, 80, 443))


def test_range_is_inclusive() -> None:
    assert parse_ports("1-5").tcp == (1, 2, 3, 4, 5)


def test_dash_alone_means_every_port() -> None:
    ports = parse_ports("-")
    assert ports.tcp[0] == 1
    assert ports.tcp[-1] == 65535
    assert len(ports.tcp) == 65535
    assert ports.udp == ()


def test_open_ended_ranges() -> None:
    assert parse_ports("-3").tcp == (1, 2, 3)
    assert parse_ports("65533-").tcp == (65533, 65534, 65535)


def test_prefixes_switch_protocol_for_following_tokens() -> None:
    ports = parse_ports("T:22,80,U:161,1900")
    assert ports == PortSet(tcp=(22, 80), udp=(161, 1900))


def test_prefixes_can_mix_and_switch_back() -> None:
    ports = parse_ports("21,U:53,T:23-24,u:5353")
    assert ports.tcp == (21, 23, 24)
    assert ports.udp == (53, 5353)


def test_spaces_around_tokens_are_tolerated() -> None:
    assert parse_ports(" 22 , 80 ").tcp == (22, 80)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("", "empty"),
        ("22,abc", "abc"),
        ("0", "0"),
        ("65536", "65536"),
        ("80-20", "80-20"),
        ("22,,80", "''"),
        ("X:22", "X:22"),
        ("1-2-3", "1-2-3"),
        ("+22", "+22"),
        ("２２", "２２"),
    ],
)
def test_bad_specifications_name_the_bad_token(spec: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_ports(spec)
    assert named in str(info.value)


def test_portset_normalises_and_validates() -> None:
    assert PortSet(tcp=(80, 22, 80)).tcp == (22, 80)
    with pytest.raises(ConfigError):
        PortSet(udp=(0,))


def test_default_ports_never_contain_2024() -> None:
    assert 2024 not in DEFAULT_PORTS.tcp
    assert 2024 not in DEFAULT_PORTS.udp


def test_default_ports_cover_iot_and_ics_services() -> None:
    for port in (
        22,
        23,
        80,
        102,
        443,
        502,
        554,
        1883,
        4840,
        7547,
        8883,
        20000,
        37777,
        44818,
        47808,
    ):
        assert port in DEFAULT_PORTS.tcp
    for port in (161, 1900, 5353, 5683):
        assert port in DEFAULT_PORTS.udp
    assert 300 <= len(DEFAULT_PORTS.tcp) <= 1000
    assert list(DEFAULT_PORTS.tcp) == sorted(set(DEFAULT_PORTS.tcp))


def test_describe_compresses_runs_and_counts() -> None:
    text = describe(parse_ports("22,80-82,U:161"))
    assert text == "TCP 22,80-82 (4 ports); UDP 161 (1 port)"
    assert describe(PortSet()) == "no ports"
    assert "…" in describe(DEFAULT_PORTS)


def test_port_spec_writes_what_parse_ports_reads_back() -> None:
    # The spec stored with a run is what --resume parses: the two must agree exactly.
    ports = PortSet(tcp=(22, 80, 81, 82, 443, 8000, 8001), udp=(53, 161, 162, 1900))
    assert port_spec(ports) == "T:22,80-82,443,8000-8001,U:53,161-162,1900"
    assert parse_ports(port_spec(ports)) == ports
    assert port_spec(PortSet(udp=(5683,))) == "U:5683"
    assert port_spec(PortSet()) == ""
    assert parse_ports(port_spec(DEFAULT_PORTS)) == DEFAULT_PORTS
