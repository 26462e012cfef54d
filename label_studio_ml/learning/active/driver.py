"""Running active-learning rounds in the background, when a project's served version changes.

``ActiveLearning.poke(project)`` is called when a project publishes a version (``context.versions``:
an instant head after an annotation, a fine-tuned version) and on ``/setup`` (connecting, or
extra params turning it on or off); it returns at once. One thread per process runs the rounds,
a burst of pokes for a project costing one round. A Label Studio that is down or refuses is tried
again later (5 s, doubling to 5 minutes), never holding up learning, requests or other projects;
``/metrics`` shows the last round and error under the project's ``active_learning``. In a training
worker (no thread outlives an RQ job) the round runs in the job, after the training.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

from label_studio_ml.config import Role, Settings, as_bool
from label_studio_ml.learning.active.rounds import ACTIVE_KEY, VersionMoved, run_round, turn_off
from label_studio_ml.learning.instant import lower_this_threads_priority
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.state.project_key import label_studio_id
from label_studio_ml.studio.client import LabelStudioAccess
from label_studio_ml.studio.task_queue import TaskQueue

logger = logging.getLogger(__name__)

#: Makes a project's queue from its Label Studio access and id (``TaskQueue``; tests pass a fake).
QueueFactory = Callable[[LabelStudioAccess, int], TaskQueue]
#: Rounds a project may have per minute, each one request per written prediction plus three: with
#: ``ACTIVE_LEARNING_TASKS`` 20, at most about 700 requests a minute to Label Studio for a project
#: whose annotators label faster than one task every 2 s (the rounds in between are merged).
MAX_ROUNDS_PER_MINUTE = 30
#: How long a project's unlabeled pool, once read from Label Studio, serves its rounds.
POOL_TTL_S = 300.0
#: First delay after a failed round, doubled after each further failure up to ``MAX_DELAY_S``.
FIRST_DELAY_S = 5.0
MAX_DELAY_S = 300.0


def enabled(model: LabelStudioMLBase, default: bool) -> bool:
    """Whether active learning drives ``model``'s project: its extra params' ``active_learning``
    (true/false, as a JSON boolean or a string) or, when they do not say, ``ACTIVE_LEARNING``."""
    said = as_bool(model.extra_params.get("active_learning"))
    return default if said is None else said


class ActiveLearning:
    """A process's active-learning rounds (see the module docstring)."""

    def __init__(
        self, registry: ProjectRegistry, settings: Settings, queue_for: QueueFactory = TaskQueue
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.queue_for = queue_for
        self._threads = registry.context.threads
        self._due: dict[str, float] = {}  # project -> when its next round may start (monotonic)
        self._failures: dict[str, int] = {}
        self._recent: dict[str, deque[float]] = {}  # when each project's latest rounds wrote
        self._pools: TTLCache[str, list[dict[str, Any]]] = TTLCache(maxsize=64, ttl=POOL_TTL_S)
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def poke(self, project: str, version: str | None = None) -> None:
        """A round for ``project`` soon (after its back-off, if its last round failed)."""
        if self.settings.role == Role.WORKER:
            self._round(project)  # inside the training job: a thread would die with it
            return
        with self._lock:
            self._due.setdefault(project, time.monotonic())
            if self._thread is None:
                self._thread = self._threads.start(self._run, "active-learning", waker=self._wake)
            self._lock.notify_all()

    def _wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _run(self) -> None:
        lower_this_threads_priority()  # scoring a pool waits for requests, never the other way round
        while not self._threads.stopping.is_set():
            project = self._next_due()
            if project is not None:
                self._round(project)

    def _next_due(self) -> str | None:
        """The project whose round is due (taken off the list), waiting for one; ``None`` to stop."""
        with self._lock:
            while not self._threads.stopping.is_set():
                now = time.monotonic()
                due = [(at, project) for project, at in self._due.items() if at <= now]
                if due:
                    project = min(due)[1]
                    del self._due[project]
                    return project
                wait = min(self._due.values(), default=now + 60.0) - now
                self._lock.wait(max(0.05, wait))
            return None

    def _round(self, project: str) -> None:
        wait = self._rate_wait(project)
        if wait > 0:  # the versions come faster than Label Studio should be written to: later, once
            self._again(project, wait)
            return
        try:
            if self.round(project) is not None:
                self._recent.setdefault(project, deque(maxlen=MAX_ROUNDS_PER_MINUTE)).append(time.monotonic())
        except VersionMoved:
            self._again(project, 0.0)
        except Exception as exc:  # Label Studio down or refusing, a model failing: try again later
            self._failed(project, exc)
        else:
            self._failures.pop(project, None)

    def _rate_wait(self, project: str) -> float:
        """Seconds until ``project`` may have another round (``MAX_ROUNDS_PER_MINUTE``). A sliding
        window over its last rounds, not a rate-limit package: the answer is when to schedule the
        round, in this thread's own schedule, not a call to block or refuse."""
        recent = self._recent.get(project)
        if self.settings.role == Role.WORKER or not recent or len(recent) < MAX_ROUNDS_PER_MINUTE:
            return 0.0
        return max(0.0, recent[0] + 60.0 - time.monotonic())

    def round(self, project: str) -> dict[str, Any] | None:
        """Run ``project``'s round now, if it is due: active learning on and its version not queued yet
        (or off, and the user's sampling not yet restored). What it did, or ``None``."""
        model = self.registry.instance(project)
        on = enabled(model, self.settings.active_learning)
        done = model.get(ACTIVE_KEY)
        if not on and not done:
            return None
        access = model.context.label_studio_for(project)
        if access is None:
            return None  # not connected yet: ``/setup`` pokes again when it is
        queue = self.queue_for(access, int(label_studio_id(project)))
        if not on:
            turn_off(model, queue)
            return None
        if done and done.get("version") == model.model_version and not done.get("error"):
            return None
        return run_round(model, queue, self.settings, self._pool(project, queue, model))

    def _pool(self, project: str, queue: TaskQueue, model: LabelStudioMLBase) -> list[dict[str, Any]]:
        """The project's unlabeled tasks: read from Label Studio at most every ``POOL_TTL_S`` (a pool of
        10,000 is ten requests of 1,000 tasks with their data, too much for every annotation), less
        the tasks labeled since (the annotation webhooks' copies, ``received_annotations``). Tasks
        imported meanwhile join at the next read."""
        with self._lock:
            pool = self._pools.get(project)
        if pool is None:
            pool = queue.pool(self.settings.active_learning_pool)
            with self._lock:
                self._pools[project] = pool
        labeled = {task.get("id") for task in model.received_annotations().tasks()}
        return [task for task in pool if task.get("id") not in labeled]

    def _failed(self, project: str, exc: Exception) -> None:
        failures = self._failures.get(project, 0) + 1
        self._failures[project] = failures
        delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - 1))
        reason = getattr(exc, "message", None) or type(exc).__name__
        logger.warning("project %s: active learning round failed (%s); again in %.0f s",
                       project, reason, delay)  # fmt: skip
        try:
            model = self.registry.instance(project)
            model.set(ACTIVE_KEY, {**(model.get(ACTIVE_KEY) or {}), "error": reason, "failures": failures,
                                   "retry_in_s": delay})  # fmt: skip
        except Exception:  # the state itself is unavailable: the log line says it
            logger.debug("project %s: could not record the failed round", project, exc_info=True)
        self._again(project, delay)

    def _again(self, project: str, delay: float) -> None:
        """``project``'s round again in ``delay`` seconds (none in a worker: the training job ends
        here; the next version, or the server's next ``/setup``, brings the next round)."""
        if self.settings.role == Role.WORKER:
            return
        with self._lock:
            self._due[project] = time.monotonic() + delay
            self._lock.notify_all()
