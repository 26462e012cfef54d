"""The embedded training runner: a bounded number of training slots (threads) in this process."""

from __future__ import annotations

import queue
import threading
from typing import Any

from label_studio_ml.learning.training_run import ModelFactory, execute_run
from label_studio_ml.state.training_state import TrainingState, owner_id


class ThreadRunner:
    """Runs claimed trainings in ``slots`` background threads; the rest wait in line, in order."""

    def __init__(
        self, state: TrainingState, make_model: ModelFactory, secrets: Any, slots: int
    ) -> None:
        self.state = state
        self.make_model = make_model
        self.secrets = secrets
        self.slots = slots
        self._line: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
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
            threading.Thread(target=self._slot, name=f"training-slot-{index}", daemon=True).start()

    def submit(self, project: str, claimed_by: str, data: dict[str, Any]) -> None:
        """Put a run this process claimed in line."""
        self.start()
        with self._lock:
            self._waiting.append(project)
        self._line.put((project, claimed_by, data))

    def _slot(self) -> None:
        while True:
            project, claimed_by, data = self._line.get()
            with self._lock:
                self._waiting.remove(project)
                self._running.add(project)
            try:
                follow_up = execute_run(
                    self.state, self.make_model, self.secrets.values, project, claimed_by, data
                )
                if follow_up is not None:
                    # A coalesced follow-up trains on whatever is labeled by then; it waits its turn.
                    self.submit(project, owner_id(), {"action": follow_up, "project": {"id": project}})
            finally:
                with self._lock:
                    self._running.discard(project)
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
