"""When a project trains: change counting, single-flight claims, and resuming interrupted trainings.

Webhooks only count changes and claim a training (``TrainingState.claim``), so they answer at
once; the claimed run goes to a runner: this process's training slots (embedded mode,
``runner_threads``) or an RQ queue that training workers consume (distributed mode, ``runner_rq``).
One maintenance thread per process keeps the leases of its queued runs alive and resumes every
training whose owner died or went silent, so an annotation change is never forgotten.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any, Protocol

from label_studio_ml.context import BackendContext
from label_studio_ml.model import MODEL_VERSION_KEY
from label_studio_ml.state.training_state import START_TRAINING, TrainingState, owner_id, run_data

logger = logging.getLogger(__name__)

COUNTED_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "ANNOTATIONS_DELETED")


class TrainingRunner(Protocol):
    """Where claimed trainings run."""

    def start(self) -> None:
        """Get ready to run (idempotent)."""

    def submit(self, project: str, claimed_by: str, data: dict[str, Any]) -> None:
        """Run the training ``claimed_by`` queued for ``project``, now or when a slot frees up."""

    def report(self) -> dict[str, Any]:
        """What ``/metrics`` shows about this runner."""

    def wait(self, project: str, timeout: float | None = None) -> bool:
        """Block until ``project``'s training submitted here ended (tests, scripts)."""


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
    """Decides when a project trains and hands claimed runs to ``runner``."""

    def __init__(self, context: BackendContext, state: TrainingState, runner: TrainingRunner) -> None:
        self.context = context
        self.state = state
        self.runner = runner
        self._started = False
        self._lock = threading.Lock()
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
        """Queue a training of ``project``, or fold the request into the one queued or running."""
        base_version = self.context.state.get(project, MODEL_VERSION_KEY)
        claim = self.state.claim(project, event, base_version=base_version)
        if not claim.started:
            logger.info("project %s: training already queued or running, request folded into it", project)
            return {"scheduled": True, "coalesced": True}
        self.runner.submit(project, claim.owner, data or {})
        return {"scheduled": True, "coalesced": False}

    def resume_interrupted(self) -> list[str]:
        """Claim and submit again every training whose owner died or went silent; returns them."""
        resumed = []
        for project, event in self.state.interrupted():
            # Resumed with its original event: upstream-style models may train only on known events.
            claim = self.state.claim(project, event, resume=True)
            if claim.started:
                logger.warning("project %s: resuming a training interrupted by a restart or crash", project)
                self.runner.submit(project, claim.owner, run_data(project, event))
                resumed.append(project)
        return resumed

    # -- process lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the runner and the maintenance thread (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.runner.start()
        # Stopping the backend (``LabelStudioMLBase.stop``) ends the thread's wait at once.
        self.context.threads.start(self._maintain, "training-maintenance", waker=self._stop.set)
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

    def _maintain(self) -> None:
        interval = max(1.0, self.state.lease_seconds / 4)
        while True:
            try:
                self.resume_interrupted()
                me = owner_id()
                for project in self.state.owned_by(me):
                    self.state.heartbeat(project, me)  # runs waiting for a slot or a worker
            except Exception:  # a state error now must not end the thread that resumes trainings
                logger.exception("training maintenance failed; retrying in %.0f s", interval)
            if self._stop.wait(interval):
                return

    # -- observing ---------------------------------------------------------------------------
    def slots_report(self) -> dict[str, Any]:
        """What the runner reports (this process's slots, or the distributed queue)."""
        return self.runner.report()

    def wait(self, project: str, timeout: float | None = None) -> bool:
        """Block until ``project``'s training submitted by this process ended."""
        return self.runner.wait(project, timeout)
