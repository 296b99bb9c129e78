"""What each `shinsa` subcommand does; scanner/cli/__init__.py parses the command line and imports
this module only for the commands that need it (probes, the engine and the renderers are
most of shinsa's start-up time, and `shinsa --help` or `discover` need none of them)."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import os
import signal
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from reports import FORMATS, streamer
from scanner import __version__, atomic, run_lock, stored_request
from scanner.browser import BrowserOptions
from scanner.cli import diff as diff_cmd
from scanner.cli import runs, scan_options, traffic
from scanner.cli.exits import UNFINISHED, USAGE_ERROR
from scanner.cli.progress import RichReporter, summary_table
from scanner.cli.service_parsers import DB_VARIABLE, DEFAULT_DATA
from scanner.credential_lists import BUILTIN, load_catalog, resolve_list
from scanner.discovery.ports import DEFAULT_PORTS, parse_ports, port_spec
from scanner.discovery.targets import parse_targets
from scanner.engine import ScanRequest, scan
from scanner.errors import ShinsaError
from scanner.judging import manual
from scanner.judging.assess import exit_code, parse_fail_on
from scanner.judging.profiles import device_profiles, load_profile
from scanner.judging.report_data import (
    RenderOptions,
    collect,
    own_profiles,
)
from scanner.judging.report_meta import NO_META, ReportMeta, checked, local_zone
from scanner.judging.validate import validate_all
from scanner.net import Limits
from scanner.plan import select_checks
from scanner.plugins import BUILTIN as BUILTIN_ORIGIN
from scanner.plugins import installed
from scanner.plugins import validate as plugin_problems
from scanner.reporter import Reporter
from scanner.scope import Scope
from scanner.store import Store, new_run_id
from scanner.stored_request import all_checks

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from scanner.judging.profiles import Profile
    from scanner.judging.report_data import ReportData
    from scanner.model import JSONValue, Target


@dataclass(frozen=True, slots=True)
class ScanOptions:
    out: Path
    formats: tuple[str, ...]
    quiet: bool
    resume: str | None
    fail_on: frozenset[str] | None = None  # None: the default exit codes
    evidence: tuple[Path, ...] = ()  # manual evidence files, kept with the run
    meta: ReportMeta = NO_META  # the command line's title block, kept with the run
    render: RenderOptions = field(default_factory=RenderOptions)  # --sarif-all, --junit-all

    report_dir: Path | None = None  # --report-dir: the reports copied to DIR/report.* too
    # --db, --site, --baseline, --alert: record the run in the service's database
    service: scan_options.ServiceStep | None = None
    run_id: str | None = None  # --run-id: the ID the service chose (runner.py), else a new one
    # --broker: the devices scanned by their sites' workers (scanner/sites/), else here
    sites: scan_options.SitesOptions | None = None


def _render_options(args: argparse.Namespace) -> RenderOptions:
    return RenderOptions(
        sarif_all=bool(getattr(args, "sarif_all", False)),
        junit_all=bool(getattr(args, "junit_all", False)),
    )


def _formats(text: str, lang: str = "en") -> tuple[str, ...]:
    names = tuple(f.strip() for f in text.split(",") if f.strip())
    if lang == "ja":  # --lang ja: the HTML report in Japanese (html-ja names it directly too)
        names = tuple(dict.fromkeys("html-ja" if n == "html" else n for n in names))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ShinsaError(
            f"unknown report format(s) {', '.join(unknown) or '(none)'}; "
            f"available: {', '.join(FORMATS)}"
        )
    return names


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        global_connections=args.concurrency,
        per_device=args.per_device,
        connect_timeout=args.timeout,
        read_timeout=args.timeout,
        max_rate=args.max_rate,
        scan_delay=args.scan_delay or 0.0,
    )


def _meta(args: argparse.Namespace) -> ReportMeta:
    """The title block the command line gives (--product … --tz), its zone checked."""
    return checked(
        ReportMeta(
            product=args.product or "",
            model=args.model or "",
            firmware=args.firmware or "",
            organisation=args.organisation or "",
            tester=args.tester or "",
            customer=args.customer or "",
            timezone=args.tz or "",
        )
    )


def _request_json(
    request: ScanRequest, profile_ref: str, meta: ReportMeta = NO_META
) -> dict[str, JSONValue]:
    selected: JSONValue = None if request.checks is None else [*sorted(request.checks)]
    return {
        # [address, label], for a device with a profile of its own [address, label, profile],
        # and for one a site scans (target file's site=) [address, label, profile, site]
        "targets": [_target_json(t) for t in request.targets],
        "allow": [str(n) for n in request.scope.networks],
        "exclude": [str(n) for n in request.scope.excluded],
        "ports": port_spec(request.ports),
        "profile": profile_ref,
        "level": request.profile.level,
        "syn": request.syn,
        "link_sweep": request.link_sweep,
        "allow_intrusive": request.allow_intrusive,
        "max_scan_time": request.max_scan_time,
        "browser": request.browser.enabled,
        # the checks --checks/--exclude-checks selected (null: every check); judging reads
        # the rest as left out (not assessed), `--resume` runs the same ones
        "selected_checks": selected,
        "credentials": [f for f in request.credentials.files if f != str(BUILTIN.resolve())],
        "limits": {
            "concurrency": request.limits.global_connections,
            "per_device": request.limits.per_device,
            "timeout": request.limits.read_timeout,
            # the pace every probe kept (--max-rate probes/s overall, --scan-delay s per device)
            "max_rate": request.limits.max_rate,
            "scan_delay": request.limits.scan_delay,
        },
        # the devices' own profiles (a target file's profile=): reference -> digest, so a
        # resume refuses one that changed, and `shinsa report` judges each device by its own
        "profiles": {ref: p.digest for ref, p in request.profiles.items()},
        "argv": [a for a in sys.argv[1:] if a],
        "report": {k: v for k, v in meta.to_json().items() if v},
        "tz": local_zone(),  # the report's dates are local to where the scan ran
    }


def _target_json(t: Target) -> list[JSONValue]:
    if t.site:
        return [t.address, t.label, t.profile, t.site]
    return [t.address, t.label, t.profile] if t.profile else [t.address, t.label]


def execute(request: ScanRequest, profile_ref: str, options: ScanOptions) -> int:
    """Run (or resume) a scan, write the reports, print the summary; the exit code."""
    console = Console(stderr=True)
    evidence = [manual.load_evidence(p, request.profile) for p in options.evidence]
    store = Store(options.out / "shinsa.sqlite", create=not options.resume)
    run_id = options.resume or options.run_id or new_run_id(datetime.now(UTC))
    # One process per run: a second resume of a run still going is refused before it
    # touches the run (run_lock.py).
    with store, run_lock.hold(options.out, run_id):
        if options.resume:
            store.run(run_id)  # a clear error for a run that is not in the store
            store.reopen_run(run_id)
        else:
            if options.run_id and any(r.id == run_id for r in store.runs()):
                raise ShinsaError(
                    f"run {run_id} is already in {options.out}: a new run needs a new ID"
                )
            store.start_run(
                run_id,
                profile_id=request.profile.id,
                profile_digest=request.profile.digest,
                scanner_version=__version__,
                request=_request_json(request, profile_ref, options.meta),
                targets=[(t.address, t.label) for t in request.targets],
            )
        manual.save(store, run_id, evidence)
        if not options.quiet:
            console.print(f"run {run_id}: {len(request.targets)} target(s), store {store.path}")
        reporter: Reporter = (
            Reporter() if options.quiet else RichReporter(len(request.targets), console)
        )
        status = "crashed"  # until the scan returns or is interrupted
        try:
            if options.sites is not None:
                _on_sites(options.sites, request, store, run_id, reporter)
            else:
                asyncio.run(scan(request, store, run_id, reporter))
            status = "incomplete" if store.failures(run_id) else "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            console.print(
                "interrupted: finished results are kept; resume with "
                f"`shinsa scan --resume {run_id} --out {options.out}`"
            )
        finally:
            reporter.close()
            store.finish_run(run_id, status)
        failures = store.failures(run_id)
        own = {t.address: request.profile_for(t) for t in request.targets if t.profile}
        data = collect(
            store, run_id, request.profile, all_checks(), today=date.today(), profiles=own
        )
        data = dataclasses.replace(data, options=options.render)
    write_reports(options.out / run_id, options.formats, data)
    _stable_paths(options.out / run_id, options.formats, options.report_dir)
    runs.point_latest(options.out, run_id, options.formats)
    labels = {d.address: d.label for d in data.devices}
    services = {d.address: len(d.services) for d in data.devices}
    if not options.quiet:
        console.print(summary_table(data.assessment, labels, services))
    # a device not scanned to the end is an error the exit code (3) stands on: said even in -q
    for address, reason in failures.items():
        console.print(f"{address}: not scanned to the end: {reason}", markup=False)
    if not options.quiet:
        for name in options.formats:
            print(f"{name} report: {options.out / run_id / FORMATS[name][0]}")
    if status == "interrupted":
        if options.service is not None:
            console.print("interrupted: the run is not recorded in the database (--db)")
        return 130
    if options.service is not None:
        _record(options.service, options.out, run_id, quiet=options.quiet)
    code = exit_code(data.assessment, options.fail_on, checks=data.checks)
    return max(code, UNFINISHED) if failures else code


def _on_sites(
    sites: scan_options.SitesOptions,
    request: ScanRequest,
    store: Store,
    run_id: str,
    reporter: Reporter,
) -> None:
    """The engine's work done by the sites' workers (--broker); Celery and Redis are
    loaded only then."""
    from scanner.sites.dispatch import SitesStep, run_on_sites

    step = SitesStep(sites.broker, sites.db, sites.site, sites.wait, sites.window_ends, sites.batch)
    run_on_sites(step, request, store, run_id, reporter, store.run(run_id).request)


def _record(service: scan_options.ServiceStep, out: Path, run_id: str, *, quiet: bool) -> None:
    """The finished run into the service's database, its drift and alerts (--db)."""
    from scanner.cli import scan_service  # the service's libraries only with --db

    try:
        done = scan_service.record(
            service.url,
            out / "shinsa.sqlite",
            run_id,
            site=service.site,
            baseline=service.baseline,
            channels=service.alerts,
            persist=service.drift_persist,
        )
    except ShinsaError as exc:
        raise ShinsaError(
            f"{exc} (the run is kept: `shinsa import {out} --run {run_id} --db URL` retries)"
        ) from exc
    if not quiet or done.alerts:
        print(scan_service.summary(done, service.baseline))


