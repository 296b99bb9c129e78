"""Address plan: demo in 127.0.10/24, one test /24 per xdist worker."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from lab import addresses


def test_demo_network() -> None:
    assert addresses.demo_network() == IPv4Network("127.0.10.0/24")


def test_worker_gets_its_own_network() -> None:
    assert addresses.test_network("gw3") == IPv4Network("127.0.23.0/24")


def test_worker_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")
    assert addresses.test_network(None) == IPv4Network("127.0.27.0/24")
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert addresses.test_network(None) == IPv4Network("127.0.20.0/24")


@pytest.mark.parametrize("worker", ["gw10", "master", ""])
def test_worker_without_a_network_is_refused(worker: str) -> None:
    with pytest.raises(ValueError, match="gw"):
        addresses.test_network(worker)


def test_host_addresses_start_at_one() -> None:
    hosts = list(addresses.host_addresses(addresses.demo_network()))
    assert str(hosts[0]) == "127.0.10.1"
    assert str(hosts[-1]) == "127.0.10.254"


def test_consecutive_stays_in_loopback() -> None:
    assert addresses.consecutive("127.0.10.254", 3) == [
        "127.0.10.254",
        "127.0.10.255",
        "127.0.11.0",
    ]
    with pytest.raises(ValueError, match="leave"):
        addresses.consecutive("127.255.255.255", 2)
