"""The flow in one screen: discovery → fingerprint → plan → probes → store.

(Targets and scope come from `targets.py`/`scope.py` before this; assessment and rendering
happen after it, from what the store holds.) Devices run concurrently, each with its own
facts and connection budget; every result is stored the moment it lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scanner.browser import Browser, BrowserOptions
from scanner.credential_lists import CredentialCatalog, load_catalog
from scanner.discovery import link, routes, syn, udp
from scanner.discovery import tcp as discovery
from scanner.errors import ConfigError
from scanner.facts import SERVICES, Facts
from scanner.fingerprint.identity import collect_identity
from scanner.fingerprint.link_identity import link_identity
from scanner.fingerprint.services import Timing, fingerprint
from scanner.ledger import StoredLedger
from scanner.model import Evidence, Result, Service, Target, Verdict, bound_text, quoted
from scanner.net import Limits, Network
from scanner.pacing import UNPACED, Pacer
from scanner.plan import Job, plan
from scanner.probe import DeviceProbe, Probe, ProbeContext, ServiceProbe, job_deadline
from scanner.redact import DeviceRedactor, mask_urls

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from contextlib import AbstractAsyncContextManager

    from scanner.discovery.ports import PortSet
    from scanner.judging.profiles import Profile
    from scanner.reporter import Reporter
    from scanner.scope import Scope
    from scanner.store import Store


@dataclass(frozen=True, slots=True)
class ScanRequest:
    targets: tuple[Target, ...]
    scope: Scope
    ports: PortSet
    profile: Profile
    # the probes to run, handed in (`probes.registry.REGISTRY` and plugins): the engine
    # knows the probe contract, never which probes exist
    registry: tuple[type[Probe], ...]
    limits: Limits = field(default_factory=Limits)
    syn: bool = False  # SYN discovery (root only; falls back to connect scan)
    discovery_timeout: float = 1.0
    # Deadline for one probe on one service. Login probes of a device take turns, and a
    # slow login (PAM's 3 s fail delay × 20 pairs) is legitimate, so it is generous: each
    # attempt has its own, shorter timeout.
    job_timeout: float = 600.0
    max_devices: int = 64  # devices fingerprinted and probed at once
    allow_intrusive: bool = False
    credentials: CredentialCatalog = field(default_factory=load_catalog)
    # headless Chromium for logins only a script sends; started by the first page asked for
    browser: BrowserOptions = field(default_factory=BrowserOptions)
    max_scan_time: float | None = None  # seconds for the whole run, discovery included
    # the check IDs selected (--checks/--exclude-checks, scanner.plan.select_checks); None:
    # every check. Only these are planned and stored; their probes' providers still run.
    checks: frozenset[str] | None = None
    # the profiles of devices that name their own (a target file's `profile=`), by the
    # reference they name (Target.profile); every other device has `profile`
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    # the pace to keep, when it is shared beyond this process (a site's workers keep one
    # --max-rate together: scanner/sites/pace.py); None: a Pacer of `limits`' own
    pacer: Pacer | None = None
    # --link-sweep: ARP / Neighbor Discovery sweeps of the targets' on-link networks before
    # discovery (scanner/discovery/link.py): every device's MAC from its answer
    link_sweep: bool = False
    # a slot each device holds while it is scanned, beyond `max_devices`, when the count is
    # shared beyond this scan (a site worker's tasks share its --concurrency:
    # scanner/sites/slots.py); None: `max_devices` only
    device_slot: Callable[[], AbstractAsyncContextManager[None]] | None = None

    def profile_for(self, target: Target) -> Profile:
        """The profile `target` is planned and judged by: its own, else the run's."""
        if not target.profile:
            return self.profile
        try:
            return self.profiles[target.profile]
        except KeyError:
            raise ConfigError(
                f"{target.address}: profile {target.profile!r} was not loaded for this run"
            ) from None


class ProbeContractError(Exception):
    """A probe broke its contract (scanner/probe.py): it returned something other than at
    most one result per declared check. A bug in the probe, not the device: the job's
    checks are recorded as `error` with this message, and the scan goes on."""


