"""The exit codes of every `shinsa` command, and what each means.

Exit codes (ssh-audit's convention, argparse's for usage):
    0  no requirement failed and nothing prevented a verdict
    1  at least one requirement is not satisfied (an unaccepted fail)
    2  usage or configuration error (bad option, profile, target, store, or scope refusal)
    3  no failure, but errors or inconclusive results prevent a full verdict; also (even
       beside failures) when a device could not be scanned to the end
    4  environment failure: the output directory or store cannot be written (read-only,
       not a directory, disk full)
    5  internal error (a bug): the run is stored as crashed, the traceback saved to a file
With --fail-on NAMES, scan and report exit 1 when a requirement status or check verdict is
one of NAMES, else 0 (3 still wins when a device could not be scanned). `diff` exits 0 when
nothing changed, 1 when something did (as diff(1)).
"""

USAGE_ERROR = 2
UNFINISHED = 3
ENVIRONMENT_FAILURE = 4
INTERNAL_ERROR = 5


#: what ends every command's list of exit codes
_COMMON = """    2  usage or configuration error (bad option, file, config setting)
    4  environment failure (a file or directory cannot be read or written)
    5  internal error (a bug): the traceback is saved to a file
  141  the reader of the output went away (`| head`): stopped quietly"""

_OTHERS = {
    "diff": "    0  nothing changed\n    1  something changed (as diff(1))",
    "discover": "    0  the discovery ran (open or not, every port is listed as found)",
    "lab": "    0  done\n    1  `lab status`: no lab is running",
    "demo": "    0  the demo ran (its scan's own exit code is printed: the lab is meant to fail)",
    "validate": "    0  every file is valid (a file that is not: 2)",
}


def epilog(command: str | None) -> str:
    """The exit codes of `command` (None: shinsa itself) for the end of its --help."""
    if command in (None, "scan", "report"):
        return __doc__.split("\n", 2)[2] if __doc__ else ""
    first = _OTHERS.get(command or "", "    0  done")
    return f"Exit codes:\n{first}\n{_COMMON}\n"
