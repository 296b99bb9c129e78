#!/usr/bin/env bash
# OctoPrint (PyPI), a 3D-printer web UI: a single-page app whose login is a JSON POST to
# /api/login made by JavaScript, with a CSRF double-submit cookie. In a venv of its own
# under /opt/shinsa-ci/corpus, never in the project's venv.
# --check: exit non-zero when the pinned version is not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/octoprint
version=1.11.8
python=${PYTHON:-python3}

installed() {
    [ -x "$prefix/bin/octoprint" ] &&
        [ "$("$prefix/bin/python" -c 'import importlib.metadata as m; print(m.version("OctoPrint"))' 2>/dev/null)" = "$version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "octoprint.sh: OctoPrint==$version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
mkdir -p "$(dirname "$prefix")"
[ -x "$prefix/bin/python" ] || "$python" -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check "OctoPrint==$version"
installed
