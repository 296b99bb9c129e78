"""Link-layer discovery without a network: which routes make a subnet on-link
(scanner/discovery/routes.py), which addresses a sweep asks, the frames it builds and the
answers it accepts (scanner/discovery/link.py). The sweeps on a real segment are in
tests/link/."""

from __future__ import annotations

import ipaddress

import pytest
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from scanner.discovery.link import (
    addresses_to_ask,
    arp_answer,
    arp_requests,
    nd_answer,
    neighbor_solicitations,
)
from scanner.discovery.routes import on_link_interface, parse_ipv4_routes, parse_ipv6_routes
from scanner.errors import ConfigError, ScopeError
from scanner.scope import Scope

OURS = "02:00:00:00:00:01"
THEIRS = "00:1b:1b:0a:0b:0c"

IPV4 = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0101FA0A\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t003CFA0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t803CFA0A\t0201FA0A\t0003\t0\t0\t0\t80FFFFFF\t0\t0\t0
eth1\t003DFA0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth1\t003EFA0A\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0
lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0
"""
IPV6 = (
    "fd000250006100000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth1\n"
    "fd000250006100000000000000000001 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000002 00000000 80200001 lo\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000250006100000000000000000fe0 00000400 00000003 00000000 00000003 eth1\n"
)


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_an_on_link_subnet_names_its_interface() -> None:
    routes = parse_ipv4_routes(IPV4)
    assert on_link_interface(_net("10.250.61.0/24"), routes) == "eth1"
    assert on_link_interface(_net("10.250.60.0/25"), routes) == "eth0"
    v6 = parse_ipv6_routes(IPV6)
    assert len(v6) == 2  # our own address (RTF_LOCAL, on lo) is not a route to sweep
    assert on_link_interface(_net("fd00:250:61::/120"), v6) == "eth1"


@pytest.mark.parametrize(
    ("subnet", "said"),
    [
        ("10.250.99.0/24", "not on a local link"),  # only the default route covers it
        ("10.250.60.0/24", "part of 10.250.60.0/24 is not on eth0's link"),  # .128/25 routed
        ("10.250.62.0/24", "not on a local link"),  # a reject route
        ("127.0.0.0/24", "not on a local link"),  # loopback is no link
        ("10.250.0.0/16", "not on a local link"),  # wider than every on-link route
    ],
)
def test_a_subnet_off_the_link_is_refused_saying_which_route(subnet: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        on_link_interface(_net(subnet), parse_ipv4_routes(IPV4))


def test_no_route_at_all_is_refused() -> None:
    with pytest.raises(ConfigError, match="no route covers it"):
        on_link_interface(_net("fd00:250:99::/120"), [])


def test_a_sweep_asks_the_scope_not_beyond_it() -> None:
    network = ipaddress.ip_network("10.250.60.0/29")
    scope = Scope.of(["10.250.60.0/24"], ["10.250.60.3"])
    asked = addresses_to_ask(network, scope, own=("10.250.60.1",))
    assert asked == ["10.250.60.2", "10.250.60.4", "10.250.60.5", "10.250.60.6"]
    with pytest.raises(ScopeError, match=r"10\.250\.60\.4 is outside the allow-list"):
        addresses_to_ask(network, Scope.of(["10.250.60.0/30"]))
    with pytest.raises(ConfigError, match="give smaller subnets"):
        addresses_to_ask(ipaddress.ip_network("fd00:250:60::/64"), Scope.of(["fd00::/8"]))


def test_arp_requests_are_one_broadcast_who_has_per_address() -> None:
    frames = arp_requests(["10.250.60.2", "10.250.60.200"], "10.250.60.1", OURS)
    for frame, target in zip(frames, ("10.250.60.2", "10.250.60.200"), strict=True):
        assert len(frame) == 42
        ether = Ether(frame)
        assert ether.dst == "ff:ff:ff:ff:ff:ff"
        assert ether.src == OURS
        arp = ether[ARP]
        assert (arp.op, arp.hwsrc, arp.psrc, arp.pdst) == (1, OURS, "10.250.60.1", target)


def test_neighbor_solicitations_go_to_the_solicited_node_group() -> None:
    (frame,) = neighbor_solicitations(["fd00:250:60::12:3456"], "fd00:250:60::1", OURS)
    ether = Ether(frame)
    assert ether.dst == "33:33:ff:12:34:56"
    ip6 = ether[IPv6]
    assert (ip6.dst, ip6.hlim, ip6.src) == ("ff02::1:ff12:3456", 255, "fd00:250:60::1")
    assert ether[ICMPv6ND_NS].tgt == "fd00:250:60::12:3456"
    # the checksum scapy wrote is the one it computes afresh
    rebuilt = Ether(frame)
    del rebuilt[ICMPv6ND_NS].cksum
    assert bytes(rebuilt) == frame


def _arp_reply(op: int = 2, psrc: str = "10.250.60.2", pdst: str = "10.250.60.1") -> bytes:
    return bytes(
        Ether(src=THEIRS, dst=OURS) / ARP(op=op, hwsrc=THEIRS, psrc=psrc, hwdst=OURS, pdst=pdst)
    )


def test_an_arp_answer_counts_only_as_a_reply_to_our_request() -> None:
    pending = {"10.250.60.2": b""}
    assert arp_answer(_arp_reply(), pending, "10.250.60.1") == ("10.250.60.2", THEIRS)
    assert arp_answer(_arp_reply(op=1), pending, "10.250.60.1") is None  # a request
    assert arp_answer(_arp_reply(psrc="10.250.60.9"), pending, "10.250.60.1") is None  # unasked
    assert arp_answer(_arp_reply(pdst="10.250.60.7"), pending, "10.250.60.1") is None  # not us
    assert arp_answer(_arp_reply()[:30], pending, "10.250.60.1") is None
    assert arp_answer(b"", pending, "10.250.60.1") is None


def _na(target: str, hlim: int = 255, option: str | None = THEIRS) -> bytes:
    frame = (
        Ether(src="00:1b:1b:99:99:99", dst=OURS)
        / IPv6(src=target, dst="fd00:250:60::1", hlim=hlim)
        / ICMPv6ND_NA(tgt=target, S=1, O=1)
    )
    if option:
        frame = frame / ICMPv6NDOptDstLLAddr(lladdr=option)
    return bytes(frame)


def test_a_neighbor_advertisement_counts_only_unrouted_and_for_our_target() -> None:
    pending = {"fd00:250:60::2": b""}
    assert nd_answer(_na("fd00:250:60::2"), pending) == ("fd00:250:60::2", THEIRS)
    # without its link-layer option: the frame's source
    assert nd_answer(_na("fd00:250:60::2", option=None), pending) == (
        "fd00:250:60::2",
        "00:1b:1b:99:99:99",
    )
    assert nd_answer(_na("fd00:250:60::2", hlim=64), pending) is None  # routed: forged
    assert nd_answer(_na("fd00:250:60::3"), pending) is None  # not asked
    assert nd_answer(_na("fd00:250:60::2", option="01:00:5e:00:00:01"), pending) is None
    assert nd_answer(_na("fd00:250:60::2")[:60], pending) is None
