#!/usr/bin/env bash
# pyftpdlib (PyPI), the FTP server library many embedded and vendor FTP services are built on;
# the corpus runs it with a vendor-style multi-line greeting.
# In a venv of its own under /opt/shinsa-ci/corpus, never in the project's venv.
# --check: exit non-zero when the pinned version is not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/pyftpdlib
version=2.2.0
python=${PYTHON:-python3}

installed() {
    [ -x "$prefix/venv/bin/python" ] &&
        [ "$("$prefix/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("pyftpdlib"))' 2>/dev/null)" = "$version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "pyftpdlib.sh: pyftpdlib==$version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
mkdir -p "$prefix"
[ -x "$prefix/venv/bin/python" ] || "$python" -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyftpdlib==$version"
installed
