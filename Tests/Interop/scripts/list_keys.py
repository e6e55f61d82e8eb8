"""List the cache's Redis keys.

Usage: list_keys.py [--pattern GLOB]

Prints ``{"keys": [...]}`` with the keys sorted. The default pattern is
``<INTEROP_CACHE_KEY_PREFIX>:*``, every key the Django cache wrote. It uses
SCAN, never KEYS.
"""

import argparse

import interop_setup


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pattern", help="Redis glob pattern (default: the cache key prefix followed by :*)")
    options = parser.parse_args()

    interop_setup.setup_django()
    from django.conf import settings

    pattern = options.pattern or f"{settings.CACHE_KEY_PREFIX}:*"
    redis = interop_setup.cache_redis()
    keys = sorted(key.decode() for key in redis.scan_iter(match=pattern, count=500))
    interop_setup.print_json({"keys": keys, "pattern": pattern})


if __name__ == "__main__":
    main()