def write_reports(run_dir: Path, formats: Sequence[str], data: ReportData) -> None:
    """Every format written into the run directory, all or none (atomic.write_all). The
    streamed ones (json, jsonl, junit, csv-requirements, html) are written as they are
    made, so that a report too big to hold is never one string in memory."""
    run_dir.mkdir(parents=True, exist_ok=True)
    files: list[tuple[Path, Iterable[str]]] = []
    for name in formats:
        filename, render = FORMATS[name]
        stream = streamer(name)
        # A whole renderer runs when its file is written, not before: one big string at a time.
        pieces = stream(data) if stream is not None else _lazily(render, data)
        files.append((run_dir / filename, pieces))
    atomic.write_all(files)


def _stable_paths(run_dir: Path, formats: Sequence[str], report_dir: Path | None) -> None:
    if report_dir is not None:
        runs.copy_reports(run_dir, formats, report_dir)


def _lazily(render: Callable[[ReportData], str], data: ReportData) -> Iterator[str]:
    yield render(data)


def cmd_scan(args: argparse.Namespace) -> int:
    options = ScanOptions(
        Path(args.out),
        _formats(args.format, args.lang),
        args.quiet,
        args.resume,
        _fail_on(args),
        tuple(Path(p) for p in args.evidence or ()),
        _meta(args),
        _render_options(args),
        Path(args.report_dir) if args.report_dir else None,
        scan_options.service_step(args),
        args.run_id,
        scan_options.sites_options(args, _sites_db(args)),
    )
    if args.run_id:
        if args.resume:
            raise ShinsaError("--run-id names a new run; --resume finishes an old one")
        # The service stops a scan at its window's close with SIGINT, which must end it
        # cleanly (finished results kept) even when whoever started the service ignored
        # SIGINT (a shell's background job does, and children inherit that).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if options.service is not None:  # a bad database or channel refused before any packet
        from scanner.cli import scan_service

        scan_service.check(options.service.url, options.service.alerts)
    if options.sites is not None:  # the broker and the workers' database, likewise
        from scanner.sites import dispatch

        dispatch.check_step(options.sites.broker, options.sites.db)
    if args.resume:
        return _resume(args, options)
    if not args.targets and not args.from_nmap:
        raise ShinsaError("give at least one target (or --from-nmap FILE, or --resume RUN_ID)")
    tl = parse_targets(args.targets, from_nmap=Path(args.from_nmap) if args.from_nmap else None)
    allow = [entry for arg in args.allow or () for entry in arg.split(",") if entry.strip()]
    excluded = Scope.of((), scan_options.exclusions(args)).excluded
    scope = Scope(Scope.of(allow).networks if allow else tl.networks, excluded)
    targets = tuple(t for t in tl.targets if not scope.excludes(t.address))
    if not targets:
        raise ShinsaError("every target is excluded (--exclude, --excludefile)")
    for t in targets:  # refused before a packet leaves
        scope.check(t.address)
    profile = load_profile(args.profile, all_checks(), level=args.level)
    profiles = device_profiles([t.profile for t in targets], all_checks(), level=args.level)
    ports = parse_ports(args.ports) if args.ports else DEFAULT_PORTS
    request = ScanRequest(
        targets=targets,
        scope=scope,
        ports=ports,
        profile=profile,
        limits=_limits(args),
        syn=args.syn,
        link_sweep=args.link_sweep,
        allow_intrusive=args.allow_intrusive,
        registry=installed().probes,
        browser=BrowserOptions(enabled=not args.no_browser),
        credentials=load_catalog([resolve_list(f) for f in args.credentials or ()]),
        max_scan_time=args.max_scan_time,
        checks=_selected_checks(args),
        profiles=profiles,
    )
    with traffic.logging_for(args, request, options.out):
        return execute(request, args.profile, options)


