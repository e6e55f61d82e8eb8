"""Shared start-up for the interop scripts: finds the Django project and sets Django up.

Every script runs with the repository's .venv Python and reads the
``INTEROP_*`` environment variables through the project's settings.
"""

import json
import os
import sys
from pathlib import Path

INTEROP_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = INTEROP_DIR / "project"
CONFIG_PATH = INTEROP_DIR / "dispatchtop-config.json"


def setup_django():
    """Put the project on sys.path and run ``django.setup()``, exiting with the error on invalid settings."""
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop_site.settings")

    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as error:
        fail(str(error))


def fail(message, status=2):
    """Print ``message`` to standard error and exit with ``status``."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    sys.exit(status)


def print_json(value):
    """Print one JSON document on one line, writing values that JSON has no type for with str()."""
    print(json.dumps(value, sort_keys=True, default=str), flush=True)


def cache_redis():
    """The raw redis-py client of the Django cache."""
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def broker_redis():
    """A redis-py client on INTEROP_REDIS_URL, the brokers' Redis."""
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)
