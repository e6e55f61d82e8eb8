#!/usr/bin/env python3
"""Check the interop harness end to end with the Python producer.

For each task system this starts a private redis-server on a free 127.0.0.1
port and fills the cache through restflow. It then runs
events/producer-check.jsonl through restflow's own dispatcher (the Python
producer) and runs the real worker. The check passes when exactly the
expected cache keys are gone, the other keys remain, and the system itself
records the failing job (rule 5) as failed. Every server and worker is
started here and stopped by its pid.

Usage: run_python_producer_check.py [--only NAME ...] [--keep]

Runs with any Python 3.10+ (stdlib only); builds .venv through
scripts/python-env first. Needs redis-server and redis-cli on PATH.
Prints a line per check and closes with "N passed, M failed".
"""

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INTEROP_DIR = Path(__file__).resolve().parent
ROOT = INTEROP_DIR.parent.parent
SCRIPTS = INTEROP_DIR / "scripts"
PROJECT = INTEROP_DIR / "project"
PYTHON = ROOT / ".venv" / "bin" / "python"
EVENTS = INTEROP_DIR / "events" / "producer-check.jsonl"
CACHE_PREFIX = "interop"

# What restflow dispatches for events/producer-check.jsonl: (event index,
# rule ids). Event 1 saves only "stock", so rule 4 (watching price_cents and
# category_id) is skipped. Event 4 creates a product, which no rule reacts to
# because none sets trigger_on_create.
EXPECTED_DISPATCHES = [(0, [1, 2, 4]), (1, [1, 2]), (2, [3]), (3, [5])]

# The fill entries that must survive those events, as (function, arguments).
SURVIVORS = {
    ("shop.views.product_detail", (("product_id", 3),)),
    ("shop.views.category_listing", (("category_id", 40), ("page", 1))),
    ("shop.views.category_listing", (("category_id", 40), ("page", 2))),
    ("shop.views.regional_prices", (("category_id", 20), ("region", "eu"))),
    ("shop.views.regional_prices", (("category_id", 20), ("region", "us"))),
}
FAILURE_TEXT = "supplier feed 7 is unavailable"


# The environment variable that names each state reader's queue (cluster for django_q).
QUEUE_VARIABLES = {
    "celery": "INTEROP_CELERY_QUEUE",
    "rq": "INTEROP_RQ_QUEUE",
    "dramatiq": "INTEROP_DRAMATIQ_QUEUE",
    "django_q": "INTEROP_Q_CLUSTER",
}


@dataclass
class System:
    """One check: a restflow dispatcher, the worker that consumes its jobs, and the queue between them."""

    name: str
    dispatcher: str
    worker: str
    state: str
    queue: str
    stop_signal: int
    # Seconds after which the stop signal is sent a second time, or None.
    repeat_stop_after: float | None = None