def _sites_db(args: argparse.Namespace) -> str:
    """The database a --broker scan's workers land results in: --db, $SHINSA_DB, else the
    embedded default (made by the scan, as `shinsa serve` makes it)."""
    if args.db or os.environ.get(DB_VARIABLE):
        return str(args.db or os.environ[DB_VARIABLE])
    return f"sqlite:///{Path(DEFAULT_DATA) / 'shinsa.sqlite'}"


def _selected_checks(args: argparse.Namespace) -> frozenset[str] | None:
    chosen = scan_options.check_patterns(args.checks)
    left_out = scan_options.check_patterns(args.exclude_checks)
    if not chosen and not left_out:
        return None
    return select_checks(all_checks(), chosen, left_out)


def _resume(args: argparse.Namespace, options: ScanOptions) -> int:
    with Store(options.out / "shinsa.sqlite", create=False) as store:
        info = store.run(runs.resolve(store, options.resume or ""))
    options = replace(options, resume=info.id)  # `latest`, `previous`: the run they name
    req = info.request
    try:
        request = stored_request.rebuild(
            req,
            profile_digest=info.profile_digest,
            # the time given to the run is given again to its resumption
            max_scan_time=args.max_scan_time,
            what=f"run {info.id}",
        )
    except ShinsaError as exc:
        raise ShinsaError(f"{exc}; start a new scan instead of resuming") from None
    with traffic.logging_for(args, request, options.out):
        return execute(request, str(req["profile"]), options)


