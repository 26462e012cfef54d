"""When a project trains, and running ``fit`` in the background with a bounded number of slots.

Webhooks only count changes and queue a training (``TrainingState.claim``), so they answer at
once. Each process runs at most ``MAX_CONCURRENT_TRAININGS`` trainings at a time in its own
threads; further projects wait in line, visible in ``/metrics``. One maintenance thread per process
keeps the leases it holds alive and resumes trainings whose owner died (a ``kill -9``, a crash,
a restart), so an annotation change is never forgotten.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from label_studio_ml.context import BackendContext
from label_studio_ml.logs import redact
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.training_state import TrainingState, owner_id

logger = logging.getLogger(__name__)

START_TRAINING = "START_TRAINING"
COUNTED_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "ANNOTATIONS_DELETED")


def _change_count(event: str, data: dict[str, Any]) -> int:
    """Bulk events carry a list of annotations; each one is a change.

    ``ANNOTATIONS_DELETED`` lists them under ``annotations``; the Data Manager's bulk
    ``ANNOTATIONS_CREATED`` puts a list under ``annotation``.
    """
    if event in ("ANNOTATIONS_CREATED", "ANNOTATIONS_DELETED"):
        for key in ("annotations", "annotation"):
            items = data.get(key)
            if isinstance(items, list) and items:
                return len(items)
    return 1


class TrainingQueue:
    """Decides when a project trains, and runs its ``fit`` in one of this process's slots."""

    def __init__(self, context: BackendContext, registry: ProjectRegistry) -> None:
        self.context = context
        self.registry = registry
        self.state = TrainingState(context.state, context.settings.training_lease_seconds)
        self.slots = context.settings.max_concurrent_trainings
        self._line: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
        self._lock = threading.Condition()
        self._waiting: list[str] = []  # in line, oldest first
        self._running: set[str] = set()
        self._started = False
        self._stop = threading.Event()

    # -- requests ----------------------------------------------------------------------------
    def on_event(self, project: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Handle a training-relevant webhook; returns what was decided (for the response)."""
        if event == START_TRAINING:
            return self.request(project, event, data)
        if event not in COUNTED_EVENTS:
            return {"scheduled": False, "reason": "ignored event"}
        threshold = self.context.settings.start_training_each_n_updates
        if self.state.add_changes(project, _change_count(event, data), threshold):
            return self.request(project, event, data)
        return {"scheduled": False, "reason": "counting changes"}

    def request(self, project: str, event: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a training of ``project`` in this process, or fold it into the one in progress."""
        claim = self.state.claim(project, event)
        if not claim.started:
            logger.info("project %s: training already queued or running, request folded into it", project)
            return {"scheduled": True, "coalesced": True}
        self._enqueue(project, event, data or {})
        return {"scheduled": True, "coalesced": False}

    def _enqueue(self, project: str, event: str, data: dict[str, Any]) -> None:
        self.start()
        with self._lock:
            self._waiting.append(project)
        self._line.put((project, event, data))

    # -- process lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the training slots and the maintenance thread (once; idempotent)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        for index in range(self.slots):
            threading.Thread(target=self._slot, name=f"training-slot-{index}", daemon=True).start()
        threading.Thread(target=self._maintain, name="training-maintenance", daemon=True).start()
        atexit.register(self.release)

    def release(self) -> None:
        """On a clean exit, hand this process's queued and running trainings to the next process."""
        self._stop.set()
        try:
            released = self.state.release(owner_id())
        except Exception:  # the state may be gone at interpreter exit; a stale lease is resumed anyway
            return
        if released:
            logger.info("released trainings of project(s) %s for another process to resume", released)

    def resume_interrupted(self) -> list[str]:
        """Claim and queue every training whose owner died or went silent; returns the projects."""
        resumed = []
        for project, event in self.state.interrupted():
            # The original event: upstream-style models may only train on the events they know.
            if self.state.claim(project, event).started:
                logger.warning("project %s: resuming a training interrupted by a restart or crash", project)
                self._enqueue(project, event, {"action": event, "project": {"id": project}})
                resumed.append(project)
        return resumed

    def _maintain(self) -> None:
        interval = max(1.0, self.state.lease_seconds / 4)
        while True:
            try:
                self.resume_interrupted()
                self.state.heartbeat(owner_id())
            except Exception:  # a state error now must not end the thread that resumes trainings
                logger.exception("training maintenance failed; retrying in %.0f s", interval)
            if self._stop.wait(interval):
                return

    # -- running -----------------------------------------------------------------------------
    def _slot(self) -> None:
        while True:
            project, event, data = self._line.get()
            with self._lock:
                self._waiting.remove(project)
                self._running.add(project)
            try:
                self._run(project, event, data)
            finally:
                with self._lock:
                    self._running.discard(project)
                    self._lock.notify_all()

    def _run(self, project: str, event: str, data: dict[str, Any]) -> None:
        owner = owner_id()
        started_event = self.state.start(project, owner)
        if started_event is None:
            return  # taken over by another process while it waited in line
        error, metrics = self._fit_once(project, started_event, data, owner)
        follow_up = self.state.finish(project, owner, error=error, metrics=metrics)
        if follow_up is not None:
            # A coalesced follow-up trains on whatever is labeled by then; it waits its turn.
            self._enqueue(project, follow_up, {"action": follow_up, "project": {"id": project}})

    def _fit_once(
        self, project: str, event: str, data: dict[str, Any], owner: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        logger.info("project %s: training started (%s)", project, event)
        try:
            model = self.registry.create(project, None)
            model._progress_sink = self._progress_sink(project, owner)
            before = model.model_version
            metrics = model.fit(event, data) or {}
            if model.AUTO_BUMP_VERSION and model.model_version == before:
                model.bump_model_version()
            logger.info("project %s: training finished, model_version=%s", project, model.model_version)
            return None, _json_ready(metrics)
        except Exception as exc:  # a failing fit must never take the server down
            logger.exception("project %s: training failed", project)
            # /metrics shows the error: never with a token or a password in it.
            return redact(f"{type(exc).__name__}: {exc}", self.context.secrets.values), None

    def _progress_sink(self, project: str, owner: str) -> Callable[[dict[str, Any]], None]:
        def sink(fields: dict[str, Any]) -> None:
            logger.info("project %s: training progress %s", project, _json_ready(fields))
            self.state.progress(project, owner, _json_ready(fields))

        return sink

    # -- observing ---------------------------------------------------------------------------
    def slots_report(self) -> dict[str, Any]:
        """This process's training slots: how many, which projects run and which wait, in order."""
        with self._lock:
            return {
                "max_concurrent_trainings": self.slots,
                "running": sorted(self._running),
                "queued": list(self._waiting),
            }

    def wait(self, project: str, timeout: float | None = None) -> bool:
        """Block until ``project`` is neither queued nor running in this process (tests, scripts).

        Returns False when ``timeout`` passed first.
        """
        with self._lock:
            return self._lock.wait_for(
                lambda: project not in self._running and project not in self._waiting, timeout
            )


def _json_ready(value: Any) -> Any:
    """Metrics from numpy/torch become plain floats so they can be stored and served."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
