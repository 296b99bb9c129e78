"""The KEXINIT parser on fixed bytes, and the SSH algorithm policy decisions."""

from __future__ import annotations

import asyncio
import re
import struct

import pytest

from probes._ssh import (
    MAX_PACKET,
    AuthMethods,
    KexinitError,
    NoKexinit,
    Offer,
    hostkey_preference,
    parse_kexinit,
    parse_packet,
    read_offer,
)
from probes.ssh_config import (
    WEAK_CIPHERS,
    WEAK_KEX,
    WEAK_MACS,
    SshConfig,
    SshObservation,
    hostkey_algorithm_findings,
    judge,
    weak_names,
)
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext, ServiceResults
from scanner.scope import Scope


def name_list(*names: str) -> bytes:
    raw = ",".join(names).encode()
    return struct.pack(">I", len(raw)) + raw


LISTS = (
    ("curve25519-sha256", "diffie-hellman-group14-sha1"),
    ("ssh-ed25519", "rsa-sha2-256"),
    ("aes128-ctr",),
    ("aes128-ctr", "aes128-cbc"),
    ("hmac-sha2-256",),
    ("hmac-sha2-256", "hmac-md5"),
    ("none",),
    ("none", "zlib@openssh.com"),
    (),
    (),
)


def kexinit_payload(lists: tuple[tuple[str, ...], ...] = LISTS, follows: int = 0) -> bytes:
    body = bytes([20]) + b"\x11" * 16 + b"".join(name_list(*n) for n in lists)
    return body + bytes([follows]) + b"\0\0\0\0"


def packet(payload: bytes, padding: int = 4) -> bytes:
    length = 1 + len(payload) + padding
    return struct.pack(">IB", length, padding) + payload + b"\0" * padding


def test_a_kexinit_yields_its_ten_name_lists_in_order() -> None:
    k = parse_kexinit(kexinit_payload(follows=1))
    assert k.kex == ("curve25519-sha256", "diffie-hellman-group14-sha1")
    assert k.hostkey == ("ssh-ed25519", "rsa-sha2-256")
    assert k.ciphers == ("aes128-ctr", "aes128-cbc")  # both directions, once each
    assert k.macs == ("hmac-sha2-256", "hmac-md5")
    assert k.compression_s2c == ("none", "zlib@openssh.com")
    assert k.languages_c2s == ()
    assert k.first_kex_follows is True


def test_a_packet_is_unwrapped_to_its_payload_without_padding() -> None:
    payload = kexinit_payload()
    data = packet(payload, padding=7) + b"next packet"
    got, used = parse_packet(data)
    assert got == payload
    assert data[used:] == b"next packet"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "not a KEXINIT"),
        (bytes([21]) + b"\0" * 40, "not a KEXINIT"),
        (kexinit_payload()[:19], "truncated"),
        (kexinit_payload()[:30], "claims"),
        (kexinit_payload()[:-5], "first_kex_packet_follows"),
        (bytes([20]) + b"\0" * 16 + struct.pack(">I", 0xFFFFFFFF), "claims"),
        (bytes([20]) + b"\0" * 16 + name_list("a,,b"), "empty name"),
        (bytes([20]) + b"\0" * 16 + struct.pack(">I", 3) + b"a\xffb", "printable"),
    ],
)
def test_garbage_and_truncated_kexinits_are_refused(payload: bytes, message: str) -> None:
    with pytest.raises(KexinitError, match=message):
        parse_kexinit(payload)


@pytest.mark.parametrize("length", [0, 4, MAX_PACKET, 0xFFFFFFFF])
def test_a_packet_length_outside_the_bound_is_refused_before_reading_it(length: int) -> None:
    with pytest.raises(KexinitError, match="packet length"):
        parse_packet(struct.pack(">IB", length, 4) + b"\0" * 16)


def test_an_incomplete_packet_asks_for_more_bytes() -> None:
    with pytest.raises(EOFError):
        parse_packet(packet(kexinit_payload())[:-3])


def test_a_padding_length_larger_than_the_packet_is_refused() -> None:
    with pytest.raises(KexinitError, match="padding"):
        parse_packet(struct.pack(">IB", 10, 200) + b"\0" * 9)


