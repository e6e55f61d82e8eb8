"""The models the invalidation rules watch.

They are unmanaged and have no tables: restflow reads only the attributes of
the instance a signal carries, and the interop scripts send those signals
with instances built from event fields.
"""

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=100, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        managed = False
        app_label = "shop"


class Product(models.Model):
    slug = models.CharField(max_length=100, default="")
    category_id = models.IntegerField(null=True)
    price_cents = models.IntegerField(default=0)
    stock = models.IntegerField(default=0)

    class Meta:
        managed = False
        app_label = "shop"


class Supplier(models.Model):
    name = models.CharField(max_length=100, default="")

    class Meta:
        managed = False
        app_label = "shop"
