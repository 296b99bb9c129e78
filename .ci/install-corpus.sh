#!/usr/bin/env bash
# Install the real-software corpus of tests/corpus (issue 10): one script per program (or
# family) under .ci/corpus/, each idempotent, pinning its versions, installing outside the
# project's venv (under /opt/shinsa-ci/corpus/ or from Debian). Called by install-daemons.sh.
# --check: exit non-zero when something is missing (each script's own --check).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode="${1:-}"
status=0
for script in "$here"/corpus/*.sh; do
    [ -e "$script" ] || continue
    if [ "$mode" = "--check" ]; then
        bash "$script" --check || status=1
    else
        echo "install-corpus.sh: $(basename "$script")"
        bash "$script"
    fi
done
exit "$status"
