"""Cipher suites and key exchange groups by IANA code point, with what makes each weak.

The TLS 1.0-1.2 table holds every suite OpenSSL, sslyze or nmap can test (IANA "TLS Cipher
Suites" registry, plus the pre-RFC ChaCha20 code points as `OLD_*`): 348 code points. Each
suite's properties are read from its IANA name, which spells them out
(`TLS_<key exchange>_WITH_<cipher>_<MAC>`), so the table stays one line per suite.

Weakness tags (`CipherSuite.weak` says why, for the report):

| tag    | suites                               | why (reference)                               |
|--------|--------------------------------------|-----------------------------------------------|
| NULL   | no encryption (`*_NULL_*`)           | traffic in clear (RFC 5246 §A.5)              |
| EXPORT | `*_EXPORT*`, 40/56-bit keys          | deliberately breakable (FREAK, Logjam)        |
| RC4    | `*_RC4_*`                            | RFC 7465: MUST NOT                            |
| DES    | single DES, DES40                    | 56-bit key (NIST SP 800-131A: disallowed)     |
| 3DES   | `*_3DES_EDE_*`                       | 64-bit block, SWEET32 (SP 800-131A r2)        |
| 64BIT  | IDEA, RC2                            | 64-bit block, SWEET32                         |
| anon   | `*_anon_*`                           | no server authentication: trivially MITM'd    |
| MD5    | `*_MD5` MAC                          | MD5 (RFC 6151)                                |
| CBC    | CBC-mode (not weak on its own)       | TLS 1.0 CBC: BEAST; Lucky13 elsewhere         |

`forward_secrecy` is true for ephemeral key exchanges (DHE, ECDHE, SRP, ECCPWD and every
TLS 1.3 suite) and false for static RSA, DH, ECDH, PSK, RSA_PSK, KRB5 and GOST transport.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Tags that make a suite weak on every protocol version.
WEAK_TAGS = ("NULL", "EXPORT", "RC4", "DES", "3DES", "64BIT", "anon", "MD5")
WHY: dict[str, str] = {
    "NULL": "no encryption",
    "EXPORT": "export-grade key (40/56 bits, FREAK/Logjam)",
    "RC4": "RC4 (RFC 7465: MUST NOT)",
    "DES": "single DES, 56-bit key (SP 800-131A: disallowed)",
    "3DES": "3DES, 64-bit block (SWEET32; SP 800-131A r2)",
    "64BIT": "64-bit block cipher (SWEET32)",
    "anon": "anonymous key exchange: the server is not authenticated",
    "MD5": "MD5 MAC (RFC 6151)",
}
#: the same in Japanese, for the reasons of a `--lang ja` report
WHY_JA: dict[str, str] = {
    "NULL": "暗号化なし",
    "EXPORT": "輸出グレードの鍵（40/56 ビット、FREAK/Logjam）",
    "RC4": "RC4 は使用不可（RFC 7465: MUST NOT）",
    "DES": "単一 DES、56 ビット鍵（SP 800-131A: 使用不可）",
    "3DES": "3DES、64 ビットブロック（SWEET32、SP 800-131A r2）",
    "64BIT": "64 ビットブロック暗号（SWEET32）",
    "anon": "匿名の鍵交換: サーバが認証されない",
    "MD5": "MD5 の MAC（RFC 6151）",
}


@dataclass(frozen=True, slots=True)
class CipherSuite:
    code: int
    name: str  # IANA name
    kex: str  # RSA, DH, DHE, ECDH, ECDHE, PSK, DHE_PSK, ECDHE_PSK, RSA_PSK, KRB5, SRP, ...
    auth: str  # RSA, DSS, ECDSA, anon, PSK, KRB5, SRP, GOST, ... ("any" for TLS 1.3)
    cipher: str  # AES_128_GCM, 3DES_EDE_CBC, NULL, ...
    mac: str  # SHA, SHA256, MD5, AEAD, ...
    forward_secrecy: bool
    tags: frozenset[str]
    tls13: bool = False

    @property
    def weak(self) -> dict[str, str]:
        """{tag: why} for the tags that make this suite weak on any version."""
        return {t: WHY[t] for t in WEAK_TAGS if t in self.tags}

    @property
    def weak_ja(self) -> dict[str, str]:
        """The same, why in Japanese."""
        return {t: WHY_JA[t] for t in WEAK_TAGS if t in self.tags}

    @property
    def cbc(self) -> bool:
        return "CBC" in self.tags


@dataclass(frozen=True, slots=True)
class Group:
    code: int
    name: str
    kind: str  # "ec", "ffdhe", "pq" (hybrid or pure post-quantum)
    tls12: bool  # usable for ECDHE in TLS 1.0-1.2 (RFC 8422 curves)
    tls13: bool  # usable in TLS 1.3 key_share


# fmt: off
_TLS12: tuple[tuple[int, str], ...] = (
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000C, "TLS_DH_DSS_WITH_DES_CBC_SHA"),
    (0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000F, "TLS_DH_RSA_WITH_DES_CBC_SHA"),
    (0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"),
    (0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"),
    (0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"),
    (0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA"),
    (0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0x001E, "TLS_KRB5_WITH_DES_CBC_SHA"),
    (0x001F, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA"),
    (0x0020, "TLS_KRB5_WITH_RC4_128_SHA"),
    (0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA"),
    (0x0022, "TLS_KRB5_WITH_DES_CBC_MD5"),
    (0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5"),
    (0x0024, "TLS_KRB5_WITH_RC4_128_MD5"),
    (0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5"),
    (0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA"),
    (0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA"),
    (0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA"),
    (0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5"),
    (0x002A, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x002B, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5"),
    (0x002C, "TLS_PSK_WITH_NULL_SHA"),
    (0x002D, "TLS_DHE_PSK_WITH_NULL_SHA"),
    (0x002E, "TLS_RSA_PSK_WITH_NULL_SHA"),
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"),
    (0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"),
    (0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"),
    (0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"),
    (0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA"),
    (0x003B, "TLS_RSA_WITH_NULL_SHA256"),
    (0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"),
    (0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5"),
    (0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5"),
    (0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"),
    (0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA"),
    (0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"),
    (0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA"),
    (0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA"),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"),
    (0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"),
    (0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"),
    (0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"),
    (0x0080, "TLS_GOSTR341094_WITH_28147_CNT_IMIT"),
    (0x0081, "TLS_GOSTR341001_WITH_28147_CNT_IMIT"),
    (0x0082, "TLS_GOSTR341094_WITH_NULL_GOSTR3411"),
    (0x0083, "TLS_GOSTR341001_WITH_NULL_GOSTR3411"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"),
    (0x008A, "TLS_PSK_WITH_RC4_128_SHA"),
    (0x008B, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA"),
    (0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA"),
    (0x008E, "TLS_DHE_PSK_WITH_RC4_128_SHA"),
    (0x008F, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"),
    (0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"),
    (0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA"),
    (0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"),
    (0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"),
    (0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"),
    (0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA"),
    (0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA"),
    (0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"),
    (0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"),
    (0x009B, "TLS_DH_anon_WITH_SEED_CBC_SHA"),
    (0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00A0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"),
    (0x00A1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00A5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"),
    (0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"),
    (0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00AC, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00B0, "TLS_PSK_WITH_NULL_SHA256"),
    (0x00B1, "TLS_PSK_WITH_NULL_SHA384"),
    (0x00B2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00B3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00B4, "TLS_DHE_PSK_WITH_NULL_SHA256"),
    (0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384"),
    (0x00B6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00B7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00B8, "TLS_RSA_PSK_WITH_NULL_SHA256"),
    (0x00B9, "TLS_RSA_PSK_WITH_NULL_SHA384"),
    (0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00BB, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00BC, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00C1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00C2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"),
    (0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"),
    (0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"),
    (0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    (0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA"),
    (0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA"),
    (0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"),
    (0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"),
    (0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xC015, "TLS_ECDH_anon_WITH_NULL_SHA"),
    (0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA"),
    (0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    (0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"),
    (0xC01A, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA"),
    (0xC01B, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC01C, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0xC01D, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"),
    (0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"),
    (0xC01F, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"),
    (0xC020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"),
    (0xC021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"),
    (0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"),
    (0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"),
    (0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"),
    (0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"),
    (0xC034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"),
    (0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"),
    (0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"),
    (0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"),
    (0xC039, "TLS_ECDHE_PSK_WITH_NULL_SHA"),
    (0xC03A, "TLS_ECDHE_PSK_WITH_NULL_SHA256"),
    (0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384"),
    (0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC03E, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256"),
    (0xC03F, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384"),
    (0xC040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256"),
    (0xC043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384"),
    (0xC044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256"),
    (0xC047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384"),
    (0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC04A, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC04B, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC04E, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xC04F, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"),
    (0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"),
    (0xC058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256"),
    (0xC059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384"),
    (0xC05A, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"),
    (0xC05B, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"),
    (0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC05E, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC05F, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xC063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xC064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xC065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xC066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xC067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xC068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xC069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xC06A, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"),
    (0xC06B, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"),
    (0xC06C, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"),
    (0xC06D, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"),
    (0xC06E, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"),
    (0xC06F, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"),
    (0xC070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xC071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC07B, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC07C, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC07D, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC07E, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC07F, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC08A, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC08B, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC08C, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC08D, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC08E, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC08F, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xC093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xC094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC09A, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xC09B, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xC09C, "TLS_RSA_WITH_AES_128_CCM"),
    (0xC09D, "TLS_RSA_WITH_AES_256_CCM"),
    (0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM"),
    (0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM"),
    (0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8"),
    (0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8"),
    (0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"),
    (0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"),
    (0xC0A4, "TLS_PSK_WITH_AES_128_CCM"),
    (0xC0A5, "TLS_PSK_WITH_AES_256_CCM"),
    (0xC0A6, "TLS_DHE_PSK_WITH_AES_128_CCM"),
    (0xC0A7, "TLS_DHE_PSK_WITH_AES_256_CCM"),
    (0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8"),
    (0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8"),
    (0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8"),
    (0xC0AB, "TLS_PSK_DHE_WITH_AES_256_CCM_8"),
    (0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    (0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"),
    (0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    (0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
    (0xC0B0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256"),
    (0xC0B1, "TLS_ECCPWD_WITH_AES_256_GCM_SHA384"),
    (0xC0B2, "TLS_ECCPWD_WITH_AES_128_CCM_SHA256"),
    (0xC0B3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384"),
    (0xC100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC"),
    (0xC101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC"),
    (0xC102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT"),
    (0xCC13, "OLD_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCC14, "OLD_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCC15, "OLD_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xD001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"),
    (0xD002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384"),
    (0xD003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256"),
    (0xD005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"),
)
_TLS13: tuple[tuple[int, str], ...] = (
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
    (0x00C6, "TLS_SM4_GCM_SM3"),  # RFC 8998
    (0x00C7, "TLS_SM4_CCM_SM3"),
    (0xC0B4, "TLS_SHA256_SHA256"),  # RFC 9150: integrity only
    (0xC0B5, "TLS_SHA384_SHA384"),
    # draft-smyshlyaev-tls13-gost-suites
    (0xC103, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L"),
    (0xC104, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_L"),
    (0xC105, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S"),
    (0xC106, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S"),
)
_GROUPS: tuple[tuple[int, str, str, bool, bool], ...] = (
    # code, name, kind, TLS 1.2 ECDHE, TLS 1.3
    *((c, n, "ec", True, False) for c, n in enumerate((
        "sect163k1", "sect163r1", "sect163r2", "sect193r1", "sect193r2", "sect233k1",
        "sect233r1", "sect239k1", "sect283k1", "sect283r1", "sect409k1", "sect409r1",
        "sect571k1", "sect571r1", "secp160k1", "secp160r1", "secp160r2", "secp192k1",
        "secp192r1", "secp224k1", "secp224r1", "secp256k1"), start=1)),
    (23, "secp256r1", "ec", True, True),
    (24, "secp384r1", "ec", True, True),
    (25, "secp521r1", "ec", True, True),
    (26, "brainpoolP256r1", "ec", True, False),
    (27, "brainpoolP384r1", "ec", True, False),
    (28, "brainpoolP512r1", "ec", True, False),
    (29, "x25519", "ec", True, True),
    (30, "x448", "ec", True, True),
    (31, "brainpoolP256r1tls13", "ec", False, True),
    (32, "brainpoolP384r1tls13", "ec", False, True),
    (33, "brainpoolP512r1tls13", "ec", False, True),
    (34, "GC256A", "ec", False, True),
    (35, "GC256B", "ec", False, True),
    (36, "GC256C", "ec", False, True),
    (37, "GC256D", "ec", False, True),
    (38, "GC512A", "ec", False, True),
    (39, "GC512B", "ec", False, True),
    (40, "GC512C", "ec", False, True),
    (41, "curveSM2", "ec", False, True),
    (0x0100, "ffdhe2048", "ffdhe", False, True),
    (0x0101, "ffdhe3072", "ffdhe", False, True),
    (0x0102, "ffdhe4096", "ffdhe", False, True),
    (0x0103, "ffdhe6144", "ffdhe", False, True),
    (0x0104, "ffdhe8192", "ffdhe", False, True),
    (0x0200, "MLKEM512", "pq", False, True),
    (0x0201, "MLKEM768", "pq", False, True),
    (0x0202, "MLKEM1024", "pq", False, True),
    (0x11EB, "SecP256r1MLKEM768", "pq", False, True),
    (0x11EC, "X25519MLKEM768", "pq", False, True),
    (0x11ED, "SecP384r1MLKEM1024", "pq", False, True),
    (0x6399, "X25519Kyber768Draft00", "pq", False, True),
)
# fmt: on

_EPHEMERAL = frozenset({"DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK", "SRP", "ECCPWD"})
_AEAD = ("GCM", "CCM", "POLY1305", "MGM")


def _kex_auth(left: str) -> tuple[str, str]:
    """Key exchange and authentication from the part before `_WITH_`."""
    parts = [p for p in left.split("_") if not p.startswith("EXPORT")]
    if parts[:2] == ["PSK", "DHE"]:  # TLS_PSK_DHE_WITH_AES_128_CCM_8 (RFC 6655's odd name)
        return "DHE_PSK", "PSK"
    if parts[0] == "SRP":
        return "SRP", parts[2] if len(parts) > 2 else "SRP"
    if parts[0].startswith("GOSTR"):
        return "GOST", "GOST"
    if len(parts) == 1:  # RSA, PSK, KRB5, ECCPWD
        return parts[0], parts[0]
    if parts[1] == "PSK":  # DHE_PSK, ECDHE_PSK, RSA_PSK
        return f"{parts[0]}_PSK", "PSK"
    return parts[0], parts[1]  # DHE_RSA, ECDH_ECDSA, DH_anon ...


def _cipher_mac(right: str) -> tuple[str, str]:
    """Bulk cipher and MAC from the part after `_WITH_`."""
    if any(a in right for a in _AEAD):
        cipher = right.removesuffix("_SHA256").removesuffix("_SHA384")
        return cipher, "AEAD"
    for mac in ("SHA384", "SHA256", "SHA", "MD5", "IMIT", "OMAC", "GOSTR3411"):
        if right.endswith("_" + mac):
            return right.removesuffix("_" + mac), mac
    return right, ""


def _tags(kex: str, auth: str, cipher: str, mac: str, name: str) -> frozenset[str]:
    tags: set[str] = set()
    if cipher == "NULL" or cipher.startswith("NULL_"):
        tags.add("NULL")
    if "EXPORT" in name or cipher.endswith(("_40", "_56")) or "DES40" in cipher:
        tags.add("EXPORT")
    if cipher.startswith("RC4"):
        tags.add("RC4")
    if cipher.startswith("3DES"):
        tags.add("3DES")
    elif cipher.startswith(("DES_", "DES40_")):
        tags.add("DES")
    if cipher.startswith(("IDEA", "RC2")):
        tags.add("64BIT")
    if auth == "anon":
        tags.add("anon")
    if mac == "MD5":
        tags.add("MD5")
    if "CBC" in cipher:
        tags.add("CBC")
    return frozenset(tags)


def _suite(code: int, name: str) -> CipherSuite:
    left, right = name.removeprefix("OLD_").removeprefix("TLS_").split("_WITH_", 1)
    kex, auth = _kex_auth(left)
    cipher, mac = _cipher_mac(right)
    fs = kex in _EPHEMERAL or (auth == "anon" and kex in ("DH", "ECDH"))
    return CipherSuite(code, name, kex, auth, cipher, mac, fs, _tags(kex, auth, cipher, mac, name))


def _suite13(code: int, name: str) -> CipherSuite:
    body = name.removeprefix("TLS_")
    cipher, mac = (body, "AEAD") if any(a in body for a in _AEAD) else ("NULL", body[-6:])
    tags = frozenset({"NULL"}) if cipher == "NULL" else frozenset()
    return CipherSuite(code, name, "any", "any", cipher, mac, True, tags, tls13=True)


#: TLS 1.0-1.2 (and SSL 3.0) suites, by code.
SUITES: dict[int, CipherSuite] = {c: _suite(c, n) for c, n in _TLS12}
#: TLS 1.3 suites, by code.
SUITES13: dict[int, CipherSuite] = {c: _suite13(c, n) for c, n in _TLS13}
GROUPS: dict[int, Group] = {c: Group(c, n, k, t12, t13) for c, n, k, t12, t13 in _GROUPS}
BY_NAME: dict[str, CipherSuite] = {s.name: s for s in (*SUITES.values(), *SUITES13.values())}

#: Signalling values that are not suites (RFC 5746, RFC 7507).
RENEGOTIATION_SCSV = 0x00FF
FALLBACK_SCSV = 0x5600


def suite_name(code: int) -> str:
    """The IANA name of a suite, or its code when this table does not know it."""
    suite = SUITES.get(code) or SUITES13.get(code)
    return suite.name if suite else f"0x{code:04X}"


def group_name(code: int) -> str:
    group = GROUPS.get(code)
    return group.name if group else f"0x{code:04X}"
