"""Cached functions and their invalidation rules.

restflow numbers rules 1, 2, 3... in the order they are registered, which is
the order of the decorators below and, within one decorator, the order of
``invalidates_on``. ``Tests/Interop/dispatchtop-config.json`` declares the
same functions and rules in the same order; ``scripts/check_registry.py``
compares the two. Keep this the only module that declares cached functions,
so that the import order of modules cannot change the numbering.

Key layout: each partition argument is an ``ArgsKeyField`` of the same name
with ``partition=True``, and each other argument an ``ArgsKeyField`` of the
same name, as dispatchtop's ``CacheKeyLayout`` assumes.
"""

import logging
import time

from restflow.caching import ArgsKeyField, InvalidationRule, KeyConstructor, cache_result

from shop.models import Category, Product, Supplier

logger = logging.getLogger(__name__)


def _computed(function, **arguments):
    """Build the cached value: the arguments and when they were computed."""
    return {"function": function, "arguments": arguments, "computed_at": time.time()}


class ProductDetailKey(KeyConstructor):
    product_id = ArgsKeyField("product_id", partition=True)

    class Meta:
        namespace = "shop"
        version = 1


class CategoryListingKey(KeyConstructor):
    category_id = ArgsKeyField("category_id", partition=True)
    page = ArgsKeyField("page")

    class Meta:
        namespace = "shop"
        version = 1


class RegionalPricesKey(KeyConstructor):
    category_id = ArgsKeyField("category_id", partition=True)
    region = ArgsKeyField("region", partition=True)

    class Meta:
        version = 2


class SupplierFeedKey(KeyConstructor):
    supplier_id = ArgsKeyField("supplier_id", partition=True)

    class Meta:
        namespace = "shop"
        version = 1


# Rule 1.
@cache_result(
    key_constructor=ProductDetailKey,
    ttl=None,
    invalidates_on=[
        InvalidationRule(model=Product, field_mapping={"product_id": "id"}, batch=True),
    ],
)
def product_detail(product_id):
    return _computed("shop.views.product_detail", product_id=product_id)


# Rules 2 and 3.
@cache_result(
    key_constructor=CategoryListingKey,
    ttl=None,
    invalidates_on=[
        InvalidationRule(model=Product, field_mapping={"category_id": "category_id"}, batch=True),
        InvalidationRule(model=Category, field_mapping={"category_id": "id"}),
    ],
)
def category_listing(category_id, page=1):
    return _computed("shop.views.category_listing", category_id=category_id, page=page)


# Rule 4. It maps only category_id, so it drops every region of the
# category; watch_fields skips partial saves that touch neither field.
@cache_result(
    key_constructor=RegionalPricesKey,
    ttl=None,
    invalidates_on=[
        InvalidationRule(
            model=Product,
            field_mapping={"category_id": "category_id"},
            watch_fields=["price_cents", "category_id"],
            batch=True,
        ),
    ],
)
def regional_prices(category_id, region):
    return _computed("shop.views.regional_prices", category_id=category_id, region=region)


class SupplierFeedUnavailable(RuntimeError):
    """The failure every supplier_feed computation raises, on purpose."""


# Rule 5: the failing rule. It recomputes (rewarm) the entry, and computing
# always raises. raise_exception here and DISPATCHER_RAISE_EXCEPTION in the
# settings carry the error out of restflow's worker entry point, so each task
# system records a failed job.
@cache_result(
    key_constructor=SupplierFeedKey,
    ttl=None,
    invalidates_on=[
        InvalidationRule(
            model=Supplier,
            field_mapping={"supplier_id": "id"},
            rewarm=True,
            raise_exception=True,
        ),
    ],
)
def supplier_feed(supplier_id):
    logger.info("Computing supplier_feed for supplier %s fails on purpose", supplier_id)
    msg = f"supplier feed {supplier_id} is unavailable (interop failure rule)"
    raise SupplierFeedUnavailable(msg)
