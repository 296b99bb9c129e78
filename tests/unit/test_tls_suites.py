"""The cipher suite and group tables: coverage and what each name says about a suite."""

from __future__ import annotations

import re
import ssl

import pytest

from scanner.tls.suites import (
    BY_NAME,
    GROUPS,
    SUITES,
    SUITES13,
    WHY,
    WHY_JA,
    group_name,
    suite_name,
)


def test_every_suite_this_openssl_knows_is_in_the_table_under_its_iana_name() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    for c in ctx.get_ciphers():
        code = c["id"] & 0xFFFF
        assert code in SUITES or code in SUITES13, c["name"]


def test_the_tables_cover_the_legacy_code_points_sslyze_tests() -> None:
    assert len(SUITES) >= 340
    for name in (
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
        "TLS_GOSTR341001_WITH_28147_CNT_IMIT",
        "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384",
        "TLS_PSK_DHE_WITH_AES_256_CCM_8",
        "OLD_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA",
        "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA",
    ):
        assert name in BY_NAME
    assert {s.name for s in SUITES13.values()} >= {
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256",
        "TLS_AES_128_CCM_8_SHA256",
    }


@pytest.mark.parametrize(
    ("name", "weak", "fs", "cbc"),
    [
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", set(), True, False),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", set(), False, True),
        ("TLS_RSA_WITH_NULL_MD5", {"NULL", "MD5"}, False, False),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", {"EXPORT", "RC4", "MD5"}, False, False),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", {"3DES"}, False, True),
        ("TLS_DHE_RSA_WITH_DES_CBC_SHA", {"DES"}, True, True),
        ("TLS_DH_anon_WITH_AES_128_CBC_SHA", {"anon"}, True, True),
        ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", {"anon"}, True, True),
        ("TLS_RSA_WITH_IDEA_CBC_SHA", {"64BIT"}, False, True),
        ("TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", set(), False, False),
        ("TLS_DH_RSA_WITH_AES_256_CBC_SHA256", set(), False, True),
        ("TLS_PSK_WITH_AES_128_GCM_SHA256", set(), False, False),
        ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", set(), True, True),
        ("TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5", {"DES", "EXPORT", "MD5"}, False, True),
        ("TLS_SHA256_SHA256", {"NULL"}, True, False),
        ("TLS_AES_128_GCM_SHA256", set(), True, False),
    ],
)
def test_a_suite_name_says_what_is_weak_about_it(
    name: str, weak: set[str], fs: bool, cbc: bool
) -> None:
    suite = BY_NAME[name]
    assert set(suite.weak) == weak
    assert suite.forward_secrecy is fs
    assert suite.cbc is cbc


def test_codes_and_names_are_unique_and_round_trip() -> None:
    codes = [*SUITES, *SUITES13]
    assert len(codes) == len(set(codes))
    assert len(BY_NAME) == len(codes)
    assert suite_name(0x002F) == "TLS_RSA_WITH_AES_128_CBC_SHA"
    assert suite_name(0xFAFA) == "0xFAFA"  # GREASE and unknown codes stay codes


def test_groups_know_which_protocol_can_use_them() -> None:
    assert group_name(29) == "x25519"
    assert GROUPS[29].tls12
    assert GROUPS[29].tls13
    assert GROUPS[0x0100].kind == "ffdhe"
    assert not GROUPS[0x0100].tls12
    assert GROUPS[26].tls12
    assert not GROUPS[26].tls13
    assert GROUPS[0x11EC].name == "X25519MLKEM768"
    assert group_name(0x1234) == "0x1234"


def test_every_weakness_is_said_in_japanese_with_the_same_numbers() -> None:
    assert set(WHY_JA) == set(WHY)
    for tag, why in WHY.items():
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", WHY_JA[tag]), tag
        assert re.findall(r"\d+", WHY_JA[tag]) == re.findall(r"\d+", why), tag
