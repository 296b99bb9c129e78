"""TLS quality of every TLS service: protocol versions, cipher suites, forward secrecy, and the
certificate's validity, trust, key, signature and name.

One audit per service (`scanner.tls.audit`): raw ClientHellos enumerate the versions and
suites the device accepts (what it offers, not what this machine's OpenSSL would agree to),
the certificate chain comes from the TLS 1.2 handshake in clear (or an `ssl` handshake for a
TLS 1.3-only server), and trust is verified by this machine's OpenSSL in a separate handshake.

Policy:

| check               | fails when                                           | reference          |
|---------------------|------------------------------------------------------|--------------------|
| tls.versions        | SSL 3.0, TLS 1.0 or 1.1 accepted (below min_version, | RFC 7568, RFC 8996 |
|                     | default TLSv1.2); no version from TLS 1.2 up         | SP 800-52r2 §3.1   |
| tls.ciphers         | a NULL, EXPORT, RC4, DES, 3DES, IDEA/RC2, anonymous  | RFC 7465, SWEET32, |
|                     | or MD5-MAC suite accepted; TLS 1.0 with CBC only     | RFC 6151, BEAST    |
| tls.forward-secrecy | a suite below TLS 1.3 with a static key exchange     | SP 800-52r2 §3.3.1 |
|                     | (RSA, DH, ECDH, PSK, RSA_PSK, KRB5, GOST): one       | RFC 7525 §6.3      |
|                     | stolen server key decrypts every recorded session    |                    |
| tls.cert.validity   | expired, not yet valid, < min_days_left (0) left     | RFC 5280 §4.1.2.5  |
| tls.cert.trust      | self-signed (unless accept_self_signed), or a chain  | RFC 5280 §6        |
|                     | that does not verify (system store or ca_file)       |                    |
| tls.cert.key        | RSA < 2048 bits, EC < 256 bits, DSA (leaf and every  | SP 800-131A r2,    |
|                     | non-root certificate sent)                           | FIPS 186-5         |
| tls.cert.signature  | MD5 or SHA-1 signature (leaf, non-root members)      | RFC 6151, CA/B BR  |
| tls.cert.name       | the target's host name (its label, when that is a    | RFC 6125 §6        |
|                     | DNS name) not in the certificate; a target known by  |                    |
|                     | address only: the address not an iPAddress SAN       |                    |

Verdicts (truth over green): a service that never completes a ServerHello is `error` for
every check (with why: timeouts, resets, non-TLS answers) or `inconclusive` when it answers
every hello with an alert; a version or suite list that could not be fully read makes a
passing check `inconclusive`; a certificate check without a certificate is `inconclusive`.
IEC 62443-4-2 CR 4.3, CR 1.9 (public key authentication), NIST SP 800-171 3.13.8/3.13.11,
ETSI EN 303 645 5.5-1.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from scanner.errors import ConfigError
from scanner.model import Evidence, JSONValue, Verdict, bound_text
from scanner.probe import Check, Params, Remedy, ServiceProbe, Severity
from scanner.tls.audit import audit_tls
from scanner.tls.cert import (
    CertificateError,
    CertInfo,
    name_matches,
    parse_certificate,
    weak_key,
    weak_signature,
)
from scanner.tls.suites import SUITES, SUITES13, group_name, suite_name
from scanner.tls.wire import TLS10, TLS12, TLS13, VERSION_NAMES, VERSIONS_BY_NAME, is_dns_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from scanner.model import Result, Service
    from scanner.probe import ProbeContext, ServiceResults
    from scanner.tls.audit import TlsAudit

MIN_VERSIONS = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


@dataclass(frozen=True, slots=True)
class VersionsParams(Params):
    """`tls.versions` parameters."""

    min_version: str = "TLSv1.2"

    def __post_init__(self) -> None:
        if self.min_version not in MIN_VERSIONS:
            raise ConfigError(f"min_version must be one of {', '.join(MIN_VERSIONS)}")


@dataclass(frozen=True, slots=True)
class ValidityParams(Params):
    """`tls.cert.validity` parameters."""

    min_days_left: int = 0  # scheduled scans: warn this many days before expiry

    def __post_init__(self) -> None:
        days: object = self.min_days_left
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
            raise ConfigError("min_days_left must be 0-3650 days")


@dataclass(frozen=True, slots=True)
class TrustParams(Params):
    """`tls.cert.trust` parameters."""

    accept_self_signed: bool = False  # a device PKI of self-signed certificates is accepted
    ca_file: str = ""  # PEM bundle to verify against instead of the system store

    def __post_init__(self) -> None:
        if not isinstance(self.accept_self_signed, bool):
            raise ConfigError("accept_self_signed must be true or false")
        if not isinstance(self.ca_file, str):
            raise ConfigError("ca_file must be a file path")


VERSIONS = Check(
    id="tls.versions",
    title="The TLS service offers protocol versions below the minimum (TLS 1.2 by default)",
    title_ja="TLSサービスが最低バージョン（既定ではTLS 1.2）より古いプロトコルを受け付ける",
    method=(
        "Sends raw ClientHellos for SSL 3.0, TLS 1.0, 1.1, 1.2 and 1.3 (any version this "
        "machine's OpenSSL refuses included) and records which ones the server accepts; "
        "fails when a version below min_version is accepted or no version from TLS 1.2 up is."
    ),
    method_ja=(
        "SSL 3.0、TLS 1.0、1.1、1.2、1.3のClientHelloを（このマシンのOpenSSLが拒否するバージョンも"
        "含めて）直接組み立てて送り、サーバが受け付けるバージョンを記録する。"
        "min_versionより古いバージョンを受け付けるか、TLS 1.2以上のバージョンを一つも受け付けない"
        "場合は不合格とする。"
    ),
    params=VersionsParams,
    severity=Severity.MEDIUM,
    severity_reason=(
        "Clients that still speak the old versions expose their traffic to the versions' "
        "known attacks by an attacker on the path; current clients refuse them."
    ),
    severity_reason_ja=(
        "古いバージョンをまだ使うクライアントは、その通信を通信経路上の攻撃者による既知の"
        "攻撃にさらす。現行のクライアントはこれらのバージョンを拒否する。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en=(
            "Disable every version below the profile's minimum (TLS 1.2 by default: SSL 3.0, "
            "TLS 1.0 and TLS 1.1 off), and offer TLS 1.2 or TLS 1.3."
        ),
        ja=(
            "プロファイルの最低バージョン（既定ではTLS 1.2）より古いバージョン（既定ではSSL 3.0、"
            "TLS 1.0、TLS 1.1）を無効にし、TLS 1.2またはTLS 1.3を提供する。"
        ),
    ),
    references=("CWE-327", "RFC 8996", "RFC 7568", "NIST SP 800-52 Rev. 2"),
)
CIPHERS = Check(
    id="tls.ciphers",
    title="The TLS service accepts weak cipher suites",
    title_ja="TLSサービスが脆弱な暗号スイートを受け付ける",
    method=(
        "Enumerates the accepted suites of every version (offer all ~350 IANA suites, remove "
        "the one the server picks, ask again until it refuses) and flags NULL, EXPORT, RC4, "
        "DES, 3DES, IDEA/RC2, anonymous and MD5-MAC suites, and TLS 1.0 with CBC suites only."
    ),
    method_ja=(
        "バージョンごとに受け付けられる暗号スイートを列挙し（IANAの約350の暗号スイートをすべて"
        "提示し、サーバが選んだものを除いて、拒否されるまで繰り返す）、NULL、EXPORT、RC4、DES、"
        "3DES、IDEA/RC2、匿名、MD5 MACの暗号スイートと、CBCの暗号スイートしか使えないTLS "
        "1.0を検出する。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "Traffic protected by a broken suite can be read or altered by an attacker on the "
        "path who gets a client to use it."
    ),
    severity_reason_ja=(
        "破られた暗号スイートで保護された通信は、クライアントにそれを使わせた通信経路上の攻撃者に"
        "読まれたり改ざんされたりし得る。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en=(
            "Disable NULL, EXPORT, RC4, DES/3DES, anonymous and MD5 cipher suites; keep AEAD "
            "suites."
        ),
        ja=(
            "NULL、EXPORT、RC4、DES/3DES、匿名、MD5の暗号スイートを無効にし、"
            "AEAD暗号スイートのみを残す。"
        ),
    ),
    references=("CWE-327", "RFC 7465", "RFC 9325", "NIST SP 800-52 Rev. 2"),
)
FORWARD_SECRECY = Check(
    id="tls.forward-secrecy",
    title="The TLS service accepts cipher suites without forward secrecy",
    title_ja="TLSサービスが前方秘匿性のない暗号スイートを受け付ける",
    method=(
        "Flags any accepted TLS 1.0-1.2 suite whose key exchange is static (RSA key "
        "transport, static DH/ECDH, PSK, RSA_PSK, KRB5, GOST): recorded traffic becomes "
        "readable to whoever later obtains the server's key. TLS 1.3 suites always have it."
    ),
    method_ja=(
        "受け付けられたTLS 1.0～1.2の暗号スイートのうち、鍵交換が静的なもの（RSA鍵輸送、"
        "静的DH/ECDH、PSK、RSA_PSK、KRB5、GOST）を検出する。これらでは、"
        "後にサーバの秘密鍵を入手した者が記録済みの通信を読めてしまう。TLS "
        "1.3の暗号スイートは常に前方秘匿性を持つ。"
    ),
    severity=Severity.LOW,
    severity_reason=(
        "Harm only once the server's private key leaks: then recorded traffic becomes readable."
    ),
    severity_reason_ja=(
        "被害が生じるのはサーバの秘密鍵が漏えいした場合のみだが、"
        "そのときは記録済みの通信が読めるようになる。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en="Offer only ECDHE or DHE key exchanges (TLS 1.3 always has forward secrecy).",
        ja="ECDHEまたはDHEの鍵交換のみを提供する（TLS 1.3は常に前方秘匿性を持つ）。",
    ),
    references=("CWE-327", "RFC 9325", "NIST SP 800-52 Rev. 2"),
)
VALIDITY = Check(
    id="tls.cert.validity",
    title="The TLS certificate is expired, not yet valid, or too close to expiry",
    title_ja="TLS証明書が有効期限切れ、有効期間前、または有効期限間近である",
    method=(
        "Reads notBefore and notAfter of the leaf certificate the server sends and compares "
        "them with the scan's clock; fails when expired, not yet valid, or fewer than "
        "min_days_left days remain."
    ),
    method_ja=(
        "サーバが送るリーフ証明書（エンドエンティティ証明書）のnotBeforeとnotAfterを読み取り、"
        "スキャン時の時刻と比較する。有効期限切れ、有効期間の開始前、"
        "または残り日数がmin_days_left日未満なら不合格とする。"
    ),
    params=ValidityParams,
    severity=Severity.MEDIUM,
    severity_reason=(
        "Clients refuse the connection or their users learn to click through certificate "
        "warnings, which is what an impostor needs."
    ),
    severity_reason_ja=(
        "クライアントが接続を拒否するか、利用者が証明書の警告を無視することに慣れてしまう。"
        "それこそがなりすましに必要な状況である。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en=(
            "Renew the certificate before fewer days remain than the profile requires "
            "(min_days_left, 0 days by default: before it expires), and monitor its expiry date."
        ),
        ja=(
            "残り日数がプロファイルの要求（min_days_left、既定では0日：有効期限切れ前）を"
            "下回る前に証明書を更新し、有効期限を監視する。"
        ),
    ),
    references=("CWE-324", "RFC 5280"),
)
TRUST = Check(
    id="tls.cert.trust",
    title=(
        "The TLS certificate chain is not trusted (self-signed where the profile does not accept "
        "it)"
    ),
    title_ja="TLS証明書チェーンが信頼できない（プロファイルが認めない自己署名証明書など）",
    method=(
        "Verifies the chain in a separate handshake against the system trust store or the "
        "profile's ca_file (certificate dates and host name not considered here); a "
        "self-signed certificate fails unless the profile sets accept_self_signed."
    ),
    method_ja=(
        "別のハンドシェイクで、証明書チェーンをシステムの信頼ストアまたはプロファイルのca_fileに"
        "照らして検証する（証明書の日付とホスト名はここでは考慮しない）。自己署名証明書は、"
        "プロファイルがaccept_self_signedを設定していない限り不合格とする。"
    ),
    params=TrustParams,
    severity=Severity.MEDIUM,
    severity_reason=(
        "Clients cannot tell the device from an impostor on the path without pinning its "
        "certificate."
    ),
    severity_reason_ja=(
        "クライアントは、証明書をピン留めしない限り、機器と通信経路上のなりすましを区別できない。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en=(
            "Install a certificate issued by a CA the operator trusts (or list the device's own CA "
            "in the profile)."
        ),
        ja=(
            "運用者が信頼する認証局（CA）が発行した証明書を導入する"
            "（または機器の認証局をプロファイルに登録する）。"
        ),
    ),
    references=("CWE-295", "RFC 5280"),
)
KEY = Check(
    id="tls.cert.key",
    title="The TLS certificate keys are weak: RSA under 2048 bits, EC under 256 bits, or DSA",
    title_ja="TLS証明書の鍵が脆弱である（2048ビット未満のRSA、256ビット未満のEC、DSA）",
    method="Reads the public key of the leaf and of every non-root certificate the server sends.",
    method_ja=(
        "サーバが送るリーフ証明書と、ルート以外のすべての証明書について、"
        "公開鍵の種類と長さを読み取る。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "A key short enough to be broken lets an attacker impersonate the device and read "
        "its traffic; breaking it takes work."
    ),
    severity_reason_ja=(
        "破れるほど短い鍵は、攻撃者に機器へのなりすましと通信の解読を許す。"
        "ただし鍵を破るには労力が要る。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en=(
            "Reissue the certificate with an RSA key of at least 2048 bits or an EC key of at "
            "least 256 bits."
        ),
        ja="2048ビット以上のRSA鍵、または256ビット以上のEC鍵で証明書を再発行する。",
    ),
    references=("CWE-326", "NIST SP 800-131A Rev. 2"),
)
SIGNATURE = Check(
    id="tls.cert.signature",
    title="TLS certificates are signed with MD5 or SHA-1",
    title_ja="TLS証明書がMD5またはSHA-1で署名されている",
    method=(
        "Reads the signature algorithm of the leaf and of every non-root certificate the "
        "server sends (a root's self-signature is not relied on)."
    ),
    method_ja=(
        "サーバが送るリーフ証明書と、ルート以外のすべての証明書の署名アルゴリズムを読み取る"
        "（ルート証明書の自己署名は信頼の根拠にならないため対象外とする）。"
    ),
    severity=Severity.MEDIUM,
    severity_reason=(
        "Hash collisions let a forged certificate carry the same signature; forging one "
        "takes considerable work."
    ),
    severity_reason_ja=(
        "ハッシュの衝突を使えば、偽造した証明書に同じ署名を持たせられる。"
        "ただし偽造にはかなりの労力が要る。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en=(
            "Reissue the certificate, and every certificate in its chain, signed with SHA-256 or "
            "stronger."
        ),
        ja="証明書とその証明書チェーンをSHA-256以上の署名で再発行する。",
    ),
    references=("CWE-328", "RFC 6151", "RFC 6194"),
)
NAME = Check(
    id="tls.cert.name",
    title="The TLS certificate does not name the device",
    title_ja="TLS証明書に機器のホスト名またはアドレスが含まれていない",
    method=(
        "Matches the target's host name, when the scan knows one, against the certificate's "
        "DNS names (RFC 6125: wildcard as the whole left-most label only; the CN only when "
        "there is no subjectAltName); a target known only by address must be an iPAddress "
        "subjectAltName."
    ),
    method_ja=(
        "スキャンが対象のホスト名を知っている場合は、それを証明書のDNS名と照合する（RFC "
        "6125に従い、ワイルドカードは最も左のラベル全体としてのみ認め、"
        "CNはsubjectAltNameがない場合に限り用いる）。アドレスしか分からない対象では、"
        "そのアドレスがiPAddress形式のsubjectAltNameに含まれていなければならない。"
    ),
    severity=Severity.LOW,
    severity_reason=(
        "Clients that check names warn on every connection, training users to accept "
        "warnings; no way in by itself."
    ),
    severity_reason_ja=(
        "名前を確認するクライアントは接続のたびに警告を出し、利用者に警告を受け流す"
        "習慣をつけさせる。それだけでは侵入口にならない。"
    ),
    kind="tls_quality",
    remediation=Remedy(
        en="Reissue the certificate with the device's host name or address in its subjectAltName.",
        ja="機器のホスト名またはアドレスをsubjectAltNameに含めて証明書を再発行する。",
    ),
    references=("CWE-297", "RFC 6125"),
)

CERT_CHECKS = (VALIDITY, TRUST, KEY, SIGNATURE, NAME)
_LABEL_IS_HOST = re.compile(r"[A-Za-z0-9.-]+\Z")


def host_name(label: str, address: str) -> str | None:
    """The target's host name: its label when that is a DNS name other than the address."""
    if label and label != address and _LABEL_IS_HOST.match(label) and is_dns_name(label):
        return label.rstrip(".").lower()
    return None


