"""Dramatiq broker and restflow actor setup, shared by the producer and the worker."""

import dramatiq
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries


def configure_broker():
    """Set a RedisBroker on the test's Redis as Dramatiq's global broker.

    It must run before any actor is declared: without a global broker,
    Dramatiq would create one for 127.0.0.1:6379. The retry policy comes from
    the INTEROP_DRAMATIQ_* settings so a failing message dead-letters fast.
    """
    broker = RedisBroker(url=settings.REDIS_URL)
    for middleware in broker.middleware:
        if isinstance(middleware, Retries):
            middleware.max_retries = settings.DRAMATIQ_MAX_RETRIES
            middleware.min_backoff = settings.DRAMATIQ_MIN_BACKOFF_MS
            middleware.max_backoff = settings.DRAMATIQ_MAX_BACKOFF_MS
    dramatiq.set_broker(broker)
    return broker


def declare_restflow_actor(queue_name):
    """Declare restflow's actor through its own ``register_actor()`` and put it on ``queue_name``.

    register_actor() always declares the actor on Dramatiq's "default" queue,
    and restflow's DramatiqDispatcher sends to the actor's queue, ignoring
    its QUEUE setting. For another queue the actor is moved after the
    declaration: its queue_name decides where send() writes, and the worker
    consumes every declared queue (or those given with --queues).
    """
    from restflow.caching.dispatchers.dramatiq import register_actor

    actor = register_actor()
    if actor.queue_name != queue_name:
        actor.queue_name = queue_name
        actor.broker.declare_queue(queue_name)
    return actor
