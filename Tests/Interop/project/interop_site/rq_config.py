"""Settings module for the plain ``rq worker`` command (``rq worker -c interop_site.rq_config``).

rq's own CLI does not know Django, so this module sets Django up: without
it restflow's registry would be empty and every job would do nothing.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop_site.settings")
django.setup()

from django.conf import settings  # noqa: E402

REDIS_URL = settings.REDIS_URL
QUEUES = [settings.RQ_QUEUE]
