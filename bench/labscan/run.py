"""The base-profile scan of the simulated lab, now against a baseline revision.

Issue 10 allows the honest-verdict work to cost at most 1.2x the lab scan's time before
it. This runs `shinsa demo` (lab of every built-in personality, base-profile scan, every
report) from this tree and from a git worktree of the baseline revision, alternating, with
the same interpreter and venv (PYTHONPATH puts each tree first), and prints the median
wall time of each and their ratio.

    .venv/bin/python bench/labscan/run.py [--baseline 2e05db1] [--rounds 3]

The lab listens on 127.0.80.0/24 here, so that the bench never meets a lab someone
started on the demo's own addresses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the last commit before issue 10's work
DEFAULT_BASELINE = "2e05db1"
FIRST_ADDRESS = "127.0.80.1"
RUN_TIMEOUT = 900.0


def demo_seconds(tree: Path, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    argv = [sys.executable, "-m", "scanner", "demo", "--out", str(out)]
    argv += ["--first-address", FIRST_ADDRESS, "-q"]
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=tree, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"demo in {tree} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labscan-") as tmp:
        base_tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            times: dict[str, list[float]] = {"baseline": [], "now": []}
            for i in range(args.rounds):
                order = [("now", ROOT), ("baseline", base_tree)]
                for name, tree in order if i % 2 == 0 else reversed(order):
                    took = demo_seconds(tree, Path(tmp) / f"out-{name}-{i}")
                    times[name].append(took)
                    print(f"round {i + 1}: {name:<8} {took:6.1f} s", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                check=False,
                capture_output=True,
            )
    now, base = statistics.median(times["now"]), statistics.median(times["baseline"])
    print(f"\nmedian: now {now:.1f} s, baseline {args.baseline} {base:.1f} s")
    print(f"ratio now/baseline: {now / base:.2f} (issue 10 allows at most 1.20)")
    return 0 if now / base <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
