"""The module a Dramatiq worker loads: ``dramatiq interop_site.dramatiq_worker``.

It sets the Redis broker, sets Django up (which registers restflow's rules),
and declares restflow's actor on INTEROP_DRAMATIQ_QUEUE. It lives outside the
shop app on purpose: restflow imports every module of the project's apps at
start-up, and this module's side effects must not run there.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop_site.settings")
django.setup()

from django.conf import settings  # noqa: E402

from interop_site.dramatiq_setup import configure_broker, declare_restflow_actor  # noqa: E402

broker = configure_broker()
actor = declare_restflow_actor(settings.DRAMATIQ_QUEUE)