class TlsQuality(ServiceProbe):
    """One TLS audit per TLS service, judged by eight checks."""

    checks = (VERSIONS, CIPHERS, FORWARD_SECRECY, *CERT_CHECKS)
    protocols = frozenset({"*"})

    def applies_to(self, service: Service) -> bool:
        return service.tls

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        host = host_name(ctx.target.label, ctx.target.address)
        trust_params = ctx.params(TRUST, TrustParams)
        audit = await audit_tls(
            ctx.net,
            ctx.target.address,
            service.port,
            server_name=host,
            ca_file=trust_params.ca_file,
        )
        return judge(ctx.about(service), audit, host=host, now=_now())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def judge(
    about: ServiceResults,
    audit: TlsAudit,
    *,
    host: str | None,
    now: datetime.datetime,
) -> list[Result]:
    """The eight results for one audit (pure: tests hand in crafted audits)."""
    checks = (VERSIONS, CIPHERS, FORWARD_SECRECY, *CERT_CHECKS)
    ctx, where, where_ja = about.ctx, about.where, about.where_ja
    seen = _protocol_evidence(audit)
    if not audit.negotiated:
        notes = "; ".join(audit.notes) or "no answer"
        if audit.answered:
            reason = f"{where} refused every ClientHello the audit sent ({bound_text(notes, 300)})."
            reason_ja = (
                f"{where_ja} は検査で送ったすべての ClientHello を拒否した"
                f"（{bound_text(notes, 300)}）。"
            )
            verdict = Verdict.INCONCLUSIVE
        else:
            reason = f"{where} never completed a TLS ServerHello: {bound_text(notes, 300)}."
            reason_ja = (
                f"{where_ja} は TLS の ServerHello を一度も完了しなかった: "
                f"{bound_text(notes, 300)}。"
            )
            verdict = Verdict.ERROR
        return [about.result(c, verdict, reason, seen, reason_ja=reason_ja) for c in checks]

    def result(
        check: Check, verdict: Verdict, reason: str, *more: Evidence, reason_ja: str
    ) -> Result:
        # the Japanese fragments start with their particle: "は TLS 1.0 を受け付ける。"
        return about.result(
            check, verdict, f"{where} {reason}", *more, reason_ja=f"{where_ja} {reason_ja}"
        )

    out = [
        _versions(ctx, audit, seen, result),
        _ciphers(audit, seen, result),
        _forward_secrecy(audit, seen, result),
    ]
    chain: list[CertInfo] = []
    problem = ""
    for i, der in enumerate(audit.chain[:10]):
        try:
            chain.append(parse_certificate(der))
        except CertificateError as exc:
            if i == 0:
                problem = str(exc)
            break
    if not chain:
        why = problem or "; ".join(n for n in audit.notes if "certificate" in n)
        reason = f"sent no certificate the audit could read ({why or 'none obtained'})."
        reason_ja = f"は検査で読み取れる証明書を送らなかった（{why or '取得できず'}）。"
        out += [
            result(c, Verdict.INCONCLUSIVE, reason, seen, reason_ja=reason_ja) for c in CERT_CHECKS
        ]
        return out
    leaf = chain[0]
    cert_ev = Evidence(
        "tls_certificate",
        bound_text(f"{leaf.subject} issued by {leaf.issuer}", 200),
        {
            **leaf.details(now),
            "chain": [{"subject": c.subject, "issuer": c.issuer} for c in chain],
            "source": audit.chain_source,
        },
        summary_ja=bound_text(f"{leaf.subject}（発行者 {leaf.issuer}）", 200),
    )
    out += [
        _validity(ctx, leaf, now, cert_ev, result),
        _trust(ctx, audit, leaf, cert_ev, result),
        _key(chain, cert_ev, result),
        _signature(chain, cert_ev, result),
        _name(leaf, host, audit.address, cert_ev, result),
    ]
    return out


