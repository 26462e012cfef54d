"""``label-studio-ml worker DIR``: RQ training workers for a backend directory (distributed mode).

A worker loads the backend exactly as a serving process does (its ``_wsgi.py``, which names the
model class and starts its services: settings, the Redis state and the shared model store), in the
worker role (``Settings.role``: no warm-up), serves no HTTP, and runs the training jobs of the
backend's queue (``commands.training_job``) one at a time in its own process (RQ's
``SimpleWorker``: a ``kill -9`` of the worker kills its training too, and the expired lease hands
it to another worker).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from label_studio_ml.commands.training_job import serve_jobs_with
from label_studio_ml.config import ROLE_VARIABLE, Role
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.learning.runner_rq import queue_name
from label_studio_ml.services import Services
from label_studio_ml.state.training_state import HOST

logger = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0


def load_backend_services(directory: Path) -> Services:
    """The services ``directory/_wsgi.py`` starts for its model class, imported as gunicorn would
    import it (an upstream-style ``_wsgi.py`` names its model class only through its ``app``)."""
    directory = directory.resolve()
    for path in (str(Path.cwd()), str(directory)):
        if path not in sys.path:
            sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location("_wsgi", directory / "_wsgi.py")
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"{directory} has no _wsgi.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_wsgi"] = module
    spec.loader.exec_module(module)
    app = getattr(module, "app", None)
    services = getattr(app, "extensions", {}).get("label_studio_ml", {}).get("services")
    if not isinstance(services, Services):
        raise ConfigurationError(f"{directory}/_wsgi.py defines no label_studio_ml app named 'app'")
    return services


def run_one(directory: Path, burst: bool = False) -> int:
    """Run one RQ worker in this process until it is told to stop; returns an exit code."""
    import redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import SimpleWorker

    os.environ[ROLE_VARIABLE] = Role.WORKER.value  # read by the settings the backend's _wsgi.py starts with
    services = load_backend_services(directory)
    context = services.context
    if not context.settings.distributed:
        raise SystemExit("label-studio-ml worker needs REDIS_URL (distributed mode)")
    serve_jobs_with(services)
    name = queue_name(context)
    # RQ blocks on Redis for minutes while it waits for a job: no socket timeout on its connection.
    connection = redis.Redis.from_url(context.settings.redis_url, health_check_interval=30)
    backoff = 1.0
    while True:
        worker_name = f"{HOST}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        try:
            worker = SimpleWorker([name], connection=connection, name=worker_name)
            logger.info("training worker %s on RQ queue %s (%s)", worker_name, name, context.state.describe())
            level = logging.getLevelName(logging.getLogger().level)
            worker.work(burst=burst, with_scheduler=False, logging_level=level)
            if burst or _asked_to_stop(worker):
                return 0
            reason = "the worker stopped on its own"  # e.g. RQ gave up on a Redis timeout
        except (RedisConnectionError, ConnectionError, OSError) as exc:
            reason = type(exc).__name__
        logger.error("training worker lost Redis (%s); reconnecting in %.0f s", reason, backoff)
        time.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_S)


def _asked_to_stop(worker: Any) -> bool:
    # RQ records a SIGTERM/SIGINT here; any other return from work() is RQ giving up on Redis.
    return getattr(worker, "_shutdown_requested_date", None) is not None or getattr(
        worker, "_stop_requested", False
    )


def run_many(directory: Path, count: int, argv: Sequence[str]) -> int:
    """Start ``count`` single workers as child processes and stop them together."""
    children = [subprocess.Popen([*argv, "--workers", "1"]) for _ in range(count)]

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    return max((abs(code) for code in codes), default=0)
