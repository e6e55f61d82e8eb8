"""Times drf-restflow on the workload dispatchtop-bench uses.

The workload: 10 invalidation rules on one model; every event is a partial
save with update_fields {"price"}; three rules watch only "stock", so seven
run. Each figure calls restflow's own registry entry point
(CacheRegister.invalidate_for_instance), the function its post_save signal
handler reaches after the transaction commits.

Usage: python bench_restflow.py [--events N]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import django
from django.conf import settings

# --redis-url switches the cache to django-redis; it is read before Django starts.
REDIS_URL = sys.argv[sys.argv.index("--redis-url") + 1] if "--redis-url" in sys.argv else None
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 1_000_000}}}

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "rest_framework", "restflow", "benchapp"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    CACHES=CACHES,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
)
django.setup()

from django.core.cache import cache  # noqa: E402
from restflow.caching import ArgsKeyField, Dispatcher, InvalidationRule, cache_result, register_dispatcher  # noqa: E402
from restflow.caching.key_constructor import KeyConstructor  # noqa: E402
from restflow.caching.registry import CacheRegister, CacheRegistry  # noqa: E402

from benchapp.models import Item  # noqa: E402

RULES = 10
SKIPPED = 3


@register_dispatcher
class NoWorkDispatcher(Dispatcher):
    """Does nothing, so the figure is restflow's evaluation and grouping."""

    name = "nowork"

    def dispatch(self, *, rule_ids, rule_kwargs, **context):
        return None


class ItemKey(KeyConstructor):
    item_id = ArgsKeyField("item_id", partition=True)

    class Meta:
        namespace = "bench"


def make_functions(dispatcher):
    functions = []
    for index in range(RULES):
        watch = ["stock"] if index < SKIPPED else ["price", "title"]
        rule = InvalidationRule(
            model=Item,
            field_mapping={"item_id": "id"},
            watch_fields=watch,
            invalidate_when={"!archived": True},
            dispatcher=dispatcher,
        )

        def view(item_id, page=1, _index=index):
            return {"item": item_id, "page": page, "view": _index}

        view.__name__ = f"view_{index}"
        view.__qualname__ = f"view_{index}"
        functions.append(cache_result(key_constructor=ItemKey, ttl=None, invalidates_on=[rule])(view))
    return functions


def run(label, events, records, before_round=None):
    items = [Item(id=pk, price=pk % 500 + 0.99, archived=False) for pk in range(1, records + 1)]
    update_fields = frozenset(["price"])
    elapsed = 0.0
    done = 0
    while done < events:
        if before_round is not None:
            before_round()
        start = clock()
        for item in items[: events - done]:
            CacheRegister.invalidate_for_instance(
                item, instance_created=False, signal_type=CacheRegistry.SignalTypes.POST_SAVE,
                update_fields=update_fields)
        elapsed += clock() - start
        done += min(len(items), events - done)
    unit = "CPU s" if clock is time.thread_time else "s"
    rate = done / elapsed
    shown = f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"
    print(f"restflow {label}: {shown} events/s ({done} in {elapsed:.3f} {unit})")


# Thread CPU time, as dispatchtop-bench counts; with Redis, wall time, since
# the time spent waiting for Redis is what the application sees.
clock = time.thread_time


def main():
    global clock
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--redis-url", help="also time drops from a django-redis cache of 10,000 keys at this URL")
    arguments = parser.parse_args()
    records = 1000
    if arguments.redis_url:
        redis_drops(arguments.events)
        return

    CacheRegister.auto_discover()
    make_functions("nowork")
    run("evaluate (no-work dispatcher)", arguments.events, records)

    CacheRegister.clear()
    CacheRegister.auto_discover()
    functions = make_functions("inline")

    def fill():
        for function in functions:
            for pk in range(1, records + 1):
                function(item_id=pk)

    fill()
    print(f"  cache entries after one fill: {len(cache._cache)}")
    run("inline + locmem cache drop", arguments.events // 10, records, before_round=fill)


def redis_drops(events):
    """Times inline drops from a django-redis cache holding 10,000 keys.

    restflow's delete_by_prefix calls django-redis's delete_pattern, which
    walks the whole keyspace with SCAN for every rule that fires.
    """
    global clock
    clock = time.perf_counter
    CacheRegister.auto_discover()
    functions = make_functions("inline")
    cache.clear()
    for function in functions:
        for pk in range(1, 1001):
            function(item_id=pk)
    keys = len(cache.keys("*"))
    print(f"  django-redis cache keys before the drops: {keys}")
    run("inline + django-redis drop (10,000 keys)", min(events, 50), 50)


if __name__ == "__main__":
    main()