# --- evidence ---------------------------------------------------------------------------


def _protocol_evidence(audit: TlsAudit) -> Evidence:
    offered = [n for n, on in audit.version_map.items() if on]
    details: dict[str, JSONValue] = {
        "versions": dict(audit.version_map),
        "suites": {n: list[JSONValue](s[:200]) for n, s in audit.suites.items() if s},
        "groups": list[JSONValue](sorted(group_name(g) for g in audit.groups)),
        "server_order": {v.name: v.server_order for v in audit.versions if v.offered},
        "notes": list[JSONValue](bound_text(n, 200) for n in audit.notes[:20]),
        "seconds": round(audit.seconds, 3),
    }
    return Evidence(
        "tls_offer",
        f"versions accepted: {', '.join(offered) or 'none'}",
        details,
        summary_ja=f"受け付けたバージョン: {', '.join(offered) or 'なし'}",
    )


class _Judge(Protocol):
    """`result(check, verdict, reason, *evidence)` bound to one service."""

    def __call__(
        self, check: Check, verdict: Verdict, reason: str, *more: Evidence, reason_ja: str
    ) -> Result: ...


def _weak_evidence(weak: dict[str, str], what: str, what_ja: str) -> Evidence:
    return Evidence(
        "policy",
        bound_text(f"{what}: {', '.join(weak)}", 200),
        dict(weak),
        bound_text(f"{what_ja}: {', '.join(weak)}", 200),
    )


