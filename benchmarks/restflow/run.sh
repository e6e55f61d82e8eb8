#!/usr/bin/env bash
# Installs drf-restflow 2.0.1 with Django in a virtual environment beside
# this script (once) and times it on the workload dispatchtop-bench uses.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
if ! "$venv/bin/python" -c 'import restflow, django_redis' 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "drf-restflow==2.0.1" "django>=5.2,<5.3" djangorestframework django-redis redis
fi
exec "$venv/bin/python" "$here/bench_restflow.py" "$@"
