"""Whether an MQTT broker ends a client that stays silent past its keep-alive (IEC 62443-4-2
CR 2.6; NIST SP 800-171 3.1.11).

| check                  | parameter (0 = not required: skipped, nothing is waited for)   |
|------------------------|-----------------------------------------------------------------|
| session.mqtt-keepalive | `keepalive_seconds`: a broker ends a silent client within       |
|                        | 1.5 × its keep-alive (MQTT 3.1.1 §3.1.2.10)                     |

The probe connects with a known credential, announces keep-alive K and sends nothing more
(MQTT 3.1.1 first, 5.0 when the broker refuses the level); `judge_keep_alive` turns when
the broker closed the connection (or that it never did) into the verdict. The connection
holds a device permit only while it is made (`DeviceNetwork.idle_tcp`). A broker that
accepts a random control login authenticates nobody: there is no authenticated session
whose end matters, so the check is not applicable.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from probes._account import NO_CREDENTIAL, NO_CREDENTIAL_JA, known_credential
from probes._login import mqtt as mqtt_login
from probes._login.mqtt import connect_packet, parse_connack
from scanner.credentials import Credential, Outcome
from scanner.errors import ConfigError
from scanner.facts import VALID_CREDENTIALS
from scanner.model import Evidence, Verdict
from scanner.net import lenient_tls_context
from scanner.probe import Check, Params, Phase, Remedy, ServiceProbe, Severity

if TYPE_CHECKING:
    from scanner.model import JSONValue, Result, Service
    from scanner.net import BoundedStream
    from scanner.probe import ProbeContext

#: Margin of one job beyond its connects and its wait: hang-ups and scheduling.
JOB_MARGIN = 30.0
#: Seconds past 1.5 × keep-alive a broker is given to close the connection.
GRACE = 1.0


@dataclass(frozen=True, slots=True)
class KeepAliveParams(Params):
    """`session.mqtt-keepalive`: the keep-alive the probe announces; 0 = skipped."""

    keepalive_seconds: int = 0

    def __post_init__(self) -> None:
        value: object = self.keepalive_seconds  # from YAML: anything
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 600:
            raise ConfigError("keepalive_seconds must be an integer 0-600")


MQTT_KEEPALIVE = Check(
    id="session.mqtt-keepalive",
    title="The MQTT broker keeps a client that stays silent past its keep-alive",
    title_ja="キープアライブ時間を過ぎても無通信のクライアントをMQTTブローカが切断しない",
    method=(
        "Connects with keep-alive K = keepalive_seconds and sends nothing more: a broker "
        "that has not closed the connection 1.5 × K (MQTT 3.1.1 §3.1.2.10) plus a grace "
        "second later fails."
    ),
    method_ja=(
        "キープアライブK = keepalive_secondsで接続し、以後は何も送らない。1.5 × K（MQTT 3.1.1 "
        "§3.1.2.10）に猶予の1秒を加えた時間が過ぎても接続を閉じないブローカは不合格とする。"
    ),
    params=KeepAliveParams,
    severity=Severity.LOW,
    severity_reason=(
        "Dead or abandoned clients keep their connection and the broker's resources; "
        "nothing is opened to an attacker by it."
    ),
    severity_reason_ja=(
        "停止・放置されたクライアントが接続とブローカの資源を占有し続けるが、"
        "それによって攻撃者に開かれるものはない。"
    ),
    kind="session_expiry",
    remediation=Remedy(
        en="Disconnect MQTT clients that send nothing for 1.5 times their keep-alive interval.",
        ja="キープアライブ間隔の1.5倍の時間何も送らないMQTTクライアントを切断する。",
    ),
    references=("MQTT 3.1.1 section 3.1.2.10", "MQTT 5.0 section 3.1.2.10"),
)


class MqttKeepAlive(ServiceProbe):
    """Whether a broker ends a client that announced keep-alive K and then stays silent."""

    checks = (MQTT_KEEPALIVE,)
    protocols = frozenset({"mqtt", "mqtts"})
    phase = Phase.MEASURE
    uses = frozenset({VALID_CREDENTIALS})

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        keep = ctx.params(MQTT_KEEPALIVE, KeepAliveParams).keepalive_seconds
        if not keep:
            return 0.0
        # the control CONNECT, up to two CONNECTs (3.1.1, then 5.0), the silent wait
        connects = 3 * (ctx.net.limits.connect_timeout + ctx.net.limits.read_timeout)
        return JOB_MARGIN + connects + 1.5 * keep + 2.0

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        def result(
            verdict: Verdict, reason: str, ja: str, details: dict[str, JSONValue] | None = None
        ) -> Result:
            return _result(ctx, service, verdict, reason, ja, details)

        keep = ctx.params(MQTT_KEEPALIVE, KeepAliveParams).keepalive_seconds
        if not keep:
            return [
                result(
                    Verdict.SKIPPED,
                    "the profile sets no keepalive_seconds, so nothing was measured.",
                    "プロファイルが keepalive_seconds を設定していないため、測定しなかった。",
                )
            ]
        nobody = await _broker_accepts_anyone(ctx, service)
        if nobody:
            return [result(Verdict.NOT_APPLICABLE, *nobody)]
        credential = known_credential(ctx, service)
        if credential is None:
            return [result(Verdict.INCONCLUSIVE, f"{NO_CREDENTIAL}.", f"{NO_CREDENTIAL_JA}。")]
        tls = service.tls or service.protocol == "mqtts"
        who = str(credential) if credential.username or credential.password else "no login"
        who_ja = str(credential) if credential.username or credential.password else "ログインなし"
        for level in (4, 5):
            try:
                stream = await ctx.net.idle_tcp(
                    service.port, tls=lenient_tls_context() if tls else None
                )
            except (OSError, TimeoutError) as exc:
                return [
                    result(
                        Verdict.INCONCLUSIVE, f"no connection: {exc}.", f"接続できなかった: {exc}。"
                    )
                ]
            try:
                code = await _connack(stream, credential, level, keep)
                if code == 1 and level == 4:
                    continue  # MQTT 3.1.1 refused: ask again in 5.0
                if code != 0:
                    why = "no CONNACK" if code is None else f"CONNACK code {code}"
                    why_ja = "CONNACK なし" if code is None else f"CONNACK コード {code}"
                    return [
                        result(
                            Verdict.INCONCLUSIVE,
                            f"the CONNECT with {who} was not accepted "
                            f"({why}), so no session can be judged.",
                            f"{who_ja} での CONNECT が受け付けられなかった（{why_ja}）ため、"
                            "セッションを判定できない。",
                        )
                    ]
                closed_after = await _silent_until_closed(stream, keep)
                return [result(*judge_keep_alive(keep, closed_after))]
            finally:
                await stream.aclose()
        raise AssertionError("unreachable: the MQTT 5.0 attempt always returns")


def _result(
    ctx: ProbeContext,
    service: Service,
    verdict: Verdict,
    reason: str,
    reason_ja: str,
    details: dict[str, JSONValue] | None,
) -> Result:
    about = ctx.about(service)
    evidence = (
        (
            Evidence(
                "session_expiry",
                "MQTT keep-alive of a silent client",
                details,
                summary_ja="沈黙したクライアントに対する MQTT キープアライブ",
            ),
        )
        if details
        else ()
    )
    return about.result(
        MQTT_KEEPALIVE,
        verdict,
        f"{about.where}: {reason}",
        *evidence,
        reason_ja=f"{about.where_ja}: {reason_ja}",
    )


# --- measuring ---------------------------------------------------------------------------


def _with_keep_alive(packet: bytes, seconds: int) -> bytes:
    """A CONNECT packet with its Keep Alive field replaced."""
    at = packet.index(b"\x00\x04MQTT") + 8  # name, level, flags, then keep-alive
    return packet[:at] + seconds.to_bytes(2, "big") + packet[at + 2 :]


async def _broker_accepts_anyone(ctx: ProbeContext, service: Service) -> tuple[str, str] | None:
    """Why the broker authenticates nobody, in English and Japanese (None when it refused a
    random control login or the control could not be judged)."""
    control = Credential(
        f"shinsa-nobody-{secrets.token_hex(4)}", secrets.token_urlsafe(12), "control"
    )
    run = await mqtt_login.try_logins(ctx.net, service, [control], with_control=False)
    seen = run.attempts[0] if run.attempts else None
    if seen is None or seen.outcome is not Outcome.ACCEPTED:
        return None
    return (
        f"the broker accepted a random control login (user {control.username!r}, which "
        f"does not exist: {seen.detail[:80]}): it authenticates nobody, so there is no "
        "authenticated session whose end matters; any client may connect again at will.",
        f"ブローカーは無作為な対照ログイン（存在しないユーザー {control.username!r}: "
        f"{seen.detail[:80]}）を受け付けた。誰も認証していないため、終わりが問題になる"
        "認証済みセッションはなく、どのクライアントもいつでも再接続できる。",
    )


async def _connack(
    stream: BoundedStream, credential: Credential, level: int, keep: int
) -> int | None:
    packet = _with_keep_alive(connect_packet(credential, level), keep)
    try:
        await stream.write(packet)
        answer = parse_connack(await stream.read_some(256), level)
    except (OSError, TimeoutError):
        return None
    return None if answer is None else answer.code


async def _silent_until_closed(stream: BoundedStream, keep: int) -> float | None:
    """Seconds until the broker closed the silent connection; None when it was still open
    at 1.5 × `keep` + `GRACE` (then a DISCONNECT is sent)."""
    start = time.monotonic()
    deadline = 1.5 * keep + GRACE
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            while True:
                try:
                    data = await stream.read_some(4096, timeout=deadline + 1)
                except (OSError, TimeoutError):
                    data = b""
                if not data:
                    return time.monotonic() - start
    with contextlib.suppress(OSError, TimeoutError):
        await stream.write(b"\xe0\x00")  # DISCONNECT
    return None


# --- judging -----------------------------------------------------------------------------


def judge_keep_alive(
    keep: int, closed_after: float | None
) -> tuple[Verdict, str, str, dict[str, JSONValue]]:
    """The verdict on a client silent after announcing keep-alive `keep`, from when the
    broker closed it (None: still open at 1.5 × keep + GRACE)."""
    deadline = 1.5 * keep + GRACE
    facts: dict[str, JSONValue] = {"keepalive_seconds": keep, "waited": round(deadline, 2)}
    if closed_after is None:
        return (
            Verdict.FAIL,
            f"a client silent for {deadline:g} s after announcing keep-alive {keep} s was "
            f"still connected (the broker must end it within 1.5 × {keep} s).",
            f"キープアライブ {keep} 秒を通知した後 {deadline:g} 秒沈黙したクライアントが"
            f"接続されたままだった（ブローカーは 1.5 × {keep} 秒以内に切断しなければならない）。",
            facts,
        )
    facts["closed_after"] = round(closed_after, 2)
    return (
        Verdict.PASS,
        f"the broker closed a silent client {closed_after:.1f} s after its CONNECT "
        f"(keep-alive {keep} s).",
        f"ブローカーは沈黙したクライアントを CONNECT から {closed_after:.1f} 秒後に切断した"
        f"（キープアライブ {keep} 秒）。",
        facts,
    )
