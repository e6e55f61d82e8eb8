"""Start a real task worker on the test's Redis, replacing this process.

Usage: run_worker.py SYSTEM [--queue NAME] [--dry-run]

SYSTEM is one of:
  celery     celery -A interop_site.celery_app worker -Q QUEUE -P solo
             --without-gossip --without-mingle --without-heartbeat
  rqworker   python manage.py rqworker --serializer S QUEUE  (django-rq)
  rq         rq worker -c interop_site.rq_config --serializer S QUEUE
             (plain rq CLI; S is INTEROP_RQ_SERIALIZER)
  dramatiq   dramatiq interop_site.dramatiq_worker -p 1 -t 1 -Q QUEUE
  qcluster   python manage.py qcluster                 (django-q2; the
             cluster comes from INTEROP_Q_CLUSTER)

The queue defaults to the system's INTEROP_*_QUEUE setting; --queue
overrides it (for dramatiq it also moves restflow's actor onto that queue).
The script execs the worker in the project folder, so the pid that started
this script is the worker's pid. Stop it by that pid: SIGTERM for celery,
rq, rqworker and dramatiq (exit status 0), SIGINT for qcluster (exit
status 0; celery exits 1 after SIGINT). An rq 3.0.0 worker can take 60 s
to finish a warm shutdown. Sending the same signal again, more than 1 s
after the first, stops it at once. --dry-run prints the command as JSON
instead of running it.
"""

import argparse
import os
import sys
from pathlib import Path

import interop_setup

QUEUE_SETTINGS = {
    "celery": "INTEROP_CELERY_QUEUE",
    "rqworker": "INTEROP_RQ_QUEUE",
    "rq": "INTEROP_RQ_QUEUE",
    "dramatiq": "INTEROP_DRAMATIQ_QUEUE",
    "qcluster": "INTEROP_Q_CLUSTER",
}
DEFAULT_QUEUES = {
    "celery": "cache-invalidation",
    "rqworker": "default",
    "rq": "default",
    "dramatiq": "default",
    "qcluster": "interop",
}


def worker_command(system, queue):
    """The argv of the worker for ``system`` consuming ``queue``."""
    bin_dir = Path(sys.executable).parent
    python = sys.executable
    if system == "celery":
        return [
            str(bin_dir / "celery"), "-A", "interop_site.celery_app", "worker",
            "-Q", queue, "-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "INFO", "-n", f"interop-{os.getpid()}@%h",
        ]
    serializer = os.environ.get("INTEROP_RQ_SERIALIZER") or "rq.serializers.DefaultSerializer"
    if system == "rqworker":
        return [python, "manage.py", "rqworker", "--serializer", serializer, queue]
    if system == "rq":
        return [str(bin_dir / "rq"), "worker", "-c", "interop_site.rq_config", "-P", ".", "--serializer", serializer, queue]
    if system == "dramatiq":
        return [
            str(bin_dir / "dramatiq"), "interop_site.dramatiq_worker",
            "--processes", "1", "--threads", "1", "--queues", queue, "--path", ".",
        ]
    if system == "qcluster":
        return [python, "manage.py", "qcluster"]
    raise ValueError(system)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("system", choices=sorted(QUEUE_SETTINGS))
    parser.add_argument("--queue", help="queue (cluster for qcluster) to consume")
    parser.add_argument("--dry-run", action="store_true", help="print the command as JSON and exit")
    options = parser.parse_args()

    if not os.environ.get("INTEROP_REDIS_URL"):
        interop_setup.fail("INTEROP_REDIS_URL is not set; point it at the redis-server the test started")
    setting = QUEUE_SETTINGS[options.system]
    if options.queue:
        os.environ[setting] = options.queue
    queue = os.environ.get(setting) or DEFAULT_QUEUES[options.system]
    if options.system == "qcluster" and not os.environ.get(setting):
        queue = os.environ.get("INTEROP_Q_NAME") or queue

    command = worker_command(options.system, queue)
    if options.dry_run:
        interop_setup.print_json({"argv": command, "cwd": str(interop_setup.PROJECT_DIR), "queue": queue})
        return
    os.chdir(interop_setup.PROJECT_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop_site.settings")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(interop_setup.PROJECT_DIR), os.environ.get("PYTHONPATH")]))
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
