"""Report a task system's queue and failure state, read through its own library.

Usage: broker_state.py SYSTEM [--queue NAME] [--messages]

SYSTEM: celery, rq (also for django-rq), dramatiq, django_q. The queue
defaults to the system's INTEROP_*_QUEUE setting (the cluster for django_q).

Prints one JSON object:
  ready      messages waiting in the queue
  in_flight  messages taken by a worker and not yet finished
             (celery: the unacked hash, all queues; rq: started registry;
             dramatiq: .msgs entries not in the ready list; django_q: null,
             its Redis broker keeps no such record)
  delayed    dramatiq's delay queue (.DQ), null for the others
  succeeded  finished successfully: celery SUCCESS results, rq's finished
             registry, django_q's Success rows. Null for dramatiq, because
             it keeps no record of successes
  failed     one record per failed job: celery FAILURE results, rq's failed
             registry, dramatiq's dead-letter set (.XQ), django_q's Failure rows

With --messages it also lists ``messages``: every message still waiting in
the queue, decoded by the system's own library (kombu's envelope and body,
rq's Job.fetch, dramatiq's Message.decode, django-q2's SignedPackage.loads,
which checks the signature). A message the library cannot decode makes the
script exit 1 with the library's error, so a producer's output can be
checked without running a worker.
"""

import argparse
import json

import interop_setup


class UndecodableMessage(Exception):
    pass


def celery_messages(redis, queue):
    import base64

    from kombu.utils.json import loads

    messages = []
    for name in [queue] + [f"{queue}\x06\x16{p}" for p in (3, 6, 9)]:
        # LPUSH puts the newest first and the worker pops from the right, so
        # reversing gives delivery order.
        for raw in reversed(redis.lrange(name, 0, -1)):
            try:
                envelope = loads(raw)
                properties = envelope["properties"]
                body = envelope["body"]
                if properties.get("body_encoding") == "base64":
                    body = base64.b64decode(body)
                args, kwargs, embed = loads(body)
                messages.append(
                    {
                        "list": name,
                        "task": envelope["headers"]["task"],
                        "id": envelope["headers"]["id"],
                        "delivery_tag": properties["delivery_tag"],
                        "routing_key": properties["delivery_info"]["routing_key"],
                        "priority": properties.get("priority"),
                        "content_type": envelope["content-type"],
                        "args": args,
                        "kwargs": kwargs,
                        "embed": embed,
                    }
                )
            except Exception as error:
                raise UndecodableMessage(f"{name}: {error!r}: {raw[:300]!r}") from error
    return messages


def celery_state(redis, queue):
    ready = sum(redis.llen(name) for name in [queue] + [f"{queue}\x06\x16{p}" for p in (3, 6, 9)])
    failed = []
    succeeded = 0
    for key in redis.scan_iter(match="celery-task-meta-*", count=500):
        meta = json.loads(redis.get(key))
        if meta.get("status") == "SUCCESS":
            succeeded += 1
        elif meta.get("status") == "FAILURE":
            result = meta.get("result") or {}
            failed.append(
                {
                    "id": meta.get("task_id"),
                    "task": meta.get("name"),
                    "queue": meta.get("queue"),
                    "kwargs": meta.get("kwargs"),
                    "error_type": result.get("exc_type"),
                    "error": " ".join(str(part) for part in result.get("exc_message") or []),
                }
            )
    return {"ready": ready, "in_flight": redis.hlen("unacked"), "delayed": None, "succeeded": succeeded, "failed": failed}


def rq_messages(redis, queue):
    from django.conf import settings
    from rq import Queue
    from rq.job import Job

    messages = []
    for job_id in Queue(queue, connection=redis).get_job_ids():
        try:
            job = Job.fetch(job_id, connection=redis, serializer=settings.RQ_SERIALIZER)
            messages.append(
                {
                    "id": job.id,
                    "function": job.func_name,
                    "args": list(job.args),
                    "kwargs": job.kwargs,
                    "origin": job.origin,
                    "status": getattr(job.get_status(refresh=False), "value", None),
                    "timeout": job.timeout,
                    "description": job.description,
                }
            )
        except Exception as error:
            raise UndecodableMessage(f"rq job {job_id}: {error!r}") from error
    return messages


def rq_state(redis, queue):
    from django.conf import settings
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    rq_queue = Queue(queue, connection=redis, serializer=settings.RQ_SERIALIZER)
    failed = []
    for job_id in FailedJobRegistry(queue=rq_queue).get_job_ids():
        job = Job.fetch(job_id, connection=redis, serializer=settings.RQ_SERIALIZER)
        result = job.latest_result()
        error = (result.exc_string or "").strip().splitlines() if result else []
        failed.append(
            {
                "id": job.id,
                "function": job.func_name,
                "args": list(job.args),
                "kwargs": job.kwargs,
                "error": error[-1] if error else None,
            }
        )
    return {
        "ready": rq_queue.count,
        "in_flight": StartedJobRegistry(queue=rq_queue).count,
        "delayed": None,
        "succeeded": FinishedJobRegistry(queue=rq_queue).count,
        "failed": failed,
    }


