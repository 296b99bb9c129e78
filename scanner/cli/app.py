"""The command line: the parser of every subcommand, and `main`, which runs one and
turns what escapes it into an exit code (`scanner.cli.exits`)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from reports import FORMATS
from scanner import __version__
from scanner.cli import (
    completion,
    exits,
    options,
    scan_options,
    service_parsers,
    settings,
    sites_parsers,
)
from scanner.cli import discover as discover_cmd
from scanner.cli.exits import ENVIRONMENT_FAILURE, INTERNAL_ERROR, USAGE_ERROR
from scanner.errors import ShinsaError
from scanner.model import FAIL_ON_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


REPORT_DIR_HELP = (
    "copy the reports to DIR/report.* too: a path that does not change from run to run "
    "(OUT/latest always points at the last scan's)"
)

LEVEL_OPTION: dict[str, Any] = {
    "type": int,
    "choices": (1, 2, 3, 4),
    "metavar": "SL",
    "help": "IEC 62443-4-2 security level 1-4 to judge (overrides the profile's security_level)",
}


def _format_options(p: argparse.ArgumentParser) -> None:
    """--format and --lang, the same for a scan and a re-render."""
    p.add_argument(
        "--format", default="json", help=f"report formats, comma-separated: {', '.join(FORMATS)}"
    )
    p.add_argument("--lang", choices=("en", "ja"), default="en", help="language of the HTML report")
    p.add_argument(
        "--sarif-all",
        action="store_true",
        help="SARIF: every check result, not only the failures (code scanning alerts on each)",
    )
    p.add_argument(
        "--junit-all",
        action="store_true",
        help="JUnit: also the requirements nothing assessed, as skipped test cases",
    )


def _title_options(p: argparse.ArgumentParser, *, stored: str) -> None:
    """The HTML report's title block and time zone, over the profile's `report:` section."""
    g = p.add_argument_group("report title block", f"over the profile's report: section; {stored}")
    for name, what in (
        ("product", "product name"),
        ("model", "model number"),
        ("firmware", "firmware version tested"),
        ("organisation", "test organisation"),
        ("tester", "person who ran the test"),
        ("customer", "customer the report is for"),
    ):
        g.add_argument(f"--{name}", metavar="TEXT", help=what)
    g.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA time zone of the report's dates, e.g. Asia/Tokyo (default: the scan's "
        "local zone; Asia/Tokyo for --lang ja)",
    )


def _judging_options(p: argparse.ArgumentParser, *, evidence: str) -> None:
    """--fail-on and --evidence, the same for a scan and a re-render but for what happens
    to the evidence (`evidence` ends its help text)."""
    p.add_argument(
        "--fail-on",
        metavar="NAMES",
        help="exit 1 when any requirement status or check verdict is one of these "
        f"(comma-separated: {', '.join(FAIL_ON_NAMES)}), or a failed check's severity is at "
        "least LEVEL (severity>=LEVEL: info, low, medium, high, critical), else 0; default: "
        "exit codes below",
    )
    p.add_argument(
        "--evidence",
        action="append",
        metavar="FILE",
        help=f"manual evidence (YAML, shinsa-evidence/1), repeatable; {evidence}",
    )


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (the exit-code tables), and each option's default
    at the end of its help: the built-in one, or the config file's or environment's
    (scanner/cli/settings.py sets them before --help is printed). An option without a
    default, an on/off flag and a help text that already says its default get nothing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return f"{text} (default: {default})" if text else f"default: {default}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shinsa",
        description="Network compliance scanner for IoT and industrial devices.",
        epilog=exits.epilog(None),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"shinsa {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("scan", help="scan targets and write reports")
    p.add_argument(
        "targets",
        nargs="*",
        help="addresses, CIDRs, ranges (127.0.10.1-40), host names, @file, - or @- (target-file "
        "lines from standard input); a file line may add a label and a profile: "
        "'192.0.2.6 lobby-cam profile=acme-cam-200'",
    )
    p.add_argument("--from-nmap", metavar="FILE", help="take targets from an nmap XML report")
    p.add_argument(
        "-p",
        "--ports",
        type=options.nonempty,
        metavar="SPEC",
        help="nmap syntax: 22,80,1-1000,T:443,U:161 (default: IoT set)",
    )
    p.add_argument("--profile", default="base", help="profile name or YAML file")
    p.add_argument("--level", **LEVEL_OPTION)
    p.add_argument(
        "--allow",
        action="append",
        type=options.nonempty,
        metavar="CIDR",
        help="allow-list entry, repeatable or comma-separated (default: the targets)",
    )
    scan_options.add_arguments(p)
    p.add_argument("--out", default="shinsa-out", help="output directory (store and reports)")
    _format_options(p)
    p.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="finish an interrupted run from the store in --out (an ID, or latest, previous)",
    )
    # The service's runner gives a scheduled scan the run ID it already recorded (so the
    # dashboard can follow the run from its first second); not for people, so not listed.
    p.add_argument("--run-id", type=options.run_id, help=argparse.SUPPRESS)
    p.add_argument("--report-dir", metavar="DIR", help=REPORT_DIR_HELP)
    p.add_argument(
        "--credentials",
        action="append",
        metavar="FILE",
        help="extra factory-login list (YAML, shinsa-credentials/1), tried before the built-in",
    )
    p.add_argument(
        "--syn", action="store_true", help="SYN discovery (root); falls back to connect scan"
    )
    p.add_argument(
        "--link-sweep",
        action="store_true",
        help="ARP / Neighbor Discovery sweep of the targets' on-link networks first (root): "
        "every device's MAC and vendor from its answer (default: the kernel's neighbour "
        "table after the scan talked to it)",
    )
    p.add_argument(
        "--concurrency",
        type=options.count(1, 65536),
        default=256,
        help="connections in flight overall (1-65536)",
    )
    p.add_argument(
        "--per-device",
        type=options.count(1, 64),
        default=2,
        help="connections in flight per device (1-64)",
    )
    p.add_argument(
        "--timeout",
        type=options.seconds(0, 600),
        default=3.0,
        help="seconds for each connect and read (more than 0, at most 600)",
    )
    p.add_argument(
        "--max-scan-time",
        type=options.seconds(0, 7 * 86400),
        metavar="S",
        help="end the run after S seconds: devices not finished are recorded as such "
        "(default: no limit; each device has its own deadline from its work)",
    )
    p.add_argument("--allow-intrusive", action="store_true", help="run intrusive checks")
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="no headless Chromium: read web apps' scripts for their login instead",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors: no progress, no summary table, no report paths",
    )
    _judging_options(p, evidence="kept with the run")
    _title_options(p, stored="kept with the run")
    p.set_defaults(func="cmd_scan")

    p = sub.add_parser("report", help="render reports for a stored run")
    p.add_argument("run_id", help="the run to render (its ID, or latest, previous)")
    p.add_argument("--out", default="shinsa-out", help="output directory holding the store")
    _format_options(p)
    p.add_argument("--report-dir", metavar="DIR", help=REPORT_DIR_HELP)
    p.add_argument("--profile", help="judge with this profile instead of the scan's")
    p.add_argument("--level", **LEVEL_OPTION)
    _judging_options(p, evidence="shown with the evidence kept with the run, not stored")
    _title_options(p, stored="over what the scan stored, for this rendering only")
    p.set_defaults(func="cmd_report")

    p = sub.add_parser("diff", help="what changed per device between two stored runs")
    p.add_argument("run_a", help="the earlier run (an ID, or latest, previous)")
    p.add_argument("run_b", help="the later run (an ID, or latest, previous)")
    p.add_argument("--out", default="shinsa-out", help="output directory holding the store")
    p.add_argument(
        "--profile", help="judge both runs with this profile (default: the one RUN_B used)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func="cmd_diff")

    p = sub.add_parser("runs", help="list the runs in the store of --out")
    p.add_argument("--out", default="shinsa-out", help="output directory holding the store")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func="cmd_runs")

    p = sub.add_parser("checks", help="list every check and the requirements citing it")
    p.add_argument(
        "--profile", default="base", help="name the requirements of this profile citing each"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="machine-readable (shinsa-checks/1): id, titles, severity and its reason, kind, "
        "references, requirements citing it, remediation",
    )
    p.set_defaults(func="cmd_checks")

    p = sub.add_parser("validate", help="validate built-in profiles and frameworks (and FILES)")
    p.add_argument("files", nargs="*", help="YAML files to validate beside the built-in ones")
    p.add_argument(
        "--strict",
        action="store_true",
        help="also list requirements nobody has authored (no title), which reports leave out; "
        "exit 2 if there are any",
    )
    p.set_defaults(func="cmd_validate")

    discover_cmd.add_parser(sub)
    completion.add_parser(sub, _cmd_completion)
    service_parsers.add_parsers(sub)
    sites_parsers.add_parsers(sub)

    p = sub.add_parser("lab", help="simulated devices on 127.0.10.x")
    lab_sub = p.add_subparsers(dest="lab_command", required=True)
    up = lab_sub.add_parser("up", help="start a lab in the background")
    up.add_argument(
        "--devices", type=int, default=0, help="number of devices (default: one per personality)"
    )
    up.add_argument("--personality", action="append", help="personality name (repeatable)")
    up.add_argument("--first-address", default="127.0.10.1", help="address of the first device")
    status = lab_sub.add_parser("status", help="show the running lab")
    down = lab_sub.add_parser("down", help="stop the running lab")
    for lab_parser in (up, status, down):
        lab_parser.add_argument("--state-dir", default=".shinsa/lab", help=argparse.SUPPRESS)
    p.set_defaults(func="cmd_lab")

    p = sub.add_parser("demo", help="start a lab, scan it, write the report")
    p.add_argument("--out", default="shinsa-out/demo", help="output directory of the demo")
    p.add_argument("--devices", type=int, default=0, help="default: one per personality")
    p.add_argument("--first-address", default="127.0.10.1", help="address of the first device")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors and the lab"
    )
    p.set_defaults(func="cmd_demo")
    _every_subcommand(parser)
    return parser


def _cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(completion.script(build_parser(), args.shell))
    return 0


def _every_subcommand(parser: argparse.ArgumentParser) -> None:
    """What every subcommand's --help shows: defaults, its exit codes, and the options that
    choose the config file (read before the parser runs: scanner/cli/settings.py)."""
    for name, sub in settings.subcommands(parser).items():
        sub.formatter_class = HelpFormatter
        sub.epilog = exits.epilog(name)
        sub.add_argument(
            "--config",
            metavar="FILE",
            help="read defaults from FILE (default: $SHINSA_CONFIG, else "
            "$XDG_CONFIG_HOME/shinsa/config.yaml); the environment and the command line win",
        )
        sub.add_argument(
            "--no-config",
            action="store_true",
            help="read no config file (SHINSA_* variables still apply)",
        )


def _oserror(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _environment_failure(exc: BaseException) -> bool:
    """An OSError, or SQLite unable to open or write the store."""
    # sqlite3 is looked up, not imported: a command that never loaded it cannot have
    # raised its errors, and `shinsa discover` starts without it.
    sqlite3 = sys.modules.get("sqlite3")
    return isinstance(exc, OSError) or (
        sqlite3 is not None and isinstance(exc, sqlite3.OperationalError)
    )


def _crash_report(exc: BaseException) -> str:
    """One line for the terminal; the traceback goes to a file for the bug report."""
    import tempfile  # only a crash needs these: keep start-up short
    import traceback

    line = f"{type(exc).__name__}: {exc}"[:300]
    try:
        with tempfile.NamedTemporaryFile(
            "w", prefix="shinsa-crash-", suffix=".txt", delete=False, encoding="utf-8"
        ) as f:
            f.write("".join(traceback.format_exception(exc)))
    except OSError:
        return f"{line} (a bug; the traceback could not be saved)"
    return f"{line} (a bug: please report it with {f.name})"


def _command(
    func: str | Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A subcommand's function; named ones live in scanner/cli/commands.py (or the module a
    "module:name" names), imported only now."""
    if callable(func):
        return func
    module, _, name = func.rpartition(":")
    found: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(module or "scanner.cli.commands"), name
    )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        settings.apply(parser, given, settings.environment())
    except ShinsaError as exc:  # a bad config file or SHINSA_* value: before anything runs
        print(f"shinsa: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    args = parser.parse_args(given)
    try:
        code = int(_command(args.func)(args))
        sys.stdout.flush()  # here, so that a reader gone (BrokenPipeError) is handled below
        return code
    except ShinsaError as exc:
        print(f"shinsa: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except Exception as exc:
        if _environment_failure(exc):
            # The machine, not the user's input: a read-only or full disk, a file where the
            # output directory should be.
            print(f"shinsa: error: {_oserror(exc)}", file=sys.stderr)
            return ENVIRONMENT_FAILURE
        print(f"shinsa: internal error: {_crash_report(exc)}", file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # after an error's exit code: that code stands
            _reader_went_away()
        except Exception:  # noqa: S110 - the exit code is decided; a flush cannot change it
            pass


#: what a shell shows for a program ended by SIGPIPE (128 + 13), as `yes | head` does
SIGPIPE_EXIT = 141


def _reader_went_away() -> int:
    """`shinsa checks | head`: the reader closed the pipe, so the rest of the output has no
    one to read it. Quietly, as a program ended by SIGPIPE: no traceback, no message. The
    signal itself stays ignored (Python's default), because the same process writes to
    devices' sockets, where a peer closing must be an error to handle, not the end of the
    scan. stdout is pointed at /dev/null so that the interpreter's last flush at exit does
    not raise again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return SIGPIPE_EXIT
