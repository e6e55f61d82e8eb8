"""Django project that runs drf-restflow's cache invalidation under real task workers.

Every setting that points at a server comes from an environment variable
(see ``settings``), so a test can aim the project at its own loopback Redis.
This package is not a Django app: restflow's auto-discovery walks only apps,
so modules here may have import side effects (broker setup, ``django.setup()``).
"""
