"""The embedded training runner: a bounded number of training slots (threads) in this process."""

from __future__ import annotations

import queue
import threading
from typing import Any

from label_studio_ml.background import BackgroundThreads
from label_studio_ml.learning.training_run import ModelFactory, execute_run
from label_studio_ml.state.training_state import TrainingState, owner_id
from label_studio_ml.telemetry.metrics import set_training_slots

#: What a slot finds in line when the backend stops.
_STOP = None


class ThreadRunner:
    """Runs claimed trainings in ``slots`` background threads; the rest wait in line, in order.

    The slots belong to ``threads``: stopping them lets a running training finish and starts no
    other (the runs left in line keep their claim, released by ``TrainingQueue.release``).
    """

    def __init__(
        self,
        state: TrainingState,
        make_model: ModelFactory,
        secrets: Any,
        slots: int,
        threads: BackgroundThreads | None = None,
    ) -> None:
        self.state = state
        self.make_model = make_model
        self.secrets = secrets
        self.slots = slots
        self.threads = threads or BackgroundThreads()
        self._line: queue.Queue[tuple[str, str, dict[str, Any]] | None] = queue.Queue()
        self._lock = threading.Condition()
        self._waiting: list[str] = []  # in line, oldest first
        self._running: set[str] = set()
        self._started = False

    def start(self) -> None:
        """Start the slots (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        for index in range(self.slots):
            self.threads.start(self._slot, f"training-slot-{index}", waker=lambda: self._line.put(_STOP))

    def submit(self, project: str, claimed_by: str, data: dict[str, Any]) -> None:
        """Put a run this process claimed in line."""
        self.start()
        with self._lock:
            self._waiting.append(project)
            set_training_slots(len(self._waiting), len(self._running))
        self._line.put((project, claimed_by, data))

    def _slot(self) -> None:
        # A run still in line when the backend stops keeps its claim (released for another process).
        while (item := self._line.get()) is not _STOP and not self.threads.stopping.is_set():
            self._run(*item)

    def _run(self, project: str, claimed_by: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._waiting.remove(project)
            self._running.add(project)
            set_training_slots(len(self._waiting), len(self._running))
        try:
            secrets = self.secrets.values
            follow_up = execute_run(self.state, self.make_model, secrets, project, claimed_by, data)
            if follow_up is not None:
                # A coalesced follow-up trains on whatever is labeled by then; it waits its turn.
                self.submit(project, owner_id(), follow_up)
        finally:
            with self._lock:
                self._running.discard(project)
                set_training_slots(len(self._waiting), len(self._running))
                self._lock.notify_all()

    def report(self) -> dict[str, Any]:
        """This process's training slots: how many, which projects run and which wait, in order."""
        with self._lock:
            return {
                "runner": "threads",
                "max_concurrent_trainings": self.slots,
                "running": sorted(self._running),
                "queued": list(self._waiting),
            }

    def wait(self, project: str, timeout: float | None = None) -> bool:
        """Block until ``project`` is neither queued nor running here; False when ``timeout`` passed."""
        with self._lock:
            return self._lock.wait_for(
                lambda: project not in self._running and project not in self._waiting, timeout
            )
