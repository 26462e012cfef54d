"""The state a backend keeps per project: the contract, and what its implementations share.

Two implementations, chosen once at start-up (``open_state``): SQLite in ``MODEL_DIR`` (the
embedded default, shared by the workers of one machine) and Redis (``REDIS_URL``, shared by every
replica and training worker of a cluster). Both hold:

- a key/value map of JSON values per project (model version, label config, connection, ...);
- one training row per project (see ``training_state``), changed only through
  ``update_training``, which applies a function to the row atomically, so two processes can never
  both believe they own a project's training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol, TypeVar

Result = TypeVar("Result")
#: ``change(row) -> (fields to write or None, result)``, applied under the row's lock.
RowChange = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, Result]]


class TrainingStatus(StrEnum):
    """A training row's ``state`` (a ``str``: stored, compared and served as the plain value)."""

    IDLE = "idle"
    #: Claimed by a process, waiting for a training slot or a worker.
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    #: Only reported (``TrainingState.status``): queued or running, but its owner died or went silent.
    INTERRUPTED = "interrupted"


#: Every field of a training row, with its value before the project ever trained.
TRAINING_DEFAULTS: dict[str, Any] = {
    "state": TrainingStatus.IDLE,
    "changes": 0,
    "pending": False,
    "pending_event": None,
    "owner": None,
    "heartbeat": None,
    "queued_at": None,
    "started_at": None,
    "finished_at": None,
    "duration_s": None,
    "runs": 0,
    "failures": 0,
    "attempts": 0,
    "error": None,
    "metrics": None,
    "progress": None,
    "event": None,
    "base_version": None,
    "trained_by": None,
    "resumed": False,
}


def now() -> float:
    """Wall-clock seconds; one place so tests can reason about timestamps."""
    return time.time()


class StateStore(Protocol):
    """What the serving core, the training queue and model instances need from state."""

    def get(self, project: str, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` for ``project``, or ``default``."""

    def set(self, project: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` for ``project``."""

    def set_if_changed(self, project: str, key: str, value: Any) -> None:
        """``set`` unless the stored value already equals ``value`` (``/setup`` runs often)."""

    def has(self, project: str, key: str) -> bool:
        """Whether ``key`` is stored for ``project``."""

    def delete(self, project: str, key: str) -> None:
        """Forget ``key`` for ``project``."""

    def projects(self) -> list[str]:
        """Every project this backend has seen, sorted."""

    def rename_project(self, old: str, new: str) -> bool:
        """Move everything of ``old`` to ``new`` atomically, only when ``new`` has nothing yet and
        ``old`` has something; whether it moved (one of several racing processes wins)."""

    def training_row(self, project: str) -> dict[str, Any] | None:
        """The project's training row (every field of ``TRAINING_DEFAULTS``), or ``None``."""

    def training_rows(self) -> list[dict[str, Any]]:
        """Every training row, each with its ``project``."""

    def update_training(self, project: str, change: RowChange[Result]) -> Result:
        """Apply ``change`` to the project's row (defaults when new) atomically; return its result."""

    def ping(self) -> None:
        """Raise ``StateUnavailable`` when the state cannot be reached."""

    def describe(self) -> str:
        """Where the state lives, for logs and errors (never with credentials)."""


class KeyValueDefaults:
    """``set_if_changed`` written once for every implementation."""

    def set_if_changed(self, project: str, key: str, value: Any) -> None:
        """``set`` unless the stored value already equals ``value`` (a read is cheaper than a write)."""
        if not self.has(project, key) or self.get(project, key) != value:  # type: ignore[attr-defined]
            self.set(project, key, value)  # type: ignore[attr-defined]


def new_training_row(project: str) -> dict[str, Any]:
    """A project's training row before it ever trained."""
    return {"project": project, **TRAINING_DEFAULTS}