# --- protocol checks --------------------------------------------------------------------------


def _versions(ctx: ProbeContext, audit: TlsAudit, seen: Evidence, result: _Judge) -> Result:
    minimum = VERSIONS_BY_NAME[ctx.params(VERSIONS, VersionsParams).min_version]
    below = [v for v in audit.versions if v.version < minimum]
    offered_below = [v.name for v in below if v.offered]
    modern = [v.name for v in audit.versions if v.version >= TLS12 and v.offered]
    offered = ", ".join(n for n, on in audit.version_map.items() if on)
    if offered_below:
        return result(
            VERSIONS,
            Verdict.FAIL,
            f"accepts {', '.join(offered_below)}, below the minimum "
            f"{VERSION_NAMES[minimum]} (accepted: {offered}).",
            seen,
            reason_ja=(
                f"は最低限の {VERSION_NAMES[minimum]} を下回る {', '.join(offered_below)} "
                f"を受け付ける（受け付けたバージョン: {offered}）。"
            ),
        )
    if not modern:
        return result(
            VERSIONS,
            Verdict.FAIL,
            f"accepts no version from TLS 1.2 up (only {offered}).",
            seen,
            reason_ja=f"は TLS 1.2 以上のバージョンを1つも受け付けない（{offered} のみ）。",
        )
    unknown = [v.name for v in audit.versions if v.offered is None]
    unknown_below = [v.name for v in below if v.offered is None]
    if unknown_below:
        return result(
            VERSIONS,
            Verdict.INCONCLUSIVE,
            f"accepts {offered}; whether it accepts {', '.join(unknown_below)} could not be told.",
            seen,
            reason_ja=(
                f"は {offered} を受け付ける。{', '.join(unknown_below)} "
                "を受け付けるかは判別できなかった。"
            ),
        )
    extra = f" ({', '.join(unknown)} could not be told)" if unknown else ""
    extra_ja = f"（{', '.join(unknown)} は判別できなかった）" if unknown else ""
    return result(
        VERSIONS,
        Verdict.PASS,
        f"accepts only {offered}{extra}.",
        seen,
        reason_ja=f"は {offered} だけを受け付ける{extra_ja}。",
    )