def _fail_on(args: argparse.Namespace) -> frozenset[str] | None:
    return parse_fail_on(args.fail_on) if args.fail_on is not None else None


def cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out)
    fail_on = _fail_on(args)  # a usage error before any file is written
    with Store(out / "shinsa.sqlite", create=False) as store:
        info = store.run(runs.resolve(store, args.run_id))
        level = args.level
        if args.profile is None and level is None:
            level = stored_request.stored_level(
                info.request
            )  # the scan's own profile at the scan's level
        profile = load_profile(
            args.profile or str(info.request["profile"]), all_checks(), level=level
        )
        given = [manual.load_evidence(Path(p), profile) for p in args.evidence or ()]
        # the scan's own judging: each device by the profile it was scanned with; --profile
        # judges every device by the one given
        own = None if args.profile else own_profiles(info.request, all_checks(), args.level)
        data = collect(
            store,
            info.id,
            profile,
            all_checks(),
            today=date.today(),
            evidence=given,
            profiles=own,
            meta=_meta(args),
        )
        data = dataclasses.replace(data, options=_render_options(args))
    run_dir = out / info.id
    formats = _formats(args.format, args.lang)
    write_reports(run_dir, formats, data)
    _stable_paths(run_dir, formats, Path(args.report_dir) if args.report_dir else None)
    for name in formats:
        print(f"{name} report: {run_dir / FORMATS[name][0]}")
    if data.profile_changed:
        print(
            "note: the profile changed since the scan; statuses use the current mapping",
            file=sys.stderr,
        )
    code = exit_code(data.assessment, fail_on, checks=data.checks)
    return max(code, UNFINISHED) if any(not d.finished for d in data.devices) else code


