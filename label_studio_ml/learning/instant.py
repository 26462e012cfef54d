"""Handing single annotation events to models that learn from them at once, off the request thread.

A model class lists the webhook actions it wants in ``INSTANT_EVENTS`` and implements
``learn_instantly(event, data)`` (e.g. refit a light head on frozen embeddings and publish a new
version). The webhook answers at once; one background thread per process feeds the events to the
project's model in the order they arrived, so a deletion never overtakes the creation it undoes.
Events that queued up while an update ran go to ``learn_instantly_many`` together (one refit for
a burst, when the model overrides it). A failing update is logged and never affects the webhook,
the other projects or trainings.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.telemetry.metrics import count_instant_update

logger = logging.getLogger(__name__)

#: How much nicer than the request threads the learning thread runs. On a machine with as many
#: busy threads as cores, the kernel then gives a core to a request before the refit behind it.
NICENESS = 10
#: What the learning thread finds in line when the backend stops.
_STOP = None
#: One event in line: project, action, data, and when it arrived (``time.monotonic``).
_Event = tuple[str, str, dict[str, Any], float]


def lower_this_threads_priority(step: int = NICENESS) -> bool:
    """Make the calling thread (only it, on Linux) ``step`` nicer; whether the system allowed it."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + step))
    except (AttributeError, OSError):  # no per-thread priorities here: learning just runs as is
        return False
    return True


class InstantUpdates:
    """A process's queue of annotation events for models with ``learn_instantly``."""

    def __init__(self, registry: ProjectRegistry) -> None:
        self.registry = registry
        self.events: tuple[str, ...] = tuple(getattr(registry.model_class, "INSTANT_EVENTS", ()) or ())
        self._threads = registry.context.threads  # stopping the backend ends the learning thread
        self._line: queue.Queue[_Event | None] = queue.Queue()
        self._pending: dict[str, int] = {}
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def wants(self, action: str) -> bool:
        """Whether the model learns from ``action`` at once."""
        return action in self.events

    def submit(self, project: str, action: str, data: dict[str, Any]) -> None:
        """Queue one event; returns immediately."""
        with self._lock:
            if self._thread is None:
                self._thread = self._threads.start(self._run, "instant-updates", waker=self._wake)
            self._pending[project] = self._pending.get(project, 0) + 1
        self._line.put((project, action, data, time.monotonic()))

    def _wake(self) -> None:
        """Unblock the learning thread's wait for events: the backend stops."""
        self._line.put(_STOP)

    def _run(self) -> None:
        lower_this_threads_priority()  # learning waits for requests, never the other way round
        while not self._threads.stopping.is_set():
            batch = self._drain()
            for project, events, arrived in _by_project([item for item in batch if item is not _STOP]):
                self._learn(project, events, arrived)
            if _STOP in batch:
                return

    def _learn(self, project: str, events: list[tuple[str, dict[str, Any]]], arrived: float) -> None:
        failed = False
        try:
            self.registry.instance(project).learn_instantly_many(events)
        except Exception:  # one project's failure must not stop the events after it
            failed = True
            logger.exception("project %s: learning from %d event(s) at once failed", project, len(events))
        finally:
            count_instant_update(failed, time.monotonic() - arrived)  # counted before ``wait`` returns
            with self._lock:
                self._pending[project] -= len(events)
                self._lock.notify_all()

    def _drain(self) -> list[_Event | None]:
        """The next event, and every event queued behind it: a burst is learned in one update."""
        batch = [self._line.get()]
        while True:
            try:
                batch.append(self._line.get_nowait())
            except queue.Empty:
                return batch

    def wait(self, project: str, timeout: float | None = None) -> bool:
        """Block until every event queued for ``project`` was handled (tests, scripts)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending.get(project), timeout)

    def report(self) -> dict[str, Any]:
        """What ``/metrics`` shows: the events learned at once and how many wait."""
        with self._lock:
            return {"events": list(self.events), "waiting": sum(self._pending.values())}


def _by_project(batch: list[_Event]) -> list[tuple[str, list[tuple[str, dict[str, Any]]], float]]:
    """Each project's events of ``batch``, in arrival order (projects learn independently), and when
    the first of them arrived."""
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    arrived: dict[str, float] = {}
    for project, action, data, at in batch:
        grouped.setdefault(project, []).append((action, data))
        arrived.setdefault(project, at)
    return [(project, events, arrived[project]) for project, events in grouped.items()]