def _incomplete(audit: TlsAudit) -> list[str]:
    return [v.name for v in audit.versions if v.offered is None or (v.offered and not v.complete)]


def _ciphers(audit: TlsAudit, seen: Evidence, result: _Judge) -> Result:
    weak: dict[str, str] = {}
    weak_ja: dict[str, str] = {}
    for v in audit.versions:
        for code in v.suites:
            suite = SUITES13.get(code) if v.version == TLS13 else SUITES.get(code)
            if suite is not None and suite.weak:
                weak[suite.name] = "; ".join(suite.weak.values())
                weak_ja[suite.name] = "、".join(suite.weak_ja.values())
    tls10 = audit.version(TLS10)
    if tls10.offered and tls10.suites and all(c in SUITES and SUITES[c].cbc for c in tls10.suites):
        weak["TLSv1.0 CBC only"] = "TLS 1.0 with CBC suites only: BEAST (CVE-2011-3389)"
        weak_ja["TLSv1.0 CBC only"] = "TLS 1.0 で CBC スイートだけ: BEAST（CVE-2011-3389）"
    if weak:
        listed = "; ".join(f"{n}: {why}" for n, why in list(weak.items())[:8])
        listed_ja = "; ".join(f"{n}: {why}" for n, why in list(weak_ja.items())[:8])
        return result(
            CIPHERS,
            Verdict.FAIL,
            f"accepts weak cipher suites ({listed}).",
            seen,
            _weak_evidence(weak, "weak suites", "弱い暗号スイート"),
            reason_ja=f"は弱い暗号スイートを受け付ける（{listed_ja}）。",
        )
    if missing := _incomplete(audit):
        return result(
            CIPHERS,
            Verdict.INCONCLUSIVE,
            f"accepts no weak suite among those read, but the suites of {', '.join(missing)} "
            "could not be fully enumerated.",
            seen,
            reason_ja=(
                f"は読み取れたスイートの中に弱いものを受け付けないが、{', '.join(missing)} "
                "のスイートは列挙しきれなかった。"
            ),
        )
    count = sum(len(v.suites) for v in audit.versions)
    return result(
        CIPHERS,
        Verdict.PASS,
        f"accepts {count} suites, none of them weak.",
        seen,
        reason_ja=f"は {count} 個のスイートを受け付け、弱いものはない。",
    )


