#!/usr/bin/env bash
# Cowrie (PyPI), the SSH and Telnet honeypot that emulates an embedded Linux device (the
# one IoT botnets are studied with): Twisted's telnet stack with `login:` prompts.
# In a venv of its own under /opt/shinsa-ci/corpus, never in the project's venv.
# --check: exit non-zero when the pinned version is not installed.
set -euo pipefail
prefix=/opt/shinsa-ci/corpus/cowrie
version=3.1.4
python=${PYTHON:-python3}

installed() {
    [ -x "$prefix/venv/bin/cowrie" ] &&
        [ "$("$prefix/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("cowrie"))' 2>/dev/null)" = "$version" ]
}

if [ "${1:-}" = "--check" ]; then
    installed || { echo "cowrie.sh: cowrie==$version missing in $prefix" >&2; exit 1; }
    exit 0
fi
installed && exit 0
mkdir -p "$prefix"
[ -x "$prefix/venv/bin/python" ] || "$python" -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install --quiet --disable-pip-version-check "cowrie==$version"
installed
