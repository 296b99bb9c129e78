"""Default-credentials login clients against real daemons.

Each planted daemon still accepts its factory login (a local user on admin for OpenSSH,
dropbear and busybox telnetd; admin/admin in lighttpd's and mosquitto's user files; the
community `public` for snmpd; anonymous for vsftpd). Each `*_changed` twin is the same daemon
after the operator changed that password. Every client is given the same short list, wrong
pair first: the planted default must come back ACCEPTED, and on the changed twin nothing may
(a miss there is a false PASS, a hit a false FAIL).

OpenSSH's MaxStartups (10:30:100 by default) drops connections at random past 10
unauthenticated ones; with 16 connections a client must not turn such a drop into a
REJECTED (it may retry the credential, or record it THROTTLED or ERROR), and must still
find the right password, which is last in a list of 51.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from probes._login.common import Pace
from scanner.credentials import Credential, LoginRun, Outcome
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, Facts
from scanner.fingerprint.services import fingerprint
from scanner.model import Service
from scanner.net import DeviceNetwork, Limits, Network
from scanner.scope import Scope

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

pytestmark = pytest.mark.interop

#: The short list every daemon gets: a wrong password first, the factory default second.
WRONG = "wrong1"
DEFAULT = "admin"  # conftest.DEFAULT_PASSWORD (importing conftest is not portable)
LIST_TIMEOUT = 10.0


class CredsDaemon(Protocol):
    """What the tests read from conftest's CredsDaemon."""

    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def log(self) -> Path: ...
    def log_tail(self) -> str: ...


class Daemon(Protocol):
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...


def login_module(protocol: str) -> Any:
    return importlib.import_module(f"probes._login.{protocol}")


def device(address: str, connections: int = 1) -> DeviceNetwork:
    limits = Limits(per_device=max(2, connections), connect_timeout=3.0, read_timeout=10.0)
    return Network(Scope.of([address]), limits).device(address)


def pairs(run: LoginRun, outcome: Outcome) -> list[tuple[str, str]]:
    return [
        (a.credential.username, a.credential.password) for a in run.attempts if a.outcome is outcome
    ]


def describe(run: LoginRun) -> str:
    lines = [f"{run.method}: note={run.note!r} control={run.control!r}"]
    lines += [f"  {a.credential.masked()} {a.outcome.value} {a.detail!r}" for a in run.attempts]
    return "\n".join(lines)


async def try_logins(
    protocol: str,
    address: str,
    service: Service,
    credentials: Sequence[Credential],
    *,
    connections: int = 1,
    timeout: float = LIST_TIMEOUT,
    **extra: Any,
) -> LoginRun:
    run = await login_module(protocol).try_logins(
        device(address, connections),
        service,
        list(credentials),
        pace=Pace(timeout=timeout, connections=connections),
        **extra,
    )
    assert isinstance(run, LoginRun)
    return run


def assert_found(run: LoginRun, right: tuple[str, str], wrong: Sequence[tuple[str, str]]) -> None:
    info = describe(run)
    assert pairs(run, Outcome.ACCEPTED) == [right], info
    for pair in wrong:
        assert pair not in pairs(run, Outcome.ACCEPTED), info
    # With one connection the list is tried in order: the wrong pair was really tried first
    # and rejected, and nothing was tried after the hit.
    assert pairs(run, Outcome.REJECTED) == list(wrong), info
    assert run.attempts[-1].outcome is Outcome.ACCEPTED, info
    if run.control is not None:  # a random bogus login: accepted would mean no oracle
        assert run.control.outcome is not Outcome.ACCEPTED, info


def assert_not_found(run: LoginRun, tried: Sequence[tuple[str, str]]) -> None:
    info = describe(run)
    assert pairs(run, Outcome.ACCEPTED) == [], info
    assert pairs(run, Outcome.REJECTED) == list(tried), info  # each tried, each a definite no


async def http_facts(daemon: Daemon) -> tuple[Service, Facts]:
    """Fingerprint the HTTP daemon as a scan would, for the pages and forms it found."""
    network = Network(Scope.of([daemon.address]), Limits(connect_timeout=2.0, read_timeout=3.0))
    facts = Facts()
    services = await fingerprint(network.device(daemon.address), [daemon.port], (), facts)
    (service,) = (s for s in services if s.port == daemon.port)
    assert service.protocol == "http"
    return service, facts


SSH = Service("tcp", 22, "ssh")
TELNET = Service("tcp", 23, "telnet")
FTP = Service("tcp", 21, "ftp")
MQTT = Service("tcp", 1883, "mqtt")
SNMP = Service("udp", 161, "snmp")


# --- SSH, telnet: a local user whose password is still admin -------------------------------


