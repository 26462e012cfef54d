"""The distributed training runner: claimed trainings become RQ jobs that training workers run.

Serving replicas never run ``fit`` in this mode: they claim a training in Redis (single flight
cluster-wide, see ``training_state``) and enqueue a job on the backend's queue. A worker
(``label-studio-ml worker DIR``) takes the lease over when the job starts, heartbeats it, and
publishes the new version to the shared ``MODEL_STORE``. RQ itself retries nothing: a job whose
worker died is resumed through its expired lease (by any replica or worker), a job that failed
for a real reason is reported in ``/metrics`` and not retried.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from label_studio_ml.context import BackendContext
from label_studio_ml.learning.training import TrainingQueue
from label_studio_ml.learning.training_run import ModelFactory, execute_run
from label_studio_ml.state.contract import StateStore
from label_studio_ml.state.training_state import ACTIVE, TrainingState, owner_id

logger = logging.getLogger(__name__)

#: How long RQ keeps a finished job's result (nothing reads it: /metrics reads the state).
RESULT_TTL_S = 3600
#: The job a worker runs, by dotted name as RQ recommends: the worker imports it (with the backend's
#: services around it); a function object would tie this module to the worker's code.
TRAINING_JOB = "label_studio_ml.commands.training_job.run_training"


def queue_name(context: BackendContext) -> str:
    """The RQ queue of this backend: ``RQ_QUEUE``, else the model namespace."""
    return context.settings.rq_queue or context.namespace


def model_path(model_class: type) -> str:
    """``module:QualifiedName``, how a worker that imports the backend finds the class again."""
    return f"{model_class.__module__}:{model_class.__qualname__}"


class RQRunner:
    """Enqueues claimed trainings on the backend's RQ queue."""

    def __init__(self, context: BackendContext, model_class: type) -> None:
        self.context = context
        self.model_path = model_path(model_class)
        self.name = queue_name(context)
        self.state = TrainingState(context.state, context.settings.training_lease_seconds)

    def _queue(self) -> Any:
        from rq import Queue

        return Queue(self.name, connection=_redis_of(self.context.state))

    def start(self) -> None:
        """Nothing to start: the workers run the jobs."""

    def submit(self, project: str, claimed_by: str, data: dict[str, Any]) -> None:
        """Enqueue the run ``claimed_by`` queued for ``project``."""
        # RQ takes letters, digits, '_' and '-' only: a key's '.' (before its creation time) becomes '_'.
        readable = re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.context.namespace}-{project}")
        job_id = f"lsml-{readable}-{uuid.uuid4().hex[:12]}"
        self._queue().enqueue_call(
            TRAINING_JOB,
            args=(self.model_path, self.context.namespace, project, claimed_by, data),
            timeout=self.context.settings.training_timeout_seconds,
            result_ttl=RESULT_TTL_S,
            description=f"train {self.context.namespace} project {project}",
            job_id=job_id,
        )
        logger.info("project %s: training queued on RQ queue %s as job %s", project, self.name, job_id)

    def report(self) -> dict[str, Any]:
        """The queue, how many jobs wait in it, and the workers listening on it."""
        from rq import Worker

        queue = self._queue()
        workers = Worker.all(queue=queue)
        return {
            "runner": "rq",
            "queue": self.name,
            "queued_jobs": queue.count,
            "workers": sorted(worker.name for worker in workers),
        }

    def wait(self, project: str, timeout: float | None = None) -> bool:
        """Poll the state until ``project`` is neither queued nor running anywhere."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            row = self.context.state.training_row(project)
            if row is None or row["state"] not in ACTIVE:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def _redis_of(state: StateStore) -> Any:
    client = getattr(state, "client", None)
    if client is None:
        raise RuntimeError("the RQ runner needs the Redis state store (REDIS_URL)")
    return client


def run_claimed(
    queue: TrainingQueue, make_model: ModelFactory, project: str, claimed_by: str, data: dict[str, Any]
) -> str:
    """Run the training ``claimed_by`` queued for ``project`` in this worker process (the job's work,
    see ``TRAINING_JOB``); a follow-up requested meanwhile goes back on the queue. Returns a summary."""
    context = queue.context
    follow_up = execute_run(queue.state, make_model, context.secrets.values, project, claimed_by, data)
    if follow_up is not None:
        queue.runner.submit(project, owner_id(), follow_up)
    row = context.state.training_row(project) or {}
    version = context.state.get(project, "model_version")
    return f"project {project}: {row.get('state')}, model_version {version}"
