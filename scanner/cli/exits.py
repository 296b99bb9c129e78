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