def _forward_secrecy(audit: TlsAudit, seen: Evidence, result: _Judge) -> Result:
    static: dict[str, str] = {}
    for v in audit.versions:
        if v.version == TLS13:
            continue
        for code in v.suites:
            suite = SUITES.get(code)
            if suite is not None and not suite.forward_secrecy:
                static[suite.name] = f"static {suite.kex} key exchange ({v.name})"
            elif suite is None:
                static[suite_name(code)] = "unknown suite: forward secrecy not established"
    if static:
        listed = ", ".join(list(static)[:8])
        return result(
            FORWARD_SECRECY,
            Verdict.FAIL,
            f"accepts suites without forward secrecy ({listed}).",
            seen,
            _weak_evidence(static, "suites without forward secrecy", "前方秘匿性のないスイート"),
            reason_ja=f"は前方秘匿性のないスイートを受け付ける（{listed}）。",
        )
    if missing := _incomplete(audit):
        return result(
            FORWARD_SECRECY,
            Verdict.INCONCLUSIVE,
            f"accepts only ephemeral key exchanges among the suites read, but the suites of "
            f"{', '.join(missing)} could not be fully enumerated.",
            seen,
            reason_ja=(
                f"は読み取れたスイートの中では一時鍵交換だけを受け付けるが、{', '.join(missing)} "
                "のスイートは列挙しきれなかった。"
            ),
        )
    return result(
        FORWARD_SECRECY,
        Verdict.PASS,
        "accepts only suites with an ephemeral key exchange (forward secrecy).",
        seen,
        reason_ja="は一時鍵による鍵交換（前方秘匿性）のスイートだけを受け付ける。",
    )


