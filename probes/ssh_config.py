"""SSH configuration: which algorithms does the server offer, and does it take passwords?

The algorithm lists come from the server's own SSH_MSG_KEXINIT (RFC 4253 §7.1), read raw:
send our ident line, read the server's (bounded), read its first binary packet (at most
64 KiB) and parse the ten name-lists. Nothing is negotiated, so a list shows everything the
server would accept, not just what one client happened to pick. The RSA host key size and the
authentication methods need a real handshake: asyncssh fetches the host key restricted to
the RSA algorithms offered, and connects as a random user with no credentials, recording
whether the server asks for a password or keyboard-interactive answer (none is ever sent).

Policy (a name offered anywhere in the list is a finding; `*` matches any suffix):

| check       | weak when offered                  | why (reference)                            |
|-------------|------------------------------------|--------------------------------------------|
| ssh.kex     | diffie-hellman-group1-sha1         | 1024-bit group, SHA-1 (RFC 9142: MUST NOT) |
|             | diffie-hellman-group14-sha1        | SHA-1 hash (RFC 9142: SHOULD NOT)          |
|             | diffie-hellman-group-exchange-sha1 | SHA-1 hash (RFC 9142: SHOULD NOT)          |
|             | gss-*-sha1-*                       | SHA-1 GSS-API kex (RFC 9142)               |
|             | rsa1024-sha1                       | 1024-bit RSA, SHA-1 (RFC 9142: MUST NOT)   |
| ssh.hostkey | ssh-dss                            | DSA (FIPS 186-5 drops DSA signing)         |
|             | ssh-rsa without any rsa-sha2-*     | SHA-1 signatures only (RFC 8332)           |
|             | RSA host key under 2048 bits       | NIST SP 800-131A r2 (disallowed)           |
| ssh.ciphers | *-cbc (aes, 3des, blowfish …)      | CBC in SSH (RFC 4344, CVE-2008-5161)       |
|             | 3des*                              | TDEA (NIST SP 800-131A r2)                 |
|             | arcfour*                           | RC4 (RFC 8758: MUST NOT)                   |
|             | blowfish*, cast128*, idea*         | 64-bit block (SWEET32)                     |
|             | none                               | no encryption (RFC 4253 §6.3)              |
| ssh.macs    | hmac-md5*                          | MD5 (RFC 6151)                             |
|             | hmac-sha1* (incl. -96, -etm)       | SHA-1; RFC 6668 SHA-2 MACs (policy)        |
|             | umac-64*                           | 64-bit tag (policy)                        |
|             | none                               | no integrity (RFC 4253 §6.4)               |

`ssh.password-auth`: a server that asks for a password or a keyboard-interactive answer
fails; one that offers neither (publickey only, for example) passes.

Verdicts: a server that never sends KEXINIT (a banner-only service, a dropped connection)
is `error` for every check, with the reason; one whose bytes are not SSH at all (an
identification line with no end, scanner/fingerprint/ssh_ident.py) is `inconclusive`; an algorithm
list that is empty is `inconclusive`. IEC 62443-4-2 CR 4.3 (use of cryptography), NIST
SP 800-171 3.13.8/3.13.11, ETSI EN 303 645 5.5-1.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncssh

from probes._ssh import (
    AuthMethods,
    Kexinit,
    NoKexinit,
    NotSsh,
    Offer,
    auth_methods,
    hostkey_preference,
    read_offer,
    retrying,
    rsa_host_key_bits,
)
from scanner.fingerprint.ssh_ident import describe_ssh_failure, garbled
from scanner.model import Evidence, Result, Verdict, bound_text
from scanner.probe import Check, Remedy, ServiceProbe, Severity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import Service
    from scanner.probe import ProbeContext, ServiceResults

KEX = Check(
    id="ssh.kex",
    title="The SSH server offers weak key exchange methods",
    title_ja="SSHサーバが脆弱な鍵交換方式を提供している",
    method=(
        "Reads the server's SSH_MSG_KEXINIT and flags SHA-1 and 1024-bit key exchanges "
        "(diffie-hellman-group1-sha1, diffie-hellman-group14-sha1, "
        "diffie-hellman-group-exchange-sha1, gss-*-sha1-*, rsa1024-sha1; RFC 9142)."
    ),
    method_ja=(
        "サーバが送る鍵交換開始メッセージ（SSH_MSG_KEXINIT）を読み取り、"
        "提供された鍵交換方式のうち、ハッシュにSHA-1を使うものと1024ビットの群または鍵を使うものを"
        "検出する。対象はdiffie-hellmanの3方式（group1-sha1、group14-sha1、group-exchange-sha1）、"
        "gss-*-sha1-*、rsa1024-sha1であり、いずれもRFC 9142が使用を禁止または非推奨としている。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "Weakens the protection of the SSH channel; an attacker on the path must still "
        "break the key exchange."
    ),
    severity_reason_ja=(
        "SSH通信路の保護が弱まる。ただし通信経路上の攻撃者は、なお鍵交換を破る必要がある。"
    ),
    kind="ssh_config",
    remediation=Remedy(
        en=(
            "Remove SHA-1 and 1024-bit key exchanges; offer curve25519-sha256 or "
            "ecdh-sha2-nistp256 and group14-sha256 or stronger."
        ),
        ja=(
            "SHA-1や1024ビットの鍵交換を削除し、curve25519-sha256、ecdh-sha2-nistp256、"
            "group14-sha256以上を使う。"
        ),
    ),
    references=("CWE-327", "RFC 9142"),
)
HOSTKEY = Check(
    id="ssh.hostkey",
    title="The SSH host key is weak: DSA, SHA-1-only RSA, or RSA under 2048 bits",
    title_ja="SSHホスト鍵が脆弱である（DSA、SHA-1署名のみのRSA、2048ビット未満のRSA）",
    method=(
        "Reads the host key algorithms from the server's KEXINIT (flags ssh-dss, and ssh-rsa "
        "offered without rsa-sha2-256/512), then fetches the RSA host key, if one is offered, "
        "and flags one under 2048 bits (NIST SP 800-131A)."
    ),
    method_ja=(
        "サーバのKEXINITからホスト鍵の方式を読み取り（ssh-dssと、"
        "rsa-sha2-256/512なしで提供されるssh-rsaを検出する）、RSAのホスト鍵が提供されていればそれを"
        "取得して、2048ビット未満なら検出する（NIST SP 800-131A）。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "An attacker who forges the weak host key can impersonate the device to its "
        "administrators; that takes work beyond being on the path."
    ),
    severity_reason_ja=(
        "脆弱なホスト鍵を偽造した攻撃者は管理者に対して機器になりすませる。"
        "ただしそれには通信経路上にいる以上の労力が要る。"
    ),
    kind="ssh_config",
    remediation=Remedy(
        en=(
            "Replace DSA and short RSA host keys with Ed25519 or RSA of at least 2048 bits, signed "
            "with rsa-sha2-256/512."
        ),
        ja=(
            "DSAや短いRSAのホスト鍵を、Ed25519または2048ビット以上のRSA"
            "（rsa-sha2-256/512署名）に置き換える。"
        ),
    ),
    references=("CWE-326", "RFC 8332", "NIST SP 800-131A Rev. 2"),
)
CIPHERS = Check(
    id="ssh.ciphers",
    title="The SSH server offers weak ciphers",
    title_ja="SSHサーバが脆弱な暗号方式を提供している",
    method=(
        "Reads both directions' ciphers from the server's KEXINIT and flags CBC modes, 3DES, "
        "arcfour/RC4, Blowfish, CAST-128, IDEA and none."
    ),
    method_ja=(
        "サーバのKEXINITから、送信・受信の両方向について提供される暗号方式を読み取り、"
        "CBCモードのもの、3DES、arcfour/RC4、Blowfish、CAST-128、IDEA、none（暗号化なし）"
        "を脆弱な暗号方式として検出する。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "Weakens the confidentiality of the SSH channel; an attacker on the path must still "
        "break the cipher or get the client to pick it."
    ),
    severity_reason_ja=(
        "SSH通信路の機密性が弱まる。ただし通信経路上の攻撃者は、なおその暗号を破るか、"
        "クライアントにそれを選ばせる必要がある。"
    ),
    kind="ssh_config",
    remediation=Remedy(
        en=(
            "Remove CBC, 3DES, RC4 and other weak ciphers from the SSH server; keep AES-GCM, "
            "AES-CTR and ChaCha20-Poly1305."
        ),
        ja=(
            "SSHサーバからCBC、3DES、RC4などの弱い暗号を削除し、AES-GCM、AES-CTR、"
            "ChaCha20-Poly1305のみを残す。"
        ),
    ),
    references=("CWE-327", "RFC 8758"),
)
MACS = Check(
    id="ssh.macs",
    title="The SSH server offers weak message authentication codes",
    title_ja="SSHサーバが脆弱なメッセージ認証コード（MAC）を提供している",
    method=(
        "Reads both directions' MACs from the server's KEXINIT and flags hmac-md5*, "
        "hmac-sha1* (including -96 and -etm) and umac-64*, and none."
    ),
    method_ja=(
        "サーバのKEXINITから、送信・受信の両方向について提供されるメッセージ認証コード（MAC）"
        "を読み取り、hmac-md5*、hmac-sha1*（-96版と-etm版を含む）、umac-64*、none（完全性保護なし）"
        "を脆弱なものとして検出する。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "Weakens the integrity of the SSH channel; an attacker on the path must still forge "
        "the MAC."
    ),
    severity_reason_ja=(
        "SSH通信路の完全性が弱まる。ただし通信経路上の攻撃者は、なおMACを偽造する必要がある。"
    ),
    kind="ssh_config",
    remediation=Remedy(
        en=(
            "Remove MD5, SHA-1 and 64-bit-tag MACs; offer hmac-sha2-256/512 (ETM variants "
            "preferred)."
        ),
        ja="MD5、SHA-1、64ビットタグのMACを削除し、hmac-sha2-256/512（ETM版を推奨）を使う。",
    ),
    references=("CWE-327", "RFC 6668"),
)
PASSWORD_AUTH = Check(
    id="ssh.password-auth",
    title="The SSH server offers password or keyboard-interactive authentication",
    title_ja="SSHサーバがパスワード認証またはキーボードインタラクティブ認証を受け付ける",
    method=(
        "Connects as a random username without credentials and records whether the server "
        "asks for a password or a keyboard-interactive answer; none is ever sent."
    ),
    method_ja=(
        "ランダムなユーザ名で認証情報を持たずに接続し、サーバがパスワードまたは"
        "キーボードインタラクティブ認証の応答を求めるかを記録する。パスワードや応答は一切送らない。"
    ),
    severity=Severity.LOW,
    severity_reason=(
        "Passwords can be guessed or reused where keys could not; a risk only with a weak "
        "or shared password."
    ),
    severity_reason_ja=(
        "鍵と違い、パスワードは推測や使い回しの対象になる。危険なのは弱いパスワードや"
        "共有パスワードの場合に限られる。"
    ),
    kind="ssh_config",
    remediation=Remedy(
        en="Disable password and keyboard-interactive SSH authentication; use public keys.",
        ja="SSHのパスワード認証とキーボードインタラクティブ認証を無効にし、公開鍵認証を使う。",
    ),
    references=("CWE-309", "RFC 4252"),
)

#: (pattern, why weak, the same in Japanese) per check; see the module docstring for the
#: references.
WEAK_KEX: tuple[tuple[str, str, str], ...] = (
    (
        "diffie-hellman-group1-sha1",
        "1024-bit group with SHA-1 (RFC 9142: MUST NOT)",
        "1024 ビットの群と SHA-1（RFC 9142: MUST NOT）",
    ),
    (
        "diffie-hellman-group14-sha1",
        "SHA-1 exchange hash (RFC 9142: SHOULD NOT)",
        "SHA-1 の交換ハッシュ（RFC 9142: SHOULD NOT）",
    ),
    (
        "diffie-hellman-group-exchange-sha1",
        "SHA-1 exchange hash (RFC 9142: SHOULD NOT)",
        "SHA-1 の交換ハッシュ（RFC 9142: SHOULD NOT）",
    ),
    (
        "gss-*-sha1-*",
        "SHA-1 GSS-API key exchange (RFC 9142)",
        "SHA-1 による GSS-API 鍵交換（RFC 9142）",
    ),
    (
        "rsa1024-sha1",
        "1024-bit RSA with SHA-1 (RFC 9142: MUST NOT)",
        "1024 ビット RSA と SHA-1（RFC 9142: MUST NOT）",
    ),
)
WEAK_HOSTKEY: tuple[tuple[str, str, str], ...] = (
    (
        "ssh-dss",
        "DSA host key, 1024 bits in SSH (FIPS 186-5 drops DSA signing)",
        "DSA ホスト鍵。SSH では 1024 ビット（FIPS 186-5 は DSA 署名を廃止）",
    ),
    ("ssh-dss-cert-v01@openssh.com", "DSA host key certificate", "DSA ホスト鍵の証明書"),
)
_CBC = (
    "CBC mode, open to plaintext recovery in SSH (RFC 4344, CVE-2008-5161)",
    "CBC モード。SSH では平文を復元されうる（RFC 4344, CVE-2008-5161）",
)
_SWEET32 = ("64-bit block cipher (SWEET32)", "64 ビットブロック暗号（SWEET32）")
WEAK_CIPHERS: tuple[tuple[str, str, str], ...] = (
    ("*-cbc", *_CBC),
    ("*-cbc@*", *_CBC),
    ("rijndael-cbc@lysator.liu.se", "CBC mode", "CBC モード"),
    (
        "3des*",
        "64-bit block TDEA (NIST SP 800-131A r2: disallowed)",
        "64 ビットブロックの TDEA（NIST SP 800-131A r2: 使用不可）",
    ),
    ("arcfour*", "RC4 (RFC 8758: MUST NOT)", "RC4 は使用不可（RFC 8758: MUST NOT）"),
    ("blowfish*", *_SWEET32),
    ("cast128*", *_SWEET32),
    ("idea*", *_SWEET32),
    ("none", "no encryption (RFC 4253 §6.3)", "暗号化なし（RFC 4253 §6.3）"),
)
WEAK_MACS: tuple[tuple[str, str, str], ...] = (
    ("hmac-md5*", "MD5 based (RFC 6151)", "MD5 ベース（RFC 6151）"),
    (
        "hmac-sha1*",
        "SHA-1 based; SHA-2 MACs exist since RFC 6668 (policy)",
        "SHA-1 ベース。SHA-2 の MAC が RFC 6668 からある（ポリシー）",
    ),
    ("umac-64*", "64-bit tag (policy)", "64 ビットのタグ（ポリシー）"),
    ("none", "no integrity protection (RFC 4253 §6.4)", "完全性の保護なし（RFC 4253 §6.4）"),
)
RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
MIN_RSA_BITS = 2048


def weak_names(
    offered: Sequence[str], table: Sequence[tuple[str, str, str]], *, ja: bool = False
) -> dict[str, str]:
    """{offered name: why weak} for the names the table flags (`ja`: why, in Japanese)."""
    out: dict[str, str] = {}
    for name in offered:
        for pattern, why, why_ja in table:
            if fnmatch.fnmatchcase(name, pattern):
                out[name] = why_ja if ja else why
                break
    return out


def hostkey_algorithm_findings(offered: Sequence[str], *, ja: bool = False) -> dict[str, str]:
    """Host key algorithms that are weak by name alone (`ja`: why, in Japanese)."""
    found = weak_names(offered, WEAK_HOSTKEY, ja=ja)
    if "ssh-rsa" in offered and not any(a.startswith("rsa-sha2-") for a in offered):
        found["ssh-rsa"] = (
            "SHA-1 の RSA 署名だけで、rsa-sha2-256/512 がない（RFC 8332）"
            if ja
            else "RSA with SHA-1 signatures only, no rsa-sha2-256/512 (RFC 8332)"
        )
    return found


class SshConfig(ServiceProbe):
    """Reads an SSH server's offered algorithms and authentication methods (`observe`);
    `judge` decides the five checks from what was read."""

    checks = (KEX, HOSTKEY, CIPHERS, MACS, PASSWORD_AUTH)
    protocols = frozenset({"ssh"})

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        return judge(ctx.about(service), await observe(ctx, service))


@dataclass(frozen=True, slots=True)
class SshObservation:
    """What one SSH server showed: its offer, its RSA host key size, its methods. A part
    that could not be read holds why instead (and the later parts were not asked)."""

    offer: Offer | None
    offer_error: str = ""
    not_ssh: bool = False  # the bytes were not SSH at all: the device's doing
    rsa_algorithms: tuple[str, ...] = ()  # the RSA host key algorithms offered
    rsa_bits: int | None = None
    rsa_error: str = ""
    auth: AuthMethods | None = None
    auth_error: str = ""
    auth_garbled: bool = False  # the device's bytes broke the exchange, not the network


async def observe(ctx: ProbeContext, service: Service) -> SshObservation:
    """Three reads, in order: the raw KEXINIT, the RSA host key (when RSA is offered) and
    the authentication methods offered to a random user without credentials."""
    try:
        offer = await retrying(lambda: read_offer(ctx.net, service.port))
    except (NoKexinit, OSError, TimeoutError) as exc:
        why = str(exc) if isinstance(exc, NoKexinit) else _why(exc)
        return SshObservation(None, why, not_ssh=isinstance(exc, NotSsh))
    k = offer.kexinit
    rsa_algs = tuple(a for a in RSA_SIGNATURES if a in k.hostkey) if k.hostkey else ()
    bits: int | None = None
    rsa_error = ""
    if rsa_algs:
        try:
            bits = await rsa_host_key_bits(ctx.net, service.port, list(rsa_algs))
        except (OSError, TimeoutError, asyncssh.Error, ValueError, TypeError) as exc:
            rsa_error = _why(exc)
    try:
        seen = await auth_methods(ctx.net, service.port, hostkey_preference(k.hostkey))
    except (OSError, TimeoutError, asyncssh.Error, ValueError) as exc:
        return SshObservation(
            offer,
            rsa_algorithms=rsa_algs,
            rsa_bits=bits,
            rsa_error=rsa_error,
            auth_error=_why(exc),
            auth_garbled=garbled(exc),
        )
    return SshObservation(
        offer, rsa_algorithms=rsa_algs, rsa_bits=bits, rsa_error=rsa_error, auth=seen
    )


def judge(about: ServiceResults, seen: SshObservation) -> list[Result]:
    """The five results for one observation (pure: tests hand in crafted observations)."""
    where, where_ja = about.where, about.where_ja
    if seen.offer is None:
        why = seen.offer_error
        reason = f"{where} never sent its key exchange offer (KEXINIT): {why}."
        reason_ja = f"{where_ja} は鍵交換の提示（KEXINIT）を送ってこなかった: {why}。"
        ev = Evidence(
            "ssh_kexinit",
            bound_text(why, 200),
            {"error": bound_text(why, 200)},
            bound_text(f"KEXINIT を受け取れなかった: {why}", 200),
        )
        verdict = Verdict.INCONCLUSIVE if seen.not_ssh else Verdict.ERROR
        return [about.result(c, verdict, reason, ev, reason_ja=reason_ja) for c in SshConfig.checks]
    offer = seen.offer
    offered = Evidence(
        "ssh_kexinit",
        f"{offer.ident}: {len(offer.kexinit.kex)} kex, {len(offer.kexinit.hostkey)} host key, "
        f"{len(offer.kexinit.ciphers)} cipher, {len(offer.kexinit.macs)} MAC algorithms"[:200],
        {"ident": offer.ident, **offer.kexinit.details()},
        summary_ja=(
            f"{offer.ident}: 鍵交換 {len(offer.kexinit.kex)}、"
            f"ホスト鍵 {len(offer.kexinit.hostkey)}、暗号 {len(offer.kexinit.ciphers)}、"
            f"MAC {len(offer.kexinit.macs)} 方式"
        )[:200],
    )

    def lists(
        check: Check,
        what: str,
        what_ja: str,
        names: Sequence[str],
        table: Sequence[tuple[str, str, str]],
    ) -> Result:
        weak, weak_ja = weak_names(names, table), weak_names(names, table, ja=True)
        if not names:
            return about.result(
                check,
                Verdict.INCONCLUSIVE,
                f"{where} offered an empty {what} list in its KEXINIT.",
                offered,
                reason_ja=f"{where_ja} は KEXINIT で空の{what_ja}リストを提示した。",
            )
        if weak:
            listed = "; ".join(f"{n}: {why}" for n, why in weak.items())
            policy = Evidence(
                "policy",
                f"weak {what}: {', '.join(weak)}"[:200],
                dict(weak),
                summary_ja=f"弱い{what_ja}: {', '.join(weak)}"[:200],
            )
            return about.result(
                check,
                Verdict.FAIL,
                f"{where} offers weak {what} ({listed}).",
                offered,
                policy,
                reason_ja=f"{where_ja} は弱い{what_ja}を提示している（{_listed(weak_ja)}）。",
            )
        return about.result(
            check,
            Verdict.PASS,
            f"{where} offers only {what} the policy accepts: {', '.join(names)}.",
            offered,
            reason_ja=(
                f"{where_ja} はポリシーが認める{what_ja}だけを提示している: {', '.join(names)}。"
            ),
        )

    k = offer.kexinit
    return [
        lists(KEX, "key exchange methods", "鍵交換方式", k.kex, WEAK_KEX),
        _hostkey(about, seen, k, offered),
        lists(CIPHERS, "ciphers", "暗号方式", k.ciphers, WEAK_CIPHERS),
        lists(MACS, "MACs", "MAC 方式", k.macs, WEAK_MACS),
        _password(about, seen),
    ]


def _hostkey(about: ServiceResults, seen: SshObservation, k: Kexinit, offered: Evidence) -> Result:
    where, where_ja = about.where, about.where_ja

    def result(verdict: Verdict, reason: str, *more: Evidence, reason_ja: str) -> Result:
        return about.result(HOSTKEY, verdict, reason, offered, *more, reason_ja=reason_ja)

    if not k.hostkey:
        return result(
            Verdict.INCONCLUSIVE,
            f"{where} offered no host key algorithm.",
            reason_ja=f"{where_ja} はホスト鍵アルゴリズムを1つも提示しなかった。",
        )
    weak = hostkey_algorithm_findings(k.hostkey)
    weak_ja = hostkey_algorithm_findings(k.hostkey, ja=True)
    bits, fetch_error = seen.rsa_bits, seen.rsa_error
    if bits is not None and bits < MIN_RSA_BITS:
        weak[f"RSA {bits} bits"] = f"RSA host key under {MIN_RSA_BITS} bits (SP 800-131A)"
        weak_ja[f"RSA {bits} ビット"] = f"RSA ホスト鍵が {MIN_RSA_BITS} ビット未満（SP 800-131A）"
    key_ev = Evidence(
        "ssh_hostkey",
        (f"RSA host key {bits} bits" if bits else fetch_error or "no RSA host key offered")[:200],
        {"rsa_bits": bits, "fetch_error": fetch_error or None},
        summary_ja=(
            f"RSA ホスト鍵 {bits} ビット"
            if bits
            else (f"RSA ホスト鍵を取得できなかった: {fetch_error}" if fetch_error else "")
            or "RSA ホスト鍵の提示なし"
        )[:200],
    )
    if weak:
        listed = "; ".join(f"{n}: {why}" for n, why in weak.items())
        policy = Evidence(
            "policy",
            f"weak host key: {', '.join(weak)}"[:200],
            dict(weak),
            summary_ja=f"弱いホスト鍵: {', '.join(weak)}"[:200],
        )
        return result(
            Verdict.FAIL,
            f"{where} has a weak host key ({listed}).",
            key_ev,
            policy,
            reason_ja=f"{where_ja} のホスト鍵は弱い（{_listed(weak_ja)}）。",
        )
    if fetch_error:
        return result(
            Verdict.INCONCLUSIVE,
            f"{where} offers RSA host keys ({', '.join(seen.rsa_algorithms)}) but the key could "
            f"not be fetched to measure it: {fetch_error}.",
            key_ev,
            reason_ja=(
                f"{where_ja} は RSA ホスト鍵（{', '.join(seen.rsa_algorithms)}）"
                f"を提示しているが、鍵長を測るための鍵を取得できなかった: {fetch_error}。"
            ),
        )
    size = f"; RSA key {bits} bits" if bits else ""
    size_ja = f"。RSA 鍵は {bits} ビット" if bits else ""
    return result(
        Verdict.PASS,
        f"{where} offers host key algorithms the policy accepts ({', '.join(k.hostkey)}){size}.",
        key_ev,
        reason_ja=(
            f"{where_ja} はポリシーが認めるホスト鍵アルゴリズムを提示している（"
            f"{', '.join(k.hostkey)}）{size_ja}。"
        ),
    )


def _listed(weak: dict[str, str]) -> str:
    """`name: why; ...`, as the English reason lists what is weak."""
    return "; ".join(f"{n}: {why}" for n, why in weak.items())


def _password(about: ServiceResults, seen: SshObservation) -> Result:
    where, where_ja = about.where, about.where_ja
    if seen.auth is None:
        return about.result(
            PASSWORD_AUTH,
            Verdict.INCONCLUSIVE if seen.auth_garbled else Verdict.ERROR,
            f"{where}: the authentication methods could not be read: {seen.auth_error}.",
            Evidence(
                "exception",
                seen.auth_error[:200],
                summary_ja=f"認証方式の読み取りに失敗: {seen.auth_error}"[:200],
            ),
            reason_ja=f"{where_ja}: 認証方式を読み取れなかった: {seen.auth_error}。",
        )
    auth = seen.auth
    methods = [
        m
        for m, on in (
            ("password", auth.password),
            ("keyboard-interactive", auth.keyboard_interactive),
        )
        if on
    ]
    ev = Evidence(
        "ssh_auth_methods",
        f"interactive methods offered: {', '.join(methods) or 'none'}",
        {
            "password": auth.password,
            "keyboard_interactive": auth.keyboard_interactive,
            "accepted_without_credentials": auth.accepted_without_credentials,
        },
        summary_ja=f"提示された対話型認証方式: {', '.join(methods) or 'なし'}",
    )
    if auth.accepted_without_credentials:
        return about.result(
            PASSWORD_AUTH,
            Verdict.FAIL,
            f"{where} let a random user in without any credentials.",
            ev,
            reason_ja=f"{where_ja} は無作為なユーザーを認証情報なしでログインさせた。",
        )
    if methods:
        return about.result(
            PASSWORD_AUTH,
            Verdict.FAIL,
            f"{where} offers {' and '.join(methods)} authentication.",
            ev,
            reason_ja=f"{where_ja} は {' と '.join(methods)} 認証を提示している。",
        )
    return about.result(
        PASSWORD_AUTH,
        Verdict.PASS,
        f"{where} offers neither password nor keyboard-interactive authentication.",
        ev,
        reason_ja=f"{where_ja} は password 認証も keyboard-interactive 認証も提示していない。",
    )


def _why(exc: BaseException) -> str:
    if garbled(exc):  # device bytes asyncssh refused: said in words, never its message
        return describe_ssh_failure(exc)
    if isinstance(exc, asyncssh.DisconnectError):
        return bound_text(f"disconnect: {exc.reason}", 160)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return bound_text(f"{type(exc).__name__}: {exc}", 160)
