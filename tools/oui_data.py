"""Regenerate scanner/data/oui.tsv.gz, the MAC vendor registry, from Debian's ieee-data.

    apt-get install -y ieee-data        # as root: /usr/share/ieee-data/*.csv
    .venv/bin/python tools/oui_data.py  # writes scanner/data/oui.tsv.gz

The IEEE Registration Authority's public listings of assignments: MA-L (oui.csv, 24-bit
prefixes), MA-M (mam.csv, 28-bit), MA-S (oui36.csv, 36-bit) and the older IAB blocks
(iab.csv, 36-bit). IEEE does not assert copyright in the public listing nor restrict its
distribution (Debian's /usr/share/doc/ieee-data/copyright), so the data ships with shinsa.
Taken from Debian's package rather than downloaded from IEEE: the same bytes on every
machine that builds it, a version to name, and no fetch from a site during a build.

The output is one line per assignment, "PREFIX<TAB>organization", prefix in upper-case
hex (6, 7 or 9 digits: its length is its size), sorted, after three comment lines that
name the source, its date and the licence; gzip with a zero mtime, so the same input
always gives the same file (`git diff` shows only real changes).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import io
import subprocess
from pathlib import Path

SOURCE = Path("/usr/share/ieee-data")
OUT = Path(__file__).resolve().parent.parent / "scanner" / "data" / "oui.tsv.gz"
#: file -> the registry name its rows must carry, and the prefix length in hex digits
FILES = {
    "oui.csv": ("MA-L", 6),
    "mam.csv": ("MA-M", 7),
    "oui36.csv": ("MA-S", 9),
    "iab.csv": ("IAB", 9),
}
#: an organization name longer than this is cut (a handful are addresses pasted in)
MAX_NAME = 96


def _version() -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "ieee-data"],  # noqa: S607 - Debian's own
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _rows(source: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, (registry, digits) in FILES.items():
        with (source / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                prefix = (row.get("Assignment") or "").strip().upper()
                org = " ".join((row.get("Organization Name") or "").split())[:MAX_NAME]
                if row.get("Registry") != registry or len(prefix) != digits or not org:
                    continue
                int(prefix, 16)  # a malformed prefix stops the build, never ships
                found[prefix] = org
    return found


def build(source: Path = SOURCE) -> bytes:
    stamp = int((source / ".lastupdate").read_text().split()[0])
    date = datetime.datetime.fromtimestamp(stamp, datetime.UTC).date().isoformat()
    rows = _rows(source)
    text = io.StringIO()
    text.write(
        "# IEEE Registration Authority public listing: MA-L, MA-M, MA-S, IAB "
        f"(Debian ieee-data {_version()})\n"
    )
    text.write(f"# date: {date}\n")
    text.write("# licence: IEEE does not assert copyright in the listing or restrict its use\n")
    for prefix in sorted(rows):
        text.write(f"{prefix}\t{rows[prefix]}\n")
    return gzip.compress(text.getvalue().encode(), compresslevel=9, mtime=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = build(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes")


if __name__ == "__main__":
    main()