@pytest.mark.parametrize(
    ("fixture", "protocol", "service"),
    [
        ("sshd_creds", "ssh", SSH),
        ("dropbear_creds", "ssh", SSH),
        ("telnetd_creds", "telnet", TELNET),
    ],
)
async def test_system_login_default_is_found(
    request: pytest.FixtureRequest, fixture: str, protocol: str, service: Service
) -> None:
    # Given a daemon that logs in a local user still on the default password
    daemon: CredsDaemon = request.getfixturevalue(fixture)
    assert daemon.password == DEFAULT
    wrong = (daemon.username, WRONG)
    right = (daemon.username, DEFAULT)
    # When the client tries the wrong pair, then the default
    run = await try_logins(
        protocol, daemon.address, service, [Credential(*wrong), Credential(*right)]
    )
    # Then the default is the one accepted attempt
    assert_found(run, right, [wrong])


@pytest.mark.parametrize(
    ("fixture", "protocol", "service"),
    [
        ("sshd_changed", "ssh", SSH),
        ("dropbear_changed", "ssh", SSH),
        ("telnetd_changed", "telnet", TELNET),
    ],
)
async def test_system_login_changed_password_is_not_found(
    request: pytest.FixtureRequest, fixture: str, protocol: str, service: Service
) -> None:
    # Given the same daemon after the user's password was changed
    daemon: CredsDaemon = request.getfixturevalue(fixture)
    assert daemon.password != DEFAULT
    tried = [(daemon.username, WRONG), (daemon.username, DEFAULT)]
    # When the client tries the same list
    run = await try_logins(protocol, daemon.address, service, [Credential(*p) for p in tried])
    # Then both are definite rejections and nothing is accepted
    assert_not_found(run, tried)


# --- HTTP Basic (lighttpd mod_auth) --------------------------------------------------------


async def test_http_basic_default_is_found(lighttpd_basic: CredsDaemon) -> None:
    service, facts = await http_facts(lighttpd_basic)
    pages = facts.get(HTTP_PAGES) or ()
    assert any(p.auth_scheme.lower() == "basic" for p in pages)
    wrong, right = ("admin", WRONG), ("admin", DEFAULT)
    run = await try_logins(
        "http",
        lighttpd_basic.address,
        service,
        [Credential(*wrong), Credential(*right)],
        pages=pages,
        forms=facts.get(LOGIN_FORMS) or (),
    )
    assert_found(run, right, [wrong])
    assert "basic" in run.method.lower()


async def test_http_basic_changed_password_is_not_found(
    lighttpd_basic_changed: CredsDaemon,
) -> None:
    service, facts = await http_facts(lighttpd_basic_changed)
    tried = [("admin", WRONG), ("admin", DEFAULT)]
    run = await try_logins(
        "http",
        lighttpd_basic_changed.address,
        service,
        [Credential(*p) for p in tried],
        pages=facts.get(HTTP_PAGES) or (),
        forms=facts.get(LOGIN_FORMS) or (),
    )
    assert_not_found(run, tried)


# --- MQTT (mosquitto password file) --------------------------------------------------------


async def test_mqtt_default_is_found(mosquitto_passwd: CredsDaemon) -> None:
    wrong, right = ("admin", WRONG), ("admin", DEFAULT)
    run = await try_logins(
        "mqtt", mosquitto_passwd.address, MQTT, [Credential(*wrong), Credential(*right)]
    )
    assert_found(run, right, [wrong])


async def test_mqtt_changed_password_is_not_found(mosquitto_auth: Daemon) -> None:
    # mosquitto_auth's only user is operator/s3cret-interop: admin was changed away.
    tried = [("admin", WRONG), ("admin", DEFAULT)]
    run = await try_logins("mqtt", mosquitto_auth.address, MQTT, [Credential(*p) for p in tried])
    assert_not_found(run, tried)


async def test_mqtt_anonymous_broker_is_no_oracle_for_passwords(mosquitto: Daemon) -> None:
    # A broker that lets anyone in accepts every password: no pair may be reported as the
    # device's default on the strength of that, the bogus control login shows why.
    run = await try_logins(
        "mqtt", mosquitto.address, MQTT, [Credential("admin", WRONG), Credential("admin", DEFAULT)]
    )
    info = describe(run)
    if pairs(run, Outcome.ACCEPTED):
        assert run.control is not None, info
        assert run.control.outcome is Outcome.ACCEPTED, info


# --- FTP (vsftpd anonymous) ----------------------------------------------------------------


