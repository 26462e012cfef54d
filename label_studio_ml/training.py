"""The training queue: annotation events → decision → ``fit`` in the background.

The webhook only records the event and maybe starts a thread, so Label Studio (which waits
one second and never retries) always gets its answer at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from label_studio_ml.context import BackendContext
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.training_state import TrainingState

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
    """Decides when a project trains, and runs ``fit`` single-flight in a background thread."""

    def __init__(self, context: BackendContext, registry: ProjectRegistry) -> None:
        self.context = context
        self.registry = registry
        self.state = TrainingState(context.state, context.settings.training_lease_seconds)
        self._threads: dict[str, threading.Thread] = {}

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
        """Start training now, or coalesce into the run in progress."""
        claim = self.state.claim(project, event)
        if not claim.started:
            logger.info("project %s: training already running, follow-up queued", project)
            return {"scheduled": True, "coalesced": True}
        thread = threading.Thread(
            target=self._run,
            args=(project, event, data or {}, claim.owner),
            name=f"train-{project}",
            daemon=True,
        )
        self._threads[project] = thread
        thread.start()
        return {"scheduled": True, "coalesced": False}

    def wait(self, project: str, timeout: float | None = None) -> None:
        """Block until this process's training thread for ``project`` ends (tests, shutdown)."""
        thread = self._threads.get(project)
        if thread is not None:
            thread.join(timeout)

    def _run(self, project: str, event: str, data: dict[str, Any], owner: str) -> None:
        # The lease names the claiming thread; this one keeps using that name.
        next_event: str | None = event
        while next_event is not None:
            error, metrics = self._fit_once(project, next_event, data, owner)
            next_event = self.state.finish(project, owner, error=error, metrics=metrics)
            # A coalesced follow-up trains on whatever is labeled by then; the event's body is gone.
            data = {"action": next_event, "project": {"id": project}}

    def _fit_once(
        self, project: str, event: str, data: dict[str, Any], owner: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        stop = threading.Event()
        beat = threading.Thread(target=self._keep_alive, args=(project, owner, stop), daemon=True)
        beat.start()
        logger.info("project %s: training started (%s)", project, event)
        try:
            model = self.registry.create(project, None)
            model._progress_sink = lambda fields: self._progress(project, owner, fields)
            before = model.model_version
            metrics = model.fit(event, data) or {}
            if model.AUTO_BUMP_VERSION and model.model_version == before:
                model.bump_model_version()
            logger.info("project %s: training finished, model_version=%s", project, model.model_version)
            return None, _json_ready(metrics)
        except Exception as exc:  # a failing fit must never take the server down
            logger.exception("project %s: training failed", project)
            return f"{type(exc).__name__}: {exc}", None
        finally:
            stop.set()

    def _progress(self, project: str, owner: str, fields: dict[str, Any]) -> None:
        logger.info("project %s: training progress %s", project, _json_ready(fields))
        self.state.heartbeat(project, owner, _json_ready(fields))

    def _keep_alive(self, project: str, owner: str, stop: threading.Event) -> None:
        interval = max(1.0, self.state.lease_seconds / 4)
        while not stop.wait(interval):
            self.state.heartbeat(project, owner)


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