@dataclass(slots=True)
class ContractWarnings:
    """Says once per probe class and run that a probe broke its contract: a plugin's bug
    is the operator's to report, and one notice says it as well as a hundred."""

    notice: Callable[[str], None]
    said: set[str] = field(default_factory=set)

    def __call__(self, probe: str, breach: str) -> None:
        if probe in self.said:
            return
        self.said.add(probe)
        self.notice(
            f"probe {probe} broke the probe contract ({breach}): its checks are recorded as "
            "error on every service where it does so (a bug in the probe, not the device)"
        )


class DeviceStopped(Exception):
    """A device's work ended before its end: the message is the reason kept, `reason_ja`
    the same in Japanese."""

    def __init__(self, reason: str, reason_ja: str) -> None:
        super().__init__(reason)
        self.reason_ja = reason_ja


class DeviceDeadline(DeviceStopped):
    """A device's work passed its whole deadline: recorded with the reason, the run goes on."""


class DeviceFailed(DeviceStopped):
    """A device's work ended in an exception; the message is the redacted reason kept."""


#: What the engine itself may spend beside the bounded steps (scheduling, storing results).
WORK_MARGIN = 60.0
IDENTITY_DEADLINE = 20.0


@dataclass(frozen=True, slots=True)
class _Run:
    """What every device of one scan shares."""

    request: ScanRequest
    net: Network
    store: Store
    run_id: str
    reporter: Reporter
    done: frozenset[tuple[str, str, str]]  # (address, service, check) finished earlier
    contract: ContractWarnings
    swept: dict[str, str] = field(default_factory=dict)  # address -> MAC, --link-sweep


async def scan(request: ScanRequest, store: Store, run_id: str, reporter: Reporter) -> None:
    """Scan every target of the run not yet done; results land in `store` as they come.

    With `max_scan_time`, the run ends when it passes: what finished stays, and every
    device still going is recorded as failed with that reason."""
    finished = {addr for addr, _, state in store.targets(run_id) if state == "done"}
    pending = [t for t in request.targets if t.address not in finished]
    for t in pending:
        request.scope.check(t.address)  # refused before a packet leaves
        request.profile_for(t)  # and a device whose profile is missing, too
    settled: set[str] = set()  # devices that ended in this run, done or failed
    # One pace for the whole scan: discovery, the door and the browser's gate take turns.
    pacer = request.pacer or Pacer(request.limits.max_rate, request.limits.scan_delay)
    browser = Browser(request.scope, request.browser, reporter.notice, pacer)
    try:
        async with asyncio.timeout(request.max_scan_time):
            await _devices(request, store, run_id, reporter, browser, pacer, pending, settled)
    except TimeoutError:
        for target in pending:
            if target.address not in settled:
                store.target_failed(
                    run_id,
                    target.address,
                    f"the run's --max-scan-time of {request.max_scan_time:g} s passed first",
                    f"先に実行全体の --max-scan-time {request.max_scan_time:g} 秒が過ぎた",
                )
        reporter.notice(f"--max-scan-time {request.max_scan_time:g} s reached: the run ends")
    finally:
        await browser.aclose()