def cmd_diff(args: argparse.Namespace) -> int:
    with Store(Path(args.out) / "shinsa.sqlite", create=False) as store:
        before = store.run(runs.resolve(store, args.run_a))
        after = store.run(runs.resolve(store, args.run_b))
        ref = args.profile or str(after.request.get("profile") or "base")
        profile = load_profile(ref, all_checks())
        changes = diff_cmd.diff(store, before.id, after.id, profile=profile, today=date.today())
    print(diff_cmd.render_json(changes) if args.json else diff_cmd.render_text(changes), end="")
    return 1 if changes.changed else 0


def cmd_runs(args: argparse.Namespace) -> int:
    out = Path(args.out)
    with Store(out / "shinsa.sqlite", create=False) as store:
        table = runs.rows(store, out)
    print(runs.render_json(table) if args.json else runs.render_text(table), end="")
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile, all_checks())
    if args.json:
        print(json.dumps(_checks_json(profile), indent=2, ensure_ascii=False))
        return 0
    for cid, check in sorted(all_checks().items()):
        cited = [
            f"{fw_id} {req_id}{'' if direct else ' (supporting)'}"
            for fw_id, req_id, direct in _citing(profile, cid)
        ]
        print(f"{cid}\n  title:  {check.title}\n  method: {check.method}")
        origin = installed().origin(cid)
        if origin != BUILTIN_ORIGIN:  # shinsa's own checks keep the listing they had
            print(f"  origin: plugin {origin}")
        print(f"  severity: {check.severity}")
        if check.remediation.en:
            print(f"  remediation: {check.remediation.en}")
        if check.references:
            print(f"  references: {', '.join(check.references)}")
        print(f"  cited by: {', '.join(cited) or 'nothing in this profile'}\n")
    return 0


