"""Settings of the interop test project, read from ``INTEROP_*`` environment variables.

``INTEROP_REDIS_URL`` is required and must name a loopback Redis that the
caller started. Every broker (Celery, RQ, Dramatiq, django-q2) uses it, and
so does the cache unless ``INTEROP_CACHE_URL`` is set. The other variables
have defaults that match ``Tests/Interop/dispatchtop-config.json``.
"""

import os
import tempfile
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def _env(name, default=None):
    value = os.environ.get(name, "")
    return value if value else default


def _redis_url(name, value):
    """Validate a Redis URL: loopback host, explicit port, never the system's 6379."""
    parts = urlsplit(value)
    if parts.scheme != "redis" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        msg = f"{name}={value!r} is not a loopback Redis URL. Use redis://127.0.0.1:PORT/DB with a server you started."
        raise ImproperlyConfigured(msg)
    if parts.port is None or parts.port == 6379:
        msg = (
            f"{name}={value!r} must name an explicit port other than 6379, "
            "so the tests never touch a Redis they did not start."
        )
        raise ImproperlyConfigured(msg)
    return value


REDIS_URL = _env("INTEROP_REDIS_URL")
if REDIS_URL is None:
    msg = "INTEROP_REDIS_URL is not set. Start a redis-server on a free 127.0.0.1 port and pass redis://127.0.0.1:PORT/0."
    raise ImproperlyConfigured(msg)
REDIS_URL = _redis_url("INTEROP_REDIS_URL", REDIS_URL)
CACHE_URL = _redis_url("INTEROP_CACHE_URL", _env("INTEROP_CACHE_URL", REDIS_URL))
CACHE_KEY_PREFIX = _env("INTEROP_CACHE_KEY_PREFIX", "interop")

# Dispatcher selection and queue names, one per task system.
DISPATCHER = _env("INTEROP_DISPATCHER", "inline")
CELERY_QUEUE = _env("INTEROP_CELERY_QUEUE", "cache-invalidation")
RQ_QUEUE = _env("INTEROP_RQ_QUEUE", "default")
# The serializer of RQ job data, on the producer and the worker side alike.
RQ_SERIALIZER = _env("INTEROP_RQ_SERIALIZER", "rq.serializers.DefaultSerializer")
DRAMATIQ_QUEUE = _env("INTEROP_DRAMATIQ_QUEUE", "default")
Q_NAME = _env("INTEROP_Q_NAME", "interop")
Q_CLUSTER_NAME = _env("INTEROP_Q_CLUSTER", Q_NAME)

# Dramatiq's retry policy for the worker, short so that a failing message
# reaches the dead-letter set within about a second (the library default is
# 20 retries with a 15 s exponential backoff).
DRAMATIQ_MAX_RETRIES = int(_env("INTEROP_DRAMATIQ_MAX_RETRIES", "1"))
DRAMATIQ_MIN_BACKOFF_MS = int(_env("INTEROP_DRAMATIQ_MIN_BACKOFF_MS", "100"))
DRAMATIQ_MAX_BACKOFF_MS = int(_env("INTEROP_DRAMATIQ_MAX_BACKOFF_MS", "1000"))

SECRET_KEY = _env("INTEROP_SECRET_KEY", "dispatchtop-interop-secret-key")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "interop_site.urls"

# shop comes before restflow.caching so that its ready() imports the cached
# functions before restflow's ready() numbers the rules (see shop/apps.py).
INSTALLED_APPS = [
    "django_rq",
    "django_q",
    "shop",
    "restflow.caching",
]

# The database contains django-q2's task table, where its failures are
# recorded. The shop models are unmanaged and have no tables.
_redis_port = urlsplit(REDIS_URL).port
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _env(
            "INTEROP_DB_PATH",
            os.path.join(tempfile.gettempdir(), f"dispatchtop-interop-{_redis_port}.sqlite3"),
        ),
    }
}

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }
}

RESTFLOW_SETTINGS = {
    "CACHE_SETTINGS": {
        "DEFAULT_DISPATCHER": DISPATCHER,
        # Failures propagate to the task system, so RQ, Dramatiq and django-q2
        # record the failing job instead of the worker only logging it.
        "DISPATCHER_RAISE_EXCEPTION": True,
        "DISPATCHER_SETTINGS": {
            "celery": {"QUEUE": CELERY_QUEUE},
            "django_rq": {"QUEUE": RQ_QUEUE},
            "dramatiq": {"QUEUE": DRAMATIQ_QUEUE},
            "django_q": {"CLUSTER": Q_CLUSTER_NAME},
        },
    }
}

# Celery (read by interop_site.celery_app with the CELERY_ namespace). The
# Redis result backend with extended results records each task's outcome
# under celery-task-meta-<id>, the only trace a failed Celery task leaves.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXTENDED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# django-rq: the restflow queue plus "default", all on the test's Redis.
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60, "SERIALIZER": RQ_SERIALIZER}
    for name in sorted({"default", RQ_QUEUE})
}

# django-q2 on the Redis broker. "name" is the signing salt of every queued
# package; "cluster_name" picks the list django_q:<cluster_name>:q.
Q_CLUSTER = {
    "name": Q_NAME,
    "cluster_name": Q_CLUSTER_NAME,
    "redis": REDIS_URL,
    "workers": 1,
    "recycle": 500,
    "timeout": 30,
    "retry": 60,
    "max_attempts": 1,
    "catch_up": False,
    "sync": False,
    "log_level": "INFO",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "restflow": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "shop": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
