from django.db import models


class Item(models.Model):
    """The benchmark's one model; instances are built in memory, never saved."""

    price = models.FloatField(default=0)
    title = models.CharField(max_length=50, default="")
    stock = models.IntegerField(default=0)
    archived = models.BooleanField(default=False)

    class Meta:
        app_label = "benchapp"