async def _devices(
    request: ScanRequest,
    store: Store,
    run_id: str,
    reporter: Reporter,
    browser: Browser,
    pacer: Pacer,
    pending: Sequence[Target],
    settled: set[str],
) -> None:
    """Discovery, then every pending device, a few at a time."""
    addresses = [t.address for t in pending]
    swept = await _sweep_links(request, addresses, reporter, pacer) if request.link_sweep else {}
    tcp_open, udp_replies = await _discover(request, addresses, reporter, pacer)
    run = _Run(
        request,
        Network(request.scope, request.limits, browser, pacer),
        store,
        run_id,
        reporter,
        frozenset(store.done(run_id)),
        ContractWarnings(reporter.notice),
        swept,
    )
    gate = asyncio.Semaphore(request.max_devices)

    async def one(target: Target) -> None:
        shared = request.device_slot() if request.device_slot else contextlib.nullcontext()
        async with gate, shared:
            reporter.device_started(target.address)
            try:
                await _device(
                    run,
                    target,
                    tcp_open.get(target.address, ()),
                    udp_replies.get(target.address, ()),
                )
            except Exception as exc:
                # Its finished results are kept, and --resume retries the rest; the run
                # says the device failed, and the exit code follows.
                if isinstance(exc, DeviceStopped):
                    reason, reason_ja = str(exc), exc.reason_ja
                else:  # not from the device's work (its own code redacts what it raises)
                    reason = mask_urls(f"scan failed ({_describe(exc)})")
                    reason_ja = mask_urls(f"スキャンが失敗した（{_describe(exc)}）")
                reporter.notice(f"{target.address}: {reason}")
                store.target_failed(run_id, target.address, reason, reason_ja)
                settled.add(target.address)
                return
            store.target_done(run_id, target.address)
            settled.add(target.address)
            reporter.device_done(target.address)

    async with asyncio.TaskGroup() as tg:
        for target in pending:
            tg.create_task(one(target))


async def _sweep_links(
    request: ScanRequest, addresses: Sequence[str], reporter: Reporter, pacer: Pacer
) -> dict[str, str]:
    """address -> MAC of the devices that answered an ARP or Neighbor Discovery sweep of
    the on-link networks the targets are on (only in-scope addresses are asked). A network
    that cannot be swept is said, and the kernel's table serves as before."""
    found: dict[str, str] = {}
    for network in routes.link_networks(addresses):
        try:
            done = await asyncio.to_thread(
                link.sweep,
                str(network),
                request.scope,
                timeout=request.discovery_timeout,
                pacer=pacer,
            )
        except ConfigError as exc:
            reporter.notice(f"link sweep of {network} not done: {exc}")
            continue
        if done.notice:
            reporter.notice(done.notice)
        reporter.notice(
            f"{done.method} sweep of {network} on {done.interface}: {len(done.found)} device(s) "
            "answered"
        )
        found.update(done.found)
    return found


def _describe(exc: BaseException) -> str:
    """The first real exception inside (possibly nested) TaskGroup exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]


async def _discover(
    request: ScanRequest, addresses: Sequence[str], reporter: Reporter, pacer: Pacer = UNPACED
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[udp.UdpReply, ...]]]:
    """Open TCP ports and UDP answers per address, TCP and UDP at the same time, every
    packet paced by `pacer`. Only addresses the scope admits get one (scan() refused the
    rest), and each is asked again here: the one gate for discovery's packets."""
    for address in addresses:
        request.scope.check(address, "discovery probe to")
    if not addresses:
        return {}, {}
    reporter.discovery(len(addresses) * (len(request.ports.tcp) + len(request.ports.udp)))
    skipped = udp.unprobed(request.ports.udp)
    if skipped:
        ports = ", ".join(map(str, skipped))
        reporter.notice(f"UDP port(s) {ports}: no protocol payload known, so not probed.")
    use_syn = request.syn and syn.syn_available()
    if request.syn and not use_syn:
        reporter.notice("SYN scan needs root and raw sockets; using a TCP connect scan.")

    async def tcp() -> dict[str, tuple[int, ...]]:
        if use_syn:
            found = await asyncio.to_thread(
                functools.partial(
                    syn.syn_scan,
                    addresses,
                    request.ports.tcp,
                    timeout=request.discovery_timeout,
                    pacer=pacer,
                )
            )
            reporter.discovery_advance(len(addresses) * len(request.ports.tcp))
            return found
        return await discovery.connect_scan(
            addresses,
            request.ports.tcp,
            timeout=request.discovery_timeout,
            on_progress=reporter.discovery_advance,
            pacer=pacer,
        )

    async def udp_() -> dict[str, tuple[udp.UdpReply, ...]]:
        if not request.ports.udp:
            return {}
        replies = await udp.udp_scan(addresses, request.ports.udp, pacer=pacer)
        reporter.discovery_advance(len(addresses) * len(request.ports.udp))
        return replies

    async with asyncio.TaskGroup() as tg:
        tcp_task = tg.create_task(tcp())
        udp_task = tg.create_task(udp_())
    return tcp_task.result(), udp_task.result()