def _citing(profile: Profile, check_id: str) -> list[tuple[str, str, bool]]:
    """(framework, requirement, direct) for each requirement of the profile citing a check."""
    return [
        (fw.id, r.id, check_id in r.direct)
        for fw, level in profile.frameworks
        for r in fw.selected(level)
        if check_id in r.direct or check_id in r.supporting
    ]


#: `shinsa checks --json`: its format name, bumped when a field changes meaning
CHECKS_FORMAT = "shinsa-checks/1"


def _checks_json(profile: Profile) -> dict[str, JSONValue]:
    registry = installed()
    checks: list[JSONValue] = []
    for cid, check in sorted(all_checks().items()):
        origin = registry.origin(cid)
        checks.append(
            {
                "id": cid,
                "title": check.title,
                "title_ja": check.title_ja,
                "method": check.method,
                "severity": check.severity.value,
                "severity_reason": check.severity_reason,
                "kind": check.kind,
                "origin": "shinsa" if origin == BUILTIN_ORIGIN else f"plugin {origin}",
                "references": list(check.references),
                "requirements": [
                    {"framework": fw, "requirement": req, "direct": direct}
                    for fw, req, direct in _citing(profile, cid)
                ],
                "remediation": {"en": check.remediation.en, "ja": check.remediation.ja},
                "remedies": [
                    {"protocol": protocol, "en": remedy.en, "ja": remedy.ja}
                    for protocol, remedy in check.remedies
                ],
            }
        )
    return {"format": CHECKS_FORMAT, "profile": profile.id, "checks": checks}


def cmd_validate(args: argparse.Namespace) -> int:
    registry = installed()
    # A broken plugin fails validation (a scan skips it and goes on): scanner/plugins.py
    problems = [
        *plugin_problems(registry),
        *validate_all(
            registry.checks(), [Path(p) for p in args.files], strict=getattr(args, "strict", False)
        ),
    ]
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not problems:
        print("profiles and frameworks are valid")
    return USAGE_ERROR if problems else 0  # a bad file is a configuration error (2)


#: packages only the simulated lab imports: pyproject.toml's `lab` extra
LAB_ONLY = ("paramiko", "h11")


def _need_lab() -> None:
    """Import scanner.cli.demo, which imports the lab: only the commands that need it import
    it, and a shinsa installed without the `lab` extra says what to install, not a crash."""
    try:
        importlib.import_module("scanner.cli.demo")
    except ModuleNotFoundError as exc:
        if exc.name not in LAB_ONLY:
            raise
        raise ShinsaError(
            f"the simulated lab needs {exc.name}, which is not installed: install shinsa "
            "with its lab extra (pip install 'shinsa[lab]', or -e '.[lab]' in a checkout)"
        ) from None


def cmd_lab(args: argparse.Namespace) -> int:
    _need_lab()
    from scanner.cli import demo

    state_dir = Path(args.state_dir)
    if args.lab_command == "up":
        state = demo.lab_up(args.personality or [], args.devices, state_dir, args.first_address)
        print(demo.describe_lab(state))
        return 0
    if args.lab_command == "status":
        running = demo.lab_status(state_dir)
        if running is None:
            print("no lab running")
            return 1
        print(demo.describe_lab(running))
        return 0
    print("lab stopped" if demo.lab_down(state_dir) else "no lab running")
    return 0


#: what `make demo` writes: the HTML report in both languages and every machine format
DEMO_FORMATS = ("json", "html", "html-ja", "junit", "sarif", "oscal", "csv", "csv-requirements")


def cmd_demo(args: argparse.Namespace) -> int:
    _need_lab()
    from scanner.cli import demo

    out = Path(args.out)
    return demo.run_demo(
        out,
        args.devices,
        args.first_address,
        lambda request: execute(request, "base", ScanOptions(out, DEMO_FORMATS, args.quiet, None)),
    )


#: `--level N`: the IEC 62443-4-2 security level to judge, overriding the profile's
