"""Discovery + fingerprinting against real daemons: the exact services each one shows.

Each test scans the daemon's own address for its port and a few ports where nothing
listens, so a wrong extra or missing service fails the test as surely as a wrong name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pytest

from scanner.discovery.tcp import connect_scan
from scanner.discovery.udp import udp_scan
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, MQTT_INFO, UDP_ANSWERS, Facts
from scanner.fingerprint.services import fingerprint
from scanner.net import Limits, Network
from scanner.scope import Scope

if TYPE_CHECKING:
    from scanner.model import Service


class Daemon(Protocol):
    """What the tests read from conftest's Daemon (importing conftest is not portable)."""

    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...


pytestmark = pytest.mark.interop

#: Ports scanned on every daemon's address besides its own; never 2024 (the machine's).
CLOSED_TCP = (21, 22, 23, 25, 80, 443, 502, 1883, 8080, 8883)
UDP_PORTS = (161, 1900, 5353, 5683)
SYSDESCR = "shinsa interop snmpd"  # what the snmpd fixture configures


@dataclass(frozen=True, slots=True)
class Scan:
    services: tuple[Service, ...]
    facts: Facts

    @property
    def shape(self) -> set[tuple[str, int, str]]:
        return {(s.transport, s.port, s.protocol) for s in self.services}

    def one(self, protocol: str) -> Service:
        (service,) = (s for s in self.services if s.protocol == protocol)
        return service


async def scan(daemon: Daemon, *, udp: bool = False) -> Scan:
    address = daemon.address
    tcp_ports = sorted({*CLOSED_TCP, daemon.port} - ({daemon.port} if udp else set()))
    open_tcp = (await connect_scan([address], tcp_ports, timeout=1.0))[address]
    replies = (await udp_scan([address], UDP_PORTS, timeout=1.0))[address] if udp else ()
    network = Network(Scope.of([address]), Limits(connect_timeout=2.0, read_timeout=3.0))
    facts = Facts()
    services = await fingerprint(network.device(address), open_tcp, replies, facts)
    return Scan(services, facts)


async def test_openssh_is_ssh_with_openssh_product(sshd: Daemon) -> None:
    result = await scan(sshd)
    assert result.shape == {("tcp", 22, "ssh")}
    ssh = result.one("ssh")
    assert "OpenSSH" in ssh.product
    assert ssh.banner.startswith("SSH-2.0-OpenSSH")


async def test_dropbear_is_ssh_with_dropbear_product(dropbear: Daemon) -> None:
    result = await scan(dropbear)
    assert result.shape == {("tcp", 22, "ssh")}
    assert "dropbear" in result.one("ssh").product.lower()


async def test_lighttpd_is_http_and_its_redirected_login_form_is_found(lighttpd: Daemon) -> None:
    result = await scan(lighttpd)
    assert result.shape == {("tcp", 80, "http")}
    http = result.one("http")
    assert http.product.startswith("lighttpd")
    assert not http.tls

    pages = result.facts.get(HTTP_PAGES)
    assert pages is not None
    assert pages[0].url == f"http://{lighttpd.address}/"
    assert pages[0].status in (301, 302)
    assert pages[0].location.endswith("/login.html")
    assert pages[0].server.startswith("lighttpd")
    assert pages[-1].title == "Interop Camera Login"

    forms = result.facts.get(LOGIN_FORMS)
    assert forms is not None
    (form,) = forms
    assert form.page_url == f"http://{lighttpd.address}/login.html"
    assert form.action_url == f"http://{lighttpd.address}/cgi-bin/login"
    assert (form.method, form.username_field, form.password_field) == ("POST", "user", "pass")
    assert form.hidden_fields == (("csrf", "tok123"),)


async def test_vsftpd_is_ftp_with_vsftpd_product(vsftpd: Daemon) -> None:
    result = await scan(vsftpd)
    assert result.shape == {("tcp", 21, "ftp")}
    ftp = result.one("ftp")
    assert "vsFTPd" in ftp.product
    assert ftp.banner.startswith("220")


async def test_mosquitto_with_anonymous_access_is_mqtt_accepting_anonymous(
    mosquitto: Daemon,
) -> None:
    result = await scan(mosquitto)
    assert result.shape == {("tcp", 1883, "mqtt")}
    info = result.facts.get(MQTT_INFO)
    assert info is not None
    assert [(i.service.port, i.return_code, i.accepted_anonymous) for i in info] == [
        (1883, 0, True)
    ]


async def test_mosquitto_with_password_file_refuses_anonymous(mosquitto_auth: Daemon) -> None:
    result = await scan(mosquitto_auth)
    assert result.shape == {("tcp", 1883, "mqtt")}
    info = result.facts.get(MQTT_INFO)
    assert info is not None
    (only,) = info
    assert not only.accepted_anonymous
    assert only.return_code == 5  # 3.1.1 "not authorized"


async def test_snmpd_is_snmp_on_udp_161_with_community_and_sysdescr(snmpd: Daemon) -> None:
    result = await scan(snmpd, udp=True)
    assert result.shape == {("udp", 161, "snmp")}
    assert SYSDESCR in result.one("snmp").banner
    answers = result.facts.get(UDP_ANSWERS)
    assert answers is not None
    assert answers  # v1 and v2c may both answer: each is one answer about udp/161
    for answer in answers:
        assert answer.service.key == "udp/161"
        assert answer.snmp_community == "public"
        assert SYSDESCR in answer.response_summary


async def test_busybox_telnetd_is_telnet(telnetd: Daemon) -> None:
    result = await scan(telnetd)
    assert result.shape == {("tcp", 23, "telnet")}
