from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # restflow 2.0.1 registers a rule twice (ids n and n + count) when its
        # module is first imported by restflow's own auto-discovery: add()
        # registers at once because discovery is already marked done, and
        # discovery then registers everything pending again. Importing the
        # cached functions here, before restflow.caching's ready() (shop is
        # listed first in INSTALLED_APPS), queues them as pending, so each rule
        # gets exactly one id.
        from shop import views  # noqa: F401, PLC0415