# --- certificate checks -----------------------------------------------------------------------


def _validity(
    ctx: ProbeContext, leaf: CertInfo, now: datetime.datetime, ev: Evidence, result: _Judge
) -> Result:
    minimum = ctx.params(VALIDITY, ValidityParams).min_days_left
    left = leaf.days_left(now)
    dates = f"valid {leaf.not_before:%Y-%m-%d} to {leaf.not_after:%Y-%m-%d}"
    dates_ja = f"有効期間 {leaf.not_before:%Y-%m-%d} から {leaf.not_after:%Y-%m-%d}"
    if now < leaf.not_before:
        return result(
            VALIDITY,
            Verdict.FAIL,
            f"sends a certificate not yet valid ({dates}).",
            ev,
            reason_ja=f"はまだ有効でない証明書を送る（{dates_ja}）。",
        )
    if now > leaf.not_after:
        return result(
            VALIDITY,
            Verdict.FAIL,
            f"sends an expired certificate ({dates}, {-left} days ago).",
            ev,
            reason_ja=f"は期限切れの証明書を送る（{dates_ja}、{-left} 日前に失効）。",
        )
    if left < minimum:
        return result(
            VALIDITY,
            Verdict.FAIL,
            f"sends a certificate expiring in {left} days, fewer than the profile's "
            f"{minimum} ({dates}).",
            ev,
            reason_ja=(
                f"は {left} 日後に期限が切れる証明書を送る。プロファイルの {minimum} 日に満たない（"
                f"{dates_ja}）。"
            ),
        )
    return result(
        VALIDITY,
        Verdict.PASS,
        f"sends a certificate {dates}: {left} days left.",
        ev,
        reason_ja=f"は証明書を送る（{dates_ja}）: 残り {left} 日。",
    )


def _trust(
    ctx: ProbeContext, audit: TlsAudit, leaf: CertInfo, ev: Evidence, result: _Judge
) -> Result:
    params = ctx.params(TRUST, TrustParams)
    trust = audit.trust
    verification = Evidence(
        "tls_verification",
        bound_text(
            f"verified against {trust.store}: "
            + ("yes" if trust.verified else trust.error or "not verified"),
            200,
        ),
        {"verified": trust.verified, "error": trust.error, "store": trust.store},
        summary_ja=bound_text(
            f"{trust.store} による検証: " + ("成功" if trust.verified else trust.error or "未検証"),
            200,
        ),
    )
    if leaf.self_signed:
        if params.accept_self_signed:
            return result(
                TRUST,
                Verdict.PASS,
                f"sends a self-signed certificate ({leaf.subject}), which the profile accepts.",
                ev,
                verification,
                reason_ja=(
                    f"は自己署名証明書（{leaf.subject}）を送るが、プロファイルはこれを認めている。"
                ),
            )
        return result(
            TRUST,
            Verdict.FAIL,
            f"sends a self-signed certificate ({leaf.subject}).",
            ev,
            verification,
            reason_ja=f"は自己署名証明書（{leaf.subject}）を送る。",
        )
    if trust.verified:
        return result(
            TRUST,
            Verdict.PASS,
            f"sends a chain that verifies against {trust.store} (issuer {leaf.issuer}).",
            ev,
            verification,
            reason_ja=(
                f"は {trust.store} で検証できる証明書チェーンを送る（発行者 {leaf.issuer}）。"
            ),
        )
    if trust.verified is False:
        return result(
            TRUST,
            Verdict.FAIL,
            f"sends a chain that does not verify against {trust.store}: {trust.error} "
            f"(issuer {leaf.issuer}).",
            ev,
            verification,
            reason_ja=(
                f"は {trust.store} で検証できない証明書チェーンを送る: {trust.error}（発行者 "
                f"{leaf.issuer}）。"
            ),
        )
    return result(
        TRUST,
        Verdict.INCONCLUSIVE,
        f"could not be verified: {trust.error}.",
        ev,
        verification,
        reason_ja=f"の証明書は検証できなかった: {trust.error}。",
    )