async def _device(
    run: _Run, target: Target, tcp_ports: Sequence[int], udp_replies: Sequence[udp.UdpReply]
) -> None:
    """One device's work; a failure is raised as `DeviceFailed`, its reason redacted like
    every result (an exception may quote a URL or a device answer with a password in it)."""
    facts = Facts()
    # Nothing kept shows a secret: the test account and site lists from the start, every
    # login or community the device accepts once found; URLs show no values (redact.py).
    profile = run.request.profile_for(target)
    redact = DeviceRedactor(profile.test_account, run.request.credentials, facts)
    try:
        await _device_work(run, target, tcp_ports, udp_replies, facts, redact)
    except DeviceDeadline:
        raise
    except Exception as exc:
        reason = redact.current().text(f"scan failed ({_describe(exc)})")
        reason_ja = redact.current().text(f"スキャンが失敗した（{_describe(exc)}）")
        raise DeviceFailed(reason, reason_ja) from exc


async def _device_work(
    run: _Run,
    target: Target,
    tcp_ports: Sequence[int],
    udp_replies: Sequence[udp.UdpReply],
    facts: Facts,
    redact: DeviceRedactor,
) -> None:
    """Fingerprint one device, then run each probe once what it needs and uses is settled."""
    dev = run.net.device(target.address)
    # Every step is bounded on its own (reads, ports, pages, jobs); these two deadlines are
    # the device's whole budget from its work, so nothing a device does can hold the run.
    identify = identify_deadline(len(tcp_ports) + len(udp_replies), run.request.limits.per_device)
    try:
        async with asyncio.timeout(identify):
            services = await fingerprint(dev, tcp_ports, udp_replies, facts)
    except TimeoutError:
        raise DeviceDeadline(
            f"fingerprinting did not finish within its deadline of {identify:g} s",
            f"サービスの識別が制限時間 {identify:g} 秒以内に終わらなかった",
        ) from None
    shown = tuple(redact.service(s) for s in services)
    run.store.put_services(run.run_id, target.address, shown)
    run.reporter.services_found(target.address, shown)
    facts.put(SERVICES, services)
    # What the device says it is (favicon, UPnP description, certificate names, industrial
    # identity...): the default-credentials checks pick their vendor lists from it. Kept
    # in the store at once (redacted like every result), so a crashed or resumed run still
    # says which device this was: the service follows a device across addresses by it.
    signals = await collect_identity(dev, services, facts, deadline=IDENTITY_DEADLINE)
    shown_text = redact.current().text
    said = [(s.service.protocol, s.kind, shown_text(s.text)) for s in signals]
    # the device's MAC on the scanner's own link (the kernel holds it: it answered), and
    # its vendor from the IEEE registry: facts for the credential lists and the identity
    said += link_identity(target.address, facts, swept=run.swept)
    if said:
        run.store.put_identity(run.run_id, target.address, said)
    profile = run.request.profile_for(target)  # its own params, test account and gates
    ctx = ProbeContext(
        target,
        dev,
        facts,
        profile.params,
        run.request.credentials,
        test_account=profile.test_account,
        # failed-login slots written ahead to the store: a resume or a second scan of this
        # device from the same store counts what was already spent
        ledger=StoredLedger(store=run.store, run_id=run.run_id, address=target.address),
    )
    selected = run.request.checks
    jobs = plan(
        run.request.registry, services, address=target.address, done=run.done, selected=selected
    )

    def land(result: Result) -> None:
        if (result.target, result.service_key, result.check_id) in run.done:
            return  # finished in an earlier attempt of this run: keep that one
        if selected is not None and result.check_id not in selected:
            return  # a provider's check the run left out: not assessed, never a verdict
        result = redact.result(result)
        run.store.add_result(run.run_id, result)
        run.reporter.result(result)

    # A job starts once every job of an earlier phase on this device has ended, its needs
    # are facts and no job still waiting or running provides a fact it uses; each job that
    # ends may let others start (not rounds: within a phase, a quick provider must not make
    # its users wait for the slowest job of the device).
    # When nothing runs and nothing can start, the rest never will.
    waiting = list(jobs)
    running: dict[asyncio.Task[None], Job] = {}
    # Jobs have their own deadlines; even one after another they end within their sum.
    work = WORK_MARGIN + sum(
        job_deadline(run.request.job_timeout, j.probe.time_needed(ctx, j.service)) for j in jobs
    )
    try:
        async with asyncio.timeout(work), asyncio.TaskGroup() as tg:
            while True:
                ready = ready_jobs(waiting, ctx.facts, busy=running.values())
                waiting = [j for j in waiting if j not in ready]
                for job in ready:
                    running[
                        tg.create_task(
                            _run_job(run.request, ctx, job, land, services, run.contract)
                        )
                    ] = job
                if not running:
                    break
                ended, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in ended:
                    del running[task]
    except TimeoutError:
        raise DeviceDeadline(
            f"its checks did not finish within their deadline of {work:g} s",
            f"検査が制限時間 {work:g} 秒以内に終わらなかった",
        ) from None
    for job in waiting:
        missing = ", ".join(sorted(k.name for k in job.probe.needs if not ctx.facts.has_all([k])))
        for check in job.probe.checks:
            land(
                ctx.result(
                    check,
                    Verdict.NOT_APPLICABLE,
                    f"{job.describe()} on {target.address} needs {missing}, which no "
                    "earlier step found on this device.",
                    service=job.service,
                    reason_ja=(
                        f"{_job_ja(job)}（{target.address}）には {missing} が必要だが、"
                        "この機器では先行する手順がそれを見つけなかった。"
                    ),
                )
            )