async def test_ftp_anonymous_is_found(vsftpd: Daemon) -> None:
    wrong = ("admin", WRONG)  # vsftpd with local_enable=NO: 530 for every local user
    right = ("anonymous", "shinsa@example.invalid")
    run = await try_logins("ftp", vsftpd.address, FTP, [Credential(*wrong), Credential(*right)])
    assert_found(run, right, [wrong])


# --- SNMP v1/v2c communities ---------------------------------------------------------------


async def test_snmp_public_community_is_found(snmpd: Daemon) -> None:
    wrong, right = ("", "wrong1-community"), ("", "public")
    run = await try_logins(
        "snmp", snmpd.address, SNMP, [Credential(*wrong), Credential(*right)], timeout=3.0
    )
    info = describe(run)
    assert pairs(run, Outcome.ACCEPTED) == [right], info
    assert wrong not in pairs(run, Outcome.ACCEPTED), info


async def test_snmp_changed_community_is_not_found(snmpd_changed: CredsDaemon) -> None:
    tried = [("", "public"), ("", "private")]
    run = await try_logins(
        "snmp", snmpd_changed.address, SNMP, [Credential(*p) for p in tried], timeout=3.0
    )
    info = describe(run)
    assert pairs(run, Outcome.ACCEPTED) == [], info
    # An agent answers a wrong community with silence: the client may call that REJECTED
    # or, not knowing the agent is alive, ERROR; never ACCEPTED.
    assert {a.outcome for a in run.attempts} <= {Outcome.REJECTED, Outcome.ERROR}, info
    assert len(run.attempts) == len(tried), info


# --- OpenSSH MaxStartups: 16 connections, right password last of 51 ------------------------


async def test_ssh_finds_last_password_through_maxstartups_drops(
    sshd_maxstartups: CredsDaemon,
) -> None:
    # Given OpenSSH at its default MaxStartups 10:30:100 and 50 wrong passwords before the
    # right one
    daemon = sshd_maxstartups
    user = daemon.username
    right = (user, daemon.password)
    wrong = [(user, f"wrong-{n:02d}") for n in range(50)]
    credentials = [Credential(*p) for p in (*wrong, right)]
    throttled_or_error = 0
    rejected = 0
    for run_no in range(3):
        # When the client spends them over 16 connections
        run = await try_logins(
            "ssh", daemon.address, SSH, credentials, connections=16, timeout=LIST_TIMEOUT
        )
        info = f"run {run_no}: {describe(run)}"
        # Then the right password is found every time, and no wrong one is accepted
        assert pairs(run, Outcome.ACCEPTED) == [right], info
        assert set(pairs(run, Outcome.REJECTED)) <= set(wrong), info
        assert {a.outcome for a in run.attempts} <= {
            Outcome.ACCEPTED,
            Outcome.REJECTED,
            Outcome.THROTTLED,
            Outcome.ERROR,
        }, info
        tried = [(a.credential.username, a.credential.password) for a in run.attempts]
        assert len(tried) == len(set(tried)), info  # one outcome per credential
        rejected += len(pairs(run, Outcome.REJECTED))
        throttled_or_error += len(pairs(run, Outcome.THROTTLED)) + len(pairs(run, Outcome.ERROR))
    # And every REJECTED is a password sshd really checked and refused: a connection dropped
    # past MaxStartups is retried (the same credential, on a new connection) or shows as
    # THROTTLED/ERROR, never as a wrong password
    log = daemon.log.read_text(errors="replace")
    failed_passwords = log.count("Failed password for")
    drops = log.count("past MaxStartups")
    assert rejected <= failed_passwords, (rejected, failed_passwords, drops, throttled_or_error)


# --- dropbear's per-address limit: 16 connections, right password last of 51 --------------


async def test_ssh_finds_last_password_through_dropbears_per_address_limit(
    dropbear_creds: CredsDaemon,
) -> None:
    # Given dropbear, which refuses more than a few unauthenticated connections per source
    # address (MAX_UNAUTH_PER_IP), and 50 wrong passwords before the right one
    daemon = dropbear_creds
    right = (daemon.username, daemon.password)
    wrong = [(daemon.username, f"wrong-{n:02d}") for n in range(50)]
    credentials = [Credential(*p) for p in (*wrong, right)]
    # When the client spends them over 16 connections
    run = await try_logins(
        "ssh", daemon.address, SSH, credentials, connections=16, timeout=LIST_TIMEOUT
    )
    info = describe(run)
    # Then the right password is found, no wrong one is accepted, and a refused connection
    # never shows as a wrong password (each credential has one outcome)
    assert pairs(run, Outcome.ACCEPTED) == [right], info
    assert set(pairs(run, Outcome.REJECTED)) <= set(wrong), info
    tried = [(a.credential.username, a.credential.password) for a in run.attempts]
    assert len(tried) == len(set(tried)), info
