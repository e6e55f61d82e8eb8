"""The Celery app: ``celery -A interop_site.celery_app worker``.

Importing this module makes the app Celery's current app, which restflow's
CeleryDispatcher publishes through.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop_site.settings")

app = Celery("interop_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Finds restflow.caching.tasks, which declares restflow's shared task
# restflow.caching.tasks.task_run_cache_rules.
app.autodiscover_tasks()
app.set_current()
app.set_default()
