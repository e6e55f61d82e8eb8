"""Run model-change events through restflow: the Python producer.

Usage: dispatch_events.py [--dispatcher NAME] [EVENTS_FILE | -]

Each input line is one event in dispatchtop's format:
``{"model": "shop.Product", "pk": 1, "signal": "post_save", "created": false,
"update_fields": null, "fields": {...}}``. For each event the script builds
a model instance from ``fields`` and sends Django's post_save or post_delete
signal for it. restflow's own signal handler then evaluates the rules, and
its own dispatcher enqueues the work (Celery apply_async, django-rq enqueue,
Dramatiq send, django-q2 async_task). No database row is written.

--dispatcher sets restflow's DEFAULT_DISPATCHER (INTEROP_DISPATCHER).

Prints one JSON line per restflow dispatch call: ``event`` (the 0-based
index of the event line), ``dispatcher``, ``model_label``, ``pk``,
``signal_type``, ``rule_ids`` and ``rule_kwargs``. An event with an empty
``update_fields`` list is skipped, as Django sends no signal for it, and
reported on standard error. When a dispatch raises (an in-process
dispatcher running a failing rule), the error goes to standard error, the
remaining events still run, and the exit status is 1.
"""

import argparse
import json
import os
import sys

import interop_setup


def read_events(path):
    """Yield (index, event) for each non-blank line; exit 2 on invalid JSON."""
    stream = sys.stdin if path in (None, "-") else open(path, encoding="utf-8")
    with stream:
        index = 0
        for line_number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                interop_setup.fail(f"line {line_number}: invalid JSON: {error}")
            yield index, event
            index += 1


def build_instance(model, event):
    """A model instance carrying the event's pk and fields; fields the model lacks become plain attributes."""
    attnames = {field.attname for field in model._meta.concrete_fields}
    fields = dict(event.get("fields") or {})
    instance = model(**{name: value for name, value in fields.items() if name in attnames})
    for name, value in fields.items():
        if name not in attnames:
            setattr(instance, name, value)
    instance.pk = event["pk"]
    return instance


def record_dispatches(sink):
    """Wrap every built-in dispatcher's dispatch() so each call is appended to ``sink``."""
    from restflow import caching

    built_in = [
        caching.InlineDispatcher, caching.ThreadPoolDispatcher, caching.AsyncIODispatcher, caching.CeleryDispatcher,
        caching.DjangoRqDispatcher, caching.DramatiqDispatcher, caching.DjangoQDispatcher,
    ]
    for dispatcher_class in built_in:
        original = dispatcher_class.dispatch

        def dispatch(self, *, _original=original, **call):
            sink.append({"dispatcher": self.name, **call})
            return _original(self, **call)

        dispatcher_class.dispatch = dispatch


def prepare_brokers():
    """Point Celery's current app and Dramatiq's global broker at the test's Redis."""
    from django.conf import settings

    import interop_site.celery_app  # noqa: F401
    from interop_site.dramatiq_setup import configure_broker, declare_restflow_actor

    configure_broker()
    if settings.DRAMATIQ_QUEUE != "default":
        # NOTE: restflow's DramatiqDispatcher declares its actor on "default"
        # and routes by the actor's queue only. For another queue the actor is
        # declared and moved first, then handed to the dispatcher through its
        # private class attribute _actor (restflow 2.0.1).
        from restflow.caching.dispatchers.dramatiq import DramatiqDispatcher

        DramatiqDispatcher._actor = declare_restflow_actor(settings.DRAMATIQ_QUEUE)


def send_signal(event):
    """Send the event's Django signal; returns False when Django would send none."""
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    model = apps.get_model(event["model"])
    instance = build_instance(model, event)
    signal = event.get("signal")
    if signal == "post_save":
        update_fields = event.get("update_fields")
        if update_fields is not None and len(update_fields) == 0:
            return False
        post_save.send(
            sender=model,
            instance=instance,
            created=bool(event.get("created", False)),
            update_fields=frozenset(update_fields) if update_fields is not None else None,
            raw=False,
            using="default",
        )
    elif signal == "post_delete":
        post_delete.send(sender=model, instance=instance, using="default", origin=instance)
    else:
        interop_setup.fail(f"unknown signal {signal!r}; expected post_save or post_delete")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dispatcher", help="restflow's default dispatcher for rules that name none")
    parser.add_argument("events", nargs="?", default="-", help="JSON Lines file of events, or - for standard input")
    options = parser.parse_args()
    if options.dispatcher:
        os.environ["INTEROP_DISPATCHER"] = options.dispatcher

    interop_setup.setup_django()
    prepare_brokers()
    calls = []
    record_dispatches(calls)

    failures = 0
    for index, event in read_events(options.events):
        calls.clear()
        try:
            sent = send_signal(event)
        except Exception as error:
            # An in-process dispatcher (inline, asyncio without a loop) runs
            # the rules here, so a failing rule raises in this process.
            failures += 1
            sent = True
            print(f"event {index}: {type(error).__name__}: {error}", file=sys.stderr)
        if not sent:
            print(f"event {index}: empty update_fields, no signal sent", file=sys.stderr)
            continue
        for call in calls:
            signal_type = call.get("signal_type")
            interop_setup.print_json(
                {
                    "event": index,
                    "dispatcher": call["dispatcher"],
                    "model_label": call.get("model_label"),
                    "pk": call.get("pk"),
                    "signal_type": getattr(signal_type, "value", signal_type),
                    "rule_ids": call["rule_ids"],
                    "rule_kwargs": call["rule_kwargs"],
                }
            )
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