def dramatiq_messages(redis, queue):
    from dramatiq import Message

    messages = []
    prefix = f"dramatiq:{queue}"
    for redis_message_id in redis.lrange(prefix, 0, -1):
        raw = redis.hget(f"{prefix}.msgs", redis_message_id)
        try:
            message = Message.decode(raw)
        except Exception as error:
            raise UndecodableMessage(f"{prefix}.msgs {redis_message_id!r}: {error!r}: {raw!r}") from error
        if message.options.get("redis_message_id") != redis_message_id.decode():
            raise UndecodableMessage(f"options.redis_message_id of {redis_message_id!r} is {message.options!r}")
        messages.append(
            {
                "redis_message_id": redis_message_id.decode(),
                "message_id": message.message_id,
                "queue_name": message.queue_name,
                "actor": message.actor_name,
                "args": list(message.args),
                "kwargs": message.kwargs,
                "options": message.options,
            }
        )
    return messages


def dramatiq_state(redis, queue):
    prefix = f"dramatiq:{queue}"
    ready = redis.llen(prefix)
    failed = []
    for message_id in redis.zrange(f"{prefix}.XQ", 0, -1):
        message = json.loads(redis.hget(f"{prefix}.XQ.msgs", message_id))
        traceback = (message.get("options", {}).get("traceback") or "").strip().splitlines()
        failed.append(
            {
                "id": message_id.decode(),
                "actor": message.get("actor_name"),
                "args": message.get("args"),
                "retries": message.get("options", {}).get("retries", 0),
                "error": traceback[-1] if traceback else None,
            }
        )
    return {
        "ready": ready,
        "in_flight": redis.hlen(f"{prefix}.msgs") - ready,
        "delayed": redis.hlen(f"{prefix}.DQ.msgs"),
        "succeeded": None,
        "failed": failed,
    }


def django_q_messages(redis, cluster):
    from django_q.signing import SignedPackage

    messages = []
    for payload in redis.lrange(f"django_q:{cluster}:q", 0, -1):
        try:
            task = SignedPackage.loads(payload.decode())
        except Exception as error:
            raise UndecodableMessage(f"django_q:{cluster}:q: {error!r}: {payload[:300]!r}") from error
        messages.append(
            {
                "id": task["id"],
                "name": task["name"],
                "function": task["func"],
                "args": list(task["args"]),
                "kwargs": task["kwargs"],
                "started": task.get("started"),
                "other_keys": sorted(set(task) - {"id", "name", "func", "args", "kwargs", "started"}),
            }
        )
    return messages


def django_q_state(redis, cluster):
    from django.db.utils import OperationalError
    from django_q.models import Failure, Success

    try:
        failures = list(Failure.objects.order_by("started"))
        succeeded = Success.objects.count()
    except OperationalError as error:
        interop_setup.fail(f"cannot read django-q2's task table ({error}); run 'manage.py migrate' first")
    failed = [
        {
            "id": task.id,
            "name": task.name,
            "function": task.func,
            "args": list(task.args or ()),
            "error": str(task.result).split(" : ")[0] if task.result else None,
        }
        for task in failures
    ]
    return {
        "ready": redis.llen(f"django_q:{cluster}:q"),
        "in_flight": None,
        "delayed": None,
        "succeeded": succeeded,
        "failed": failed,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("system", choices=["celery", "rq", "dramatiq", "django_q"])
    parser.add_argument("--queue", help="queue name (cluster name for django_q)")
    parser.add_argument("--messages", action="store_true", help="also decode every waiting message")
    options = parser.parse_args()

    interop_setup.setup_django()
    from django.conf import settings

    redis = interop_setup.broker_redis()
    readers = {
        "celery": (celery_state, celery_messages, settings.CELERY_QUEUE),
        "rq": (rq_state, rq_messages, settings.RQ_QUEUE),
        "dramatiq": (dramatiq_state, dramatiq_messages, settings.DRAMATIQ_QUEUE),
        "django_q": (django_q_state, django_q_messages, settings.Q_CLUSTER_NAME),
    }
    state_reader, message_reader, default_queue = readers[options.system]
    queue = options.queue or default_queue
    state = {"system": options.system, "queue": queue, **state_reader(redis, queue)}
    if options.messages:
        try:
            state["messages"] = message_reader(redis, queue)
        except UndecodableMessage as error:
            interop_setup.fail(f"the {options.system} library cannot decode a queued message: {error}", status=1)
    interop_setup.print_json(state)


if __name__ == "__main__":
    main()
