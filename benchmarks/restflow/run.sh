#!/usr/bin/env bash
# Installs drf-restflow 2.0.1 with Django in a virtual environment beside
# this script (once) and times it on the workload dispatchtop-bench uses.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "drf-restflow==2.0.1" "django>=5.2,<5.3" djangorestframework
fi
exec "$venv/bin/python" "$here/bench_restflow.py" "$@"
