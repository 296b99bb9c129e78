#!/usr/bin/env bash
# pymodbus (PyPI), the Modbus stack ICS simulators and gateways embed: the corpus runs a
# Modbus/TCP PLC with it (no authentication: an ICS device the scan must name).
# In a venv of its own under /opt/shinsa-ci/corpus, never in the project's venv.
# --check: exit non-zero when the pinned version is not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/pymodbus
version=3.16.1
python=${PYTHON:-python3}

installed() {
    [ -x "$prefix/venv/bin/python" ] &&
        [ "$("$prefix/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("pymodbus"))' 2>/dev/null)" = "$version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "pymodbus.sh: pymodbus==$version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
mkdir -p "$prefix"
[ -x "$prefix/venv/bin/python" ] || "$python" -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pymodbus==$version"
installed
