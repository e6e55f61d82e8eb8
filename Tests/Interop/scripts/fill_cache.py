"""Fill the Redis cache through restflow by calling the cached functions.

Usage: fill_cache.py [--calls JSON_OR_FILE]

Without --calls the standard set below is written (15 entries). --calls
takes a JSON list, or a path to a file holding one, of
``{"function": "shop.views.product_detail", "arguments": {"product_id": 5}}``.

Prints one JSON object: ``entries`` (function, arguments, the restflow key,
the cache version and the Redis key of each call) and ``keys`` (the sorted
Redis keys). Exits 1 when a Redis key is missing after the call.
"""

import argparse
import importlib
import json
from pathlib import Path

import interop_setup

STANDARD_CALLS = (
    [{"function": "shop.views.product_detail", "arguments": {"product_id": pid}} for pid in (1, 2, 3)]
    + [
        {"function": "shop.views.category_listing", "arguments": {"category_id": cid, "page": page}}
        for cid in (10, 20, 30, 40)
        for page in (1, 2)
    ]
    + [
        {"function": "shop.views.regional_prices", "arguments": {"category_id": cid, "region": region}}
        for cid in (10, 20)
        for region in ("eu", "us")
    ]
)


def load_calls(text):
    """Parse --calls: inline JSON, or the path of a JSON file."""
    if text is None:
        return STANDARD_CALLS
    source = text if text.lstrip().startswith("[") else Path(text).read_text()
    calls = json.loads(source)
    if not isinstance(calls, list):
        interop_setup.fail("--calls must be a JSON list of {function, arguments} objects")
    return calls


def cached_function(name):
    """Import the cached wrapper named ``module.function``."""
    module_name, _, attribute = name.rpartition(".")
    try:
        wrapper = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        interop_setup.fail(f"cannot import the cached function {name!r}: {error}")
    if not getattr(wrapper, "is_cached_function", False):
        interop_setup.fail(f"{name!r} is not decorated with @cache_result")
    return wrapper


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", help="JSON list of calls, or a file holding one")
    options = parser.parse_args()

    interop_setup.setup_django()
    from django.core.cache import cache

    redis = interop_setup.cache_redis()
    entries = []
    missing = []
    for call in load_calls(options.calls):
        wrapper = cached_function(call["function"])
        arguments = call.get("arguments", {})
        wrapper(**arguments)
        key = wrapper.get_cache_key(**arguments)
        version = wrapper.get_key_version()
        storage_key = cache.make_key(key, version=version)
        entries.append(
            {
                "function": call["function"],
                "arguments": arguments,
                "key": key,
                "version": version,
                "storage_key": storage_key,
            }
        )
        if not redis.exists(storage_key):
            missing.append(storage_key)

    interop_setup.print_json({"entries": entries, "keys": sorted(entry["storage_key"] for entry in entries)})
    if missing:
        interop_setup.fail(f"restflow wrote no Redis key for: {', '.join(missing)}", status=1)


if __name__ == "__main__":
    main()
