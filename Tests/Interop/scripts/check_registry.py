"""Compare restflow's rule registry with the dispatchtop configuration.

Usage: check_registry.py [CONFIG]   (default: Tests/Interop/dispatchtop-config.json)

For every configured rule, the restflow rule with the same ``restflow_id``
must belong to the same function and model and have the same options; the
registry must have no other rules; and each function's key constructor
must match the configured key layout (namespace, version, identifier, and
one ArgsKeyField per argument, named after it, partition=True exactly for
the partition arguments).

Prints ``{"ok": bool, "mismatches": [...], "rules": [...]}`` and exits 1
when anything differs.
"""

import argparse
import json

import interop_setup

# Configuration key -> (InvalidationRule attribute, configured default).
RULE_OPTIONS = {
    "field_mapping": ("field_mapping", {}),
    "require_args": ("require_args", True),
    "trigger_on_create": ("trigger_on_create", False),
    "watch_fields": ("watch_fields", None),
    "invalidate_when": ("invalidate_when", {}),
    "rewarm": ("rewarm", False),
    "invalidator": ("invalidator", None),
    "dispatcher": ("dispatcher", None),
    "dispatcher_config": ("dispatcher_config", {}),
    "batch": ("batch", False),
    "raise_exception": ("raise_exception", None),
}


def function_name(wrapper):
    from restflow.caching import KeyConstructor

    return KeyConstructor.get_function_identifier(wrapper.func)


def check_rule(position, rule, registered, mismatches):
    """Append a message to ``mismatches`` for each difference of one rule."""
    label = f"rule {rule.get('id', position)!r} (restflow id {rule['restflow_id']})"
    if registered is None:
        mismatches.append(f"{label}: restflow has no rule with this id")
        return
    invalidation_rule = registered["invalidation_rule"]
    actual_function = function_name(registered["func"])
    if actual_function != rule["function"]:
        mismatches.append(f"{label}: restflow's rule belongs to {actual_function}, not {rule['function']}")
    actual_model = invalidation_rule.model._meta.label
    if actual_model != rule["model"]:
        mismatches.append(f"{label}: restflow's rule watches {actual_model}, not {rule['model']}")
    for key, (attribute, default) in RULE_OPTIONS.items():
        expected = rule.get(key, default)
        actual = getattr(invalidation_rule, attribute)
        if actual != expected:
            mismatches.append(f"{label}: {key} is {actual!r} in restflow but {expected!r} in the configuration")


def check_key_layout(function, wrapper, mismatches):
    """Append a message for each difference between the key constructor and the configured layout."""
    from restflow.caching import ArgsKeyField

    layout = function.get("key", {})
    constructor = wrapper.key_constructor
    name = function["name"]
    meta = constructor._meta
    if (meta.namespace or "") != layout.get("namespace", ""):
        mismatches.append(f"{name}: namespace is {meta.namespace!r} in restflow, {layout.get('namespace', '')!r} here")
    if constructor.get_version() != layout.get("version", 1):
        mismatches.append(f"{name}: version is {constructor.get_version()} in restflow, {layout.get('version', 1)} here")
    if (meta.key_identifier or None) != layout.get("identifier"):
        mismatches.append(f"{name}: key_identifier is {meta.key_identifier!r} in restflow, {layout.get('identifier')!r} here")
    partition = set(layout.get("partition", []))
    for field_name, field in constructor.fields.items():
        if not isinstance(field, ArgsKeyField) or field.arguments != field_name:
            mismatches.append(f"{name}: key field {field_name!r} is not ArgsKeyField({field_name!r})")
        elif field.path is not None or field.normalizer is not None or field.hash_value:
            mismatches.append(f"{name}: key field {field_name!r} uses path, normalizer or hash_value")
        if field.partition != (field_name in partition):
            mismatches.append(f"{name}: key field {field_name!r} has partition={field.partition}")
    missing = partition - set(constructor.fields)
    if missing:
        mismatches.append(f"{name}: partition arguments without a key field: {sorted(missing)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default=str(interop_setup.CONFIG_PATH))
    options = parser.parse_args()
    with open(options.config, encoding="utf-8") as stream:
        config = json.load(stream)

    interop_setup.setup_django()
    from restflow.caching import CacheRegister

    mismatches = []
    rules = []
    wrappers = {}
    position = 0
    for function in config["functions"]:
        for rule in function.get("rules", []):
            position += 1
            rule = {**rule, "function": function["name"], "restflow_id": rule.get("restflow_id", position)}
            registered = CacheRegister.get_rule(rule["restflow_id"])
            check_rule(position, rule, registered, mismatches)
            if registered is not None:
                wrappers[function["name"]] = registered["func"]
            rules.append({key: rule[key] for key in ("restflow_id", "id", "function", "model") if key in rule})

    configured_ids = {rule["restflow_id"] for rule in rules}
    for extra in sorted(set(CacheRegister._rules) - configured_ids):
        registered = CacheRegister.get_rule(extra)
        mismatches.append(f"restflow rule {extra} ({function_name(registered['func'])}) is not in the configuration")

    for function in config["functions"]:
        if function["name"] in wrappers:
            check_key_layout(function, wrappers[function["name"]], mismatches)
        else:
            mismatches.append(f"{function['name']}: no restflow rule found for it, key layout not checked")

    interop_setup.print_json({"ok": not mismatches, "mismatches": mismatches, "rules": rules})
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