def _non_roots(chain: list[CertInfo]) -> list[CertInfo]:
    """The leaf always, then every chain member that is not a self-signed root."""
    return [chain[0], *(c for c in chain[1:] if not c.self_signed)]


def _why_ja(chain: list[CertInfo], weakness: Callable[..., str]) -> str:
    """`subject: why; ...` in Japanese for the chain members `weakness` flags."""
    return "; ".join(
        f"{c.subject}: {why}" for c in _non_roots(chain) if (why := weakness(c, ja=True))
    )


def _key(chain: list[CertInfo], ev: Evidence, result: _Judge) -> Result:
    weak = {c.subject: why for c in _non_roots(chain) if (why := weak_key(c))}
    if weak:
        listed = "; ".join(f"{s}: {why}" for s, why in weak.items())
        return result(
            KEY,
            Verdict.FAIL,
            f"sends a weak certificate key ({listed}).",
            ev,
            _weak_evidence(weak, "weak keys", "弱い鍵"),
            reason_ja=f"は弱い鍵の証明書を送る（{_why_ja(chain, weak_key)}）。",
        )
    keys = ", ".join(f"{c.key_type} {c.key_bits}" for c in _non_roots(chain))
    return result(
        KEY,
        Verdict.PASS,
        f"sends certificates with strong keys ({keys}).",
        ev,
        reason_ja=f"は強い鍵の証明書を送る（{keys}）。",
    )


def _signature(chain: list[CertInfo], ev: Evidence, result: _Judge) -> Result:
    weak = {c.subject: why for c in _non_roots(chain) if (why := weak_signature(c))}
    if weak:
        listed = "; ".join(f"{s}: {why}" for s, why in weak.items())
        return result(
            SIGNATURE,
            Verdict.FAIL,
            f"sends a certificate with a weak signature ({listed}).",
            ev,
            _weak_evidence(weak, "weak signatures", "弱い署名"),
            reason_ja=f"は弱い署名の証明書を送る（{_why_ja(chain, weak_signature)}）。",
        )
    algs = ", ".join(c.signature_algorithm for c in _non_roots(chain))
    return result(
        SIGNATURE,
        Verdict.PASS,
        f"sends certificates signed with {algs}.",
        ev,
        reason_ja=f"は {algs} で署名された証明書を送る。",
    )


def _name(leaf: CertInfo, host: str | None, address: str, ev: Evidence, result: _Judge) -> Result:
    names = [*leaf.dns_names, *leaf.ip_addresses] or (
        list(leaf.common_names) if not leaf.has_san else []
    )
    shown = bound_text(", ".join(names[:10]) or "none", 200)
    shown_ja = bound_text(", ".join(names[:10]) or "なし", 200)
    if host is not None:
        if name_matches(leaf, host):
            return result(
                NAME,
                Verdict.PASS,
                f"sends a certificate for its host name {host}.",
                ev,
                reason_ja=f"はホスト名 {host} の証明書を送る。",
            )
        return result(
            NAME,
            Verdict.FAIL,
            f"sends a certificate that does not name its host name {host} (names: {shown}).",
            ev,
            reason_ja=f"はホスト名 {host} を含まない証明書を送る（名前: {shown_ja}）。",
        )
    if name_matches(leaf, address):
        return result(
            NAME,
            Verdict.PASS,
            f"sends a certificate naming its address {address} (the target was given by "
            "address only, so the address was matched against the IP subjectAltNames).",
            ev,
            reason_ja=(
                f"はアドレス {address} を含む証明書を送る（対象はアドレスだけで指定されたため、"
                "アドレスを IP の subjectAltName と照合した）。"
            ),
        )
    return result(
        NAME,
        Verdict.FAIL,
        f"sends a certificate that does not name its address {address} (the target was given "
        f"by address only; names: {shown}).",
        ev,
        reason_ja=(
            f"はアドレス {address} を含まない証明書を送る（対象はアドレスだけで指定された。名前: "
            f"{shown_ja}）。"
        ),
    )