# Each worker stops on the signal listed and exits with status 0. Celery
# would exit 1 after SIGINT, its Ctrl-C status. qcluster gets SIGINT, the
# signal its documentation gives for a clean stop. An rq 3.0.0 worker (with redis-py 8.2.0) sometimes blocks for 60 s
# in its warm shutdown while unsubscribing its pubsub channel, so it gets the
# signal again after 3 s, which rq treats as a cold shutdown request; rq
# ignores a repeat within 1 s of the first.
SYSTEMS = [
    System("celery", "celery", "celery", "celery", "cache-invalidation", signal.SIGTERM),
    System("django_rq", "django_rq", "rqworker", "rq", "cache-invalidation", signal.SIGTERM, repeat_stop_after=3),
    System("rq", "django_rq", "rq", "rq", "default", signal.SIGTERM, repeat_stop_after=3),
    System("dramatiq", "dramatiq", "dramatiq", "dramatiq", "default", signal.SIGTERM),
    System("dramatiq_queue", "dramatiq", "dramatiq", "dramatiq", "cache-invalidation", signal.SIGTERM),
    System("django_q", "django_q", "qcluster", "django_q", "interop", signal.SIGINT),
]


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout, interval=0.1):
    """Poll ``condition`` until it returns a truthy value; returns it, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result or None
        time.sleep(interval)


def stop_process(process, sig, timeout, repeat_after=None):
    """Send ``sig`` to the process; SIGKILL its session after ``timeout`` s. Returns (exit code, seconds, killed).

    With ``repeat_after``, the signal is sent again when the process is still
    running after that many seconds (a second signal requests a cold shutdown).
    """
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(sig)
    try:
        if repeat_after is not None:
            try:
                code = process.wait(timeout=repeat_after)
                return code, time.monotonic() - started, False
            except subprocess.TimeoutExpired:
                process.send_signal(sig)
        code = process.wait(timeout=timeout)
        return code, time.monotonic() - started, False
    except subprocess.TimeoutExpired:
        # The worker runs in its own session (start_new_session), so its
        # process group holds only the worker and the children it forked.
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(), time.monotonic() - started, True


class Redis:
    """A private redis-server on a free loopback port, stopped by its pid."""

    def __init__(self, directory):
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(directory), "--logfile", str(directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
        )
        if not wait_for(lambda: self.cli("PING") == "PONG", timeout=5):
            self.stop()
            raise CheckFailed(f"redis-server on port {self.port} did not answer PING within 5 s")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *arguments):
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), *arguments], capture_output=True, text=True, timeout=10
        )
        return result.stdout.strip() if result.returncode == 0 else None

    def integer(self, *arguments):
        value = self.cli(*arguments)
        return int(value) if value and value.lstrip("-").isdigit() else -1

    def scan(self, pattern):
        output = self.cli("--scan", "--pattern", pattern)
        return set(output.splitlines()) if output else set()

    def stop(self):
        stop_process(self.process, signal.SIGTERM, timeout=5)


def run_script(script, *arguments, env, timeout=60):
    """Run a harness script with the venv's Python; returns its standard output."""
    result = subprocess.run(
        [str(PYTHON), str(SCRIPTS / script), *arguments],
        env=env, capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise CheckFailed(f"{script} exited {result.returncode}:\n{result.stderr.strip()[-2000:]}")
    return result.stdout


def run_json(script, *arguments, env):
    return json.loads(run_script(script, *arguments, env=env))


def finished_condition(system, redis, db_path, survivors):
    """A cheap probe (redis-cli, sqlite3) that the worker ran all four jobs."""

    def keys_settled():
        return redis.scan(f"{CACHE_PREFIX}:*") == survivors

    def done():
        if not keys_settled():
            return False
        if system.state == "celery":
            return len(redis.scan("celery-task-meta-*")) == 4
        if system.state == "rq":
            return (
                redis.integer("ZCARD", f"rq:failed:{system.queue}") == 1
                and redis.integer("ZCARD", f"rq:finished:{system.queue}") == 3
            )
        if system.state == "dramatiq":
            return (
                redis.integer("ZCARD", f"dramatiq:{system.queue}.XQ") == 1
                and redis.integer("HLEN", f"dramatiq:{system.queue}.msgs") == 0
                and redis.integer("HLEN", f"dramatiq:{system.queue}.DQ.msgs") == 0
            )
        with sqlite3.connect(db_path) as connection:
            return connection.execute("SELECT count(*) FROM django_q_task").fetchone()[0] == 4

    return done


def check_dispatches(output, system):
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    actual = [(line["event"], line["rule_ids"]) for line in lines]
    expect(actual == EXPECTED_DISPATCHES, f"restflow dispatched {actual}, expected {EXPECTED_DISPATCHES}")
    for line in lines:
        expect(line["dispatcher"] == system.dispatcher, f"dispatch went to {line['dispatcher']}, not {system.dispatcher}")
        expect(
            sorted(line["rule_kwargs"]) == sorted(str(rule) for rule in line["rule_ids"]),
            f"rule_kwargs keys {sorted(line['rule_kwargs'])} do not match rule_ids {line['rule_ids']}",
        )


def check_messages(messages, system):
    """The queued messages, decoded by the system's library, carry the expected rules in order."""
    if system.state == "celery":
        rule_ids = [message["kwargs"]["rule_ids"] for message in messages]
    else:
        rule_ids = [message["args"][0] for message in messages]
    expected = [rules for _, rules in EXPECTED_DISPATCHES]
    expect(rule_ids == expected, f"queued messages carry rule ids {rule_ids}, expected {expected}")


def check_failure(record, system):
    text = json.dumps(record)
    expect(FAILURE_TEXT in (record.get("error") or ""), f"{system.name} failure has no '{FAILURE_TEXT}': {text}")
    if system.state == "celery":
        expect(record["kwargs"]["rule_ids"] == [5], f"failed Celery task is not rule 5: {text}")
        expect(record["error_type"] == "SupplierFeedUnavailable", f"unexpected error type: {text}")
    else:
        expect(record["args"][0] == [5], f"failed {system.name} job is not rule 5: {text}")
        expect(record["args"][1] == {"5": {"supplier_id": 7}}, f"failed job carries other arguments: {text}")


def run_check(system, work_dir, timings):
    redis_started = time.monotonic()
    redis = Redis(work_dir)
    timings["redis"] = time.monotonic() - redis_started
    db_path = work_dir / "interop.sqlite3"
    env = {
        **os.environ,
        "INTEROP_REDIS_URL": redis.url,
        "INTEROP_DB_PATH": str(db_path),
        "INTEROP_DISPATCHER": system.dispatcher,
        QUEUE_VARIABLES[system.state]: system.queue,
    }
    worker = None
    try:
        registry = run_json("check_registry.py", env=env)
        expect(registry["ok"], f"restflow's registry differs from dispatchtop-config.json: {registry['mismatches']}")

        step = time.monotonic()
        subprocess.run(
            [str(PYTHON), "manage.py", "migrate", "--noinput"], cwd=PROJECT, env=env,
            check=True, capture_output=True, timeout=120,
        )
        timings["migrate"] = time.monotonic() - step

        step = time.monotonic()
        fill = run_json("fill_cache.py", env=env)
        timings["fill"] = time.monotonic() - step
        filled = set(fill["keys"])
        survivors = {
            entry["storage_key"]
            for entry in fill["entries"]
            if (entry["function"], tuple(sorted(entry["arguments"].items()))) in SURVIVORS
        }
        expect(len(filled) == 15, f"fill_cache wrote {len(filled)} keys, expected 15")
        expect(len(survivors) == len(SURVIVORS), f"fill_cache did not write every surviving entry: {survivors}")
        expect(redis.scan(f"{CACHE_PREFIX}:*") == filled, "Redis holds other cache keys than fill_cache reported")

        step = time.monotonic()
        check_dispatches(run_script("dispatch_events.py", str(EVENTS), env=env), system)
        timings["dispatch"] = time.monotonic() - step
        before = run_json("broker_state.py", system.state, "--messages", env=env)
        expect(before["queue"] == system.queue, f"broker_state read {before['queue']}, not {system.queue}")
        expect(before["ready"] == 4, f"{before['ready']} jobs queued on {system.queue} before the worker started")
        check_messages(before["messages"], system)
        expect(redis.scan(f"{CACHE_PREFIX}:*") == filled, "cache keys changed before the worker ran")

        step = time.monotonic()
        log = open(work_dir / "worker.log", "w")
        worker = subprocess.Popen(
            [str(PYTHON), str(SCRIPTS / "run_worker.py"), system.worker],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        finished = wait_for(finished_condition(system, redis, db_path, survivors), timeout=60, interval=0.2)
        timings["worker"] = time.monotonic() - step
        exit_code, stop_seconds, killed = stop_process(
            worker, system.stop_signal, timeout=20, repeat_after=system.repeat_stop_after
        )
        timings["stop"] = stop_seconds
        worker = None
        log.close()
        expect(finished, f"the worker did not finish the 4 jobs within 60 s; see {work_dir / 'worker.log'}")
        expect(not killed, f"the worker ignored {signal.Signals(system.stop_signal).name} for 20 s and was killed")
        expect(exit_code == 0, f"the worker exited with status {exit_code}; see {work_dir / 'worker.log'}")

        remaining = set(run_json("list_keys.py", env=env)["keys"])
        expect(remaining == survivors, f"keys left {sorted(remaining)}, expected {sorted(survivors)}")
        after = run_json("broker_state.py", system.state, env=env)
        expect(after["ready"] == 0, f"{after['ready']} jobs still queued")
        expect(after["in_flight"] in (0, None), f"{after['in_flight']} jobs still in flight")
        expect(after["succeeded"] in (3, None), f"{after['succeeded']} jobs succeeded, expected 3")
        expect(len(after["failed"]) == 1, f"{len(after['failed'])} failure records, expected 1: {after['failed']}")
        check_failure(after["failed"][0], system)
    finally:
        if worker is not None:
            stop_process(worker, signal.SIGKILL, timeout=5)
        redis.stop()


def prepare_environment():
    started = time.monotonic()
    result = subprocess.run([str(ROOT / "scripts" / "python-env")], capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
        sys.exit(f"scripts/python-env failed with status {result.returncode}")
    print(f"{result.stdout.strip().splitlines()[-1]} ({time.monotonic() - started:.1f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=[system.name for system in SYSTEMS], help="checks to run")
    parser.add_argument("--keep", action="store_true", help="keep each check's folder (logs, database)")
    options = parser.parse_args()
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH; install it with 'apt-get install redis-server'")

    prepare_environment()

    passed = failed = 0
    total_started = time.monotonic()
    for system in SYSTEMS:
        if options.only and system.name not in options.only:
            continue
        work_dir = Path(tempfile.mkdtemp(prefix=f"interop-{system.name}-"))
        timings = {}
        started = time.monotonic()
        try:
            run_check(system, work_dir, timings)
            passed += 1
            verdict = "PASS"
        except (CheckFailed, subprocess.SubprocessError) as error:
            failed += 1
            verdict = f"FAIL: {error}"
        detail = " ".join(f"{name}={seconds:.1f}s" for name, seconds in timings.items())
        print(f"{system.name}: {time.monotonic() - started:.1f} s ({detail}) {verdict}", flush=True)
        if options.keep or verdict != "PASS":
            print(f"  files kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(f"all checks: {time.monotonic() - total_started:.1f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