@pytest.mark.parametrize(
    ("table", "offered", "weak"),
    [
        (WEAK_KEX, ["curve25519-sha256", "diffie-hellman-group14-sha256"], []),
        (WEAK_KEX, ["diffie-hellman-group1-sha1"], ["diffie-hellman-group1-sha1"]),
        (WEAK_KEX, ["diffie-hellman-group14-sha1"], ["diffie-hellman-group14-sha1"]),
        (WEAK_KEX, ["diffie-hellman-group-exchange-sha1"], ["diffie-hellman-group-exchange-sha1"]),
        (WEAK_KEX, ["gss-group14-sha1-toWM5Slw5Ew8Mqkay+al2g=="], ["gss-group14-sha1-*"]),
        (WEAK_KEX, ["rsa1024-sha1", "rsa2048-sha256"], ["rsa1024-sha1"]),
        (WEAK_CIPHERS, ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"], []),
        (WEAK_CIPHERS, ["aes128-cbc", "3des-cbc", "aes128-ctr"], ["aes128-cbc", "3des-cbc"]),
        (
            WEAK_CIPHERS,
            ["arcfour256", "blowfish-cbc", "none"],
            ["arcfour256", "blowfish-cbc", "none"],
        ),
        (
            WEAK_CIPHERS,
            ["rijndael-cbc@lysator.liu.se", "cast128-cbc"],
            ["rijndael-cbc@lysator.liu.se", "cast128-cbc"],
        ),
        (WEAK_MACS, ["hmac-sha2-256-etm@openssh.com", "umac-128@openssh.com"], []),
        (
            WEAK_MACS,
            ["hmac-md5-96", "hmac-sha1-96", "hmac-sha1-etm@openssh.com"],
            ["hmac-md5-96", "hmac-sha1-96", "hmac-sha1-etm@openssh.com"],
        ),
        (
            WEAK_MACS,
            ["umac-64@openssh.com", "umac-64-etm@openssh.com"],
            ["umac-64@openssh.com", "umac-64-etm@openssh.com"],
        ),
    ],
)
def test_the_policy_flags_exactly_the_weak_names(
    table: tuple[tuple[str, str, str], ...], offered: list[str], weak: list[str]
) -> None:
    found = weak_names(offered, table)
    if weak == ["gss-group14-sha1-*"]:
        assert list(found) == offered
    else:
        assert list(found) == weak
    assert all(found.values())  # every finding says why
    # and says it in Japanese too, with the same references and sizes
    found_ja = weak_names(offered, table, ja=True)
    assert list(found_ja) == list(found)
    for name, why in found.items():
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", found_ja[name])
        assert re.findall(r"\d+", found_ja[name]) == re.findall(r"\d+", why)


@pytest.mark.parametrize(
    ("offered", "weak"),
    [
        (["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"], []),  # ssh-rsa beside SHA-2
        (["ssh-rsa"], ["ssh-rsa"]),  # SHA-1 signatures only
        (["ssh-ed25519", "ssh-dss"], ["ssh-dss"]),
        (["ecdsa-sha2-nistp256"], []),
    ],
)
def test_host_key_algorithms_are_judged_by_name(offered: list[str], weak: list[str]) -> None:
    assert sorted(hostkey_algorithm_findings(offered)) == sorted(weak)
    assert sorted(hostkey_algorithm_findings(offered, ja=True)) == sorted(weak)


def test_the_auth_probe_prefers_non_rsa_host_keys_the_client_knows() -> None:
    assert hostkey_preference(["rsa-sha2-256", "ssh-ed25519", "x-unknown@example"]) == [
        "ssh-ed25519",
        "rsa-sha2-256",
    ]


async def _serve(reply: bytes) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(reply)
        await writer.drain()
        await reader.read(100)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_read_offer_reads_the_ident_and_kexinit_from_a_socket() -> None:
    server, port = await _serve(b"hello\r\nSSH-2.0-Test_1.0\r\n" + packet(kexinit_payload()))
    async with server:
        net = Network(Scope.of(["127.0.0.1"])).device("127.0.0.1")
        offer = await read_offer(net, port)
    assert offer.ident == "SSH-2.0-Test_1.0"
    assert offer.kexinit.kex == LISTS[0]


async def test_a_server_that_never_sends_kexinit_is_an_error_for_every_check_never_pass() -> None:
    # The banner-only shape: ident line, then the connection closes.
    server, port = await _serve(b"SSH-2.0-dropbear_2020.81\r\n")
    async with server:
        net = Network(Scope.of(["127.0.0.1"])).device("127.0.0.1")
        with pytest.raises(NoKexinit, match="closed"):
            await read_offer(net, port)
        ctx = ProbeContext(Target("127.0.0.1"), net, Facts())
        results = await SshConfig().run(ctx, Service("tcp", port, "ssh"))
    assert [r.check_id for r in results] == [c.id for c in SshConfig.checks]
    assert {r.verdict for r in results} == {Verdict.ERROR}
    assert all("KEXINIT" in r.reason for r in results)


async def test_a_huge_announced_packet_length_is_refused_without_reading_it() -> None:
    server, port = await _serve(b"SSH-2.0-X\r\n" + struct.pack(">I", 0x7FFFFFFF))
    async with server:
        net = Network(Scope.of(["127.0.0.1"])).device("127.0.0.1")
        with pytest.raises(NoKexinit, match="packet length"):
            await read_offer(net, port)


def _about() -> ServiceResults:
    net = Network(Scope.of(["127.0.75.60"])).device("127.0.75.60")
    return ProbeContext(Target("127.0.75.60"), net, Facts()).about(Service("tcp", 22, "ssh"))


def _offer(lists: tuple[tuple[str, ...], ...] = LISTS) -> Offer:
    return Offer("SSH-2.0-Test_1.0", parse_kexinit(kexinit_payload(lists)))


def test_the_judge_decides_from_an_observation_alone() -> None:
    """No network: what was read decides every check, and what could not be read is never a
    pass."""
    seen = SshObservation(
        _offer(),
        rsa_algorithms=("rsa-sha2-256",),
        rsa_bits=1024,
        auth=AuthMethods(password=True),
    )
    verdicts = {r.check_id: r.verdict for r in judge(_about(), seen)}
    assert verdicts == {
        "ssh.kex": Verdict.FAIL,  # diffie-hellman-group14-sha1
        "ssh.hostkey": Verdict.FAIL,  # RSA 1024 bits
        "ssh.ciphers": Verdict.FAIL,  # aes128-cbc
        "ssh.macs": Verdict.FAIL,  # hmac-md5
        "ssh.password-auth": Verdict.FAIL,
    }
    strong: tuple[tuple[str, ...], ...] = (
        ("curve25519-sha256",),
        ("ssh-ed25519",),
        ("aes128-ctr",),
        ("aes128-ctr",),
    )
    strong += (("hmac-sha2-256",), ("hmac-sha2-256",), ("none",), ("none",), (), ())
    unread = SshObservation(_offer(strong), auth_error="timed out")
    results = judge(_about(), unread)
    assert [r.verdict for r in results] == [
        Verdict.PASS,
        Verdict.PASS,  # no RSA offered: nothing to measure, the ed25519 key passes
        Verdict.PASS,
        Verdict.PASS,
        Verdict.ERROR,  # methods not read
    ]
    assert results[4].reason == (
        "tcp/22 ssh on 127.0.75.60: the authentication methods could not be read: timed out."
    )
    rsa_unread = SshObservation(
        _offer((*strong[:1], ("rsa-sha2-512",), *strong[2:])),
        rsa_algorithms=("rsa-sha2-512",),
        rsa_error="timed out",
        auth=AuthMethods(),
    )
    hostkey, password = judge(_about(), rsa_unread)[1::3]
    assert hostkey.verdict is Verdict.INCONCLUSIVE
    assert "could not be fetched to measure it: timed out" in hostkey.reason
    assert password.verdict is Verdict.PASS
    not_ssh = judge(_about(), SshObservation(None, "no SSH identification line", not_ssh=True))
    assert {r.verdict for r in not_ssh} == {Verdict.INCONCLUSIVE}
