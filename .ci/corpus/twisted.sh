#!/usr/bin/env bash
# Twisted (PyPI) with conch: `twistd ftp` (Twisted's FTP server) and `twistd manhole` (a
# Twisted telnet service that prompts `Username:`), two Twisted-based device-like daemons.
# In a venv of its own under /opt/shinsa-ci/corpus, never in the project's venv.
# --check: exit non-zero when the pinned version is not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/twisted
version=26.10.0
python=${PYTHON:-python3}

installed() {
    [ -x "$prefix/venv/bin/twistd" ] &&
        [ "$("$prefix/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("Twisted"))' 2>/dev/null)" = "$version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "twisted.sh: Twisted==$version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
mkdir -p "$prefix"
[ -x "$prefix/venv/bin/python" ] || "$python" -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install --quiet --disable-pip-version-check "twisted[conch]==$version"
installed