def identify_deadline(ports: int, per_device: int) -> float:
    """Fingerprinting's whole deadline: each port's own deadline, as many rounds as the
    device's permits make of its ports, and a margin."""
    rounds = -(-max(ports, 1) // max(per_device, 1))
    return WORK_MARGIN + rounds * Timing().per_port


def ready_jobs(waiting: Sequence[Job], facts: Facts, busy: Iterable[Job] = ()) -> list[Job]:
    """The jobs that can run now: no other waiting or still running (`busy`) job of the
    device is of an earlier phase (`Phase`), their needs are facts, and no other such job
    provides a fact they use."""
    others = [*waiting, *busy]
    if not others:
        return []
    phase = min(o.probe.phase for o in others)
    return [
        j
        for j in waiting
        if j.probe.phase == phase
        and facts.has_all(j.probe.needs)
        and not any(j.probe.uses & o.probe.provides for o in others if o is not j)
    ]


async def _run_job(
    request: ScanRequest,
    ctx: ProbeContext,
    job: Job,
    land: Callable[[Result], None],
    services: Sequence[Service],
    contract: Callable[[str, str], None] | None = None,
) -> None:
    """Run one probe on one service; exceptions and timeouts become `error`, never `pass`,
    and so does every check of a job whose probe breaks its contract (`contract` is told
    the probe and the breach)."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    results: object
    allowed = request.allow_intrusive or request.profile_for(ctx.target).allow_intrusive
    if job.probe.intrusive and not allowed:
        for check in job.probe.checks:
            land(
                ctx.result(
                    check,
                    Verdict.SKIPPED,
                    "Intrusive check not allowed by the profile or --allow-intrusive.",
                    service=job.service,
                    reason_ja=(
                        "侵襲的な検査のため実行しなかった（プロファイルでも --allow-intrusive "
                        "でも許可されていない）。"
                    ),
                )
            )
        return
    deadline = request.job_timeout
    try:
        # The deadline follows the profile's waits: a probe that waits out a 300 s idle
        # limit and a 300 s lock says so, and gets that long even when job_timeout is less.
        deadline = job_deadline(request.job_timeout, job.probe.time_needed(ctx, job.service))
        async with asyncio.timeout(deadline):
            probe = job.probe
            if isinstance(probe, ServiceProbe) and job.service is not None:
                results = await probe.run(ctx, job.service)
            elif isinstance(probe, DeviceProbe):
                results = await probe.run(ctx, services)
            else:
                raise ProbeContractError(f"{job.describe()}: no way to run this probe")
    except TimeoutError:
        results = _errors(
            ctx,
            job,
            f"did not finish within {deadline:g} s",
            f"が制限時間 {deadline:g} 秒以内に終わらなかった",
            "timeout",
        )
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"[:300]
        results = _errors(ctx, job, f"failed: {detail}", f"が失敗した（{detail}）", "exception")
    duration = time.monotonic() - t0
    try:
        completed = _complete(ctx, job, results)
    except ProbeContractError as exc:
        if contract is not None:
            contract(type(job.probe).__name__, str(exc))
        completed = _errors(
            ctx,
            job,
            f"broke the probe contract: {exc}",
            f"がプローブの約束事に反した（{exc}）",
            "contract",
        )
    for result in completed:
        land(replace(result, started=started, duration=round(duration, 3)))


def _errors(ctx: ProbeContext, job: Job, what: str, what_ja: str, kind: str) -> list[Result]:
    """An `error` result for every check of the job: `what` happened (and in Japanese)."""
    ev = Evidence(
        kind, what[:200], {"probe": type(job.probe).__name__}, f"{_job_ja(job)}{what_ja}"[:200]
    )
    return [
        ctx.result(
            c,
            Verdict.ERROR,
            f"{job.describe()} on {ctx.target.address} {what}.",
            ev,
            service=job.service,
            reason_ja=f"{_job_ja(job)}（{ctx.target.address}）{what_ja}。",
        )
        for c in job.probe.checks
    ]


def _complete(ctx: ProbeContext, job: Job, results: object) -> list[Result]:
    """Exactly one result per declared check: a forgotten check becomes `error`; anything
    else a probe returns (not a list of results, a result for an undeclared check, for
    another device, twice for one check, or malformed) is a ProbeContractError saying
    what it was."""
    if not isinstance(results, (list, tuple)):
        raise ProbeContractError(f"it returned {_kind(results)}, not a list of results")
    declared = {c.id for c in job.probe.checks}
    by_id: dict[str, Result] = {}
    for r in results:
        if not isinstance(r, Result):
            raise ProbeContractError(f"it returned {_kind(r)} among its results")
        if r.check_id not in declared:
            raise ProbeContractError(f"it returned undeclared check {_shown(r.check_id)}")
        if r.target != ctx.target.address:
            raise ProbeContractError(
                f"it returned {r.check_id} for another target, {_shown(r.target)}"
            )
        if r.check_id in by_id:
            raise ProbeContractError(f"it returned more than one result for {r.check_id}")
        if not _well_formed(r.verdict, r.reason, r.evidence):
            raise ProbeContractError(
                f"its result for {r.check_id} is malformed (a verdict that is not a Verdict, "
                "a reason that is not text or evidence that is not a tuple of Evidence)"
            )
        by_id[r.check_id] = r
    return [
        by_id.get(c.id)
        or ctx.result(
            c,
            Verdict.ERROR,
            f"{job.describe()} returned no result for {c.id}.",
            service=job.service,
            reason_ja=f"{_job_ja(job)} は {c.id} の結果を返さなかった。",
        )
        for c in job.probe.checks
    ]


def _well_formed(verdict: object, reason: object, evidence: object) -> bool:
    """A result's fields have their types (a probe outside mypy's reach may break them,
    and the store and the reports rely on them)."""
    return (
        isinstance(verdict, Verdict)
        and isinstance(reason, str)
        and isinstance(evidence, tuple)
        and all(isinstance(e, Evidence) for e in evidence)
    )


def _kind(value: object) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def _shown(text: object) -> str:
    """Text a probe made up, as a reason may show it: bounded, printable, quoted."""
    return quoted(bound_text(str(text), 80))


__all__ = ["ProbeContractError", "ScanRequest", "Service", "scan"]


def _job_ja(job: Job) -> str:
    """`Job.describe()` in Japanese: `SshConfig（tcp/22 ssh）`."""
    name = type(job.probe).__name__
    return f"{name}（{job.service}）" if job.service else name
