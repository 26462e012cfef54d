"""Training rows: change counters, single-flight leases and outcomes, per project.

A project's training (``TrainingStatus``) is ``idle``, ``queued`` (claimed by a process, waiting
for a training slot or a worker), ``running`` or ``failed``. The claiming process owns the row and
keeps its heartbeat fresh; a row whose owner died (a ``kill -9``, a restart) or whose heartbeat
went stale is *interrupted* and is claimed again by whichever process notices first, so no
requested training is forgotten (and none is retried forever: after ``MAX_ATTEMPTS`` interruptions it fails).

Every operation is one atomic ``update_training`` on the state store (a SQLite transaction or a
Redis ``WATCH``/``MULTI``), so two processes, or two machines, never both own a project's training.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from label_studio_ml.state.contract import StateStore, TrainingStatus, now

HOST = socket.gethostname()
ACTIVE = (TrainingStatus.QUEUED, TrainingStatus.RUNNING)
#: The event of a run no event named (Label Studio's "Start Training" button sends it too).
START_TRAINING = "START_TRAINING"
#: A training interrupted this many times in a row (say, it kills its process) is given up.
MAX_ATTEMPTS = 3
_incarnation: tuple[int, str] = (0, "")


def run_event(event: str | None) -> str:
    """The event a run answers: the one recorded, else ``START_TRAINING``."""
    return event or START_TRAINING


def run_data(project: str, event: str) -> dict[str, Any]:
    """The webhook body a run that no webhook brought trains with: a follow-up or a resumed run."""
    return {"action": event, "project": {"id": project}}


def owner_id() -> str:
    """Who holds a lease: this host, this process and this process's incarnation.

    The incarnation tells a restarted process apart from a dead one that had the same pid, which
    is common in containers, where every start numbers its processes from 1.
    """
    global _incarnation
    pid = os.getpid()
    if _incarnation[0] != pid:  # first call, or a fork (gunicorn workers) since the last one
        _incarnation = (pid, uuid.uuid4().hex[:12])
    return f"{HOST}:{pid}:{_incarnation[1]}"


def process_of(owner: str) -> str:
    """``host:pid`` of an owner id: which process it is, as ``/metrics`` names processes (the
    incarnation only matters to leases)."""
    return owner.rsplit(":", 1)[0]


def owner_is_dead(owner: str | None) -> bool:
    """Whether ``owner`` certainly no longer runs: none, an earlier incarnation of this process,
    or a process of this host that is gone. Owners on other hosts are judged by their heartbeat."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    if host != HOST:
        return False
    pid_text, _, incarnation = rest.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid == os.getpid():
        return owner != owner_id() and incarnation != ""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class Claim:
    """The outcome of asking to train: ``started`` (queued for us) or folded into a live one."""

    started: bool
    owner: str


@dataclass(frozen=True)
class Run:
    """A queued run its owner may start: the event it answers, the version it started from, and
    whether (and how often) it was interrupted before."""

    event: str
    base_version: str | None
    attempts: int
    resumed: bool


class TrainingState:
    """The training rules, over any ``StateStore``."""

    def __init__(self, store: StateStore, lease_seconds: int) -> None:
        self.store = store
        self.lease_seconds = lease_seconds

    def live(self, row: dict[str, Any]) -> bool:
        """Whether the row's queued or running training has an owner that is still there."""
        fresh = row["heartbeat"] is not None and now() - row["heartbeat"] < self.lease_seconds
        return row["state"] in ACTIVE and fresh and not owner_is_dead(row["owner"])

    def add_changes(self, project: str, count: int, threshold: int) -> bool:
        """Count annotation changes; True (and reset) when ``threshold`` is reached."""

        def change(row: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            changes = row["changes"] + count
            due = threshold > 0 and changes >= threshold
            return {"changes": 0 if due else changes}, due

        return self.store.update_training(project, change)

    def claim(self, project: str, event: str, base_version: str | None = None, resume: bool = False) -> Claim:
        """Queue a training for this process, or fold the request into the live one.

        A queued run has not read its data yet, so it already covers the new request; a running
        one gets one follow-up run, however many requests arrive. ``resume`` claims an interrupted
        run again (its attempts count on); ``base_version`` is the version the run starts from.
        """
        me = owner_id()

        def change(row: dict[str, Any]) -> tuple[dict[str, Any] | None, Claim]:
            if self.live(row):
                if row["state"] == TrainingStatus.RUNNING:
                    return {"pending": True, "pending_event": event}, Claim(False, row["owner"])
                return None, Claim(False, row["owner"])
            if resume and row["state"] not in ACTIVE:
                return None, Claim(False, row["owner"] or "")  # resumed meanwhile by someone else
            fields = {
                "state": TrainingStatus.QUEUED, "owner": me, "heartbeat": now(), "queued_at": now(),
                "event": event,
                "pending": False, "pending_event": None, "progress": None, "changes": 0,
                # A run released by a clean shutdown (no owner) was not interrupted by its own doing.
                "attempts": row["attempts"] + int(row["owner"] is not None) if resume else 0,
                "base_version": row["base_version"] if resume else base_version, "resumed": resume,
            }  # fmt: skip
            return fields, Claim(True, me)

        return self.store.update_training(project, change)

    def start(self, project: str, claimed_by: str, runner: str | None = None) -> Run | None:
        """Move the run ``claimed_by`` queued to ``running`` in ``runner`` (by default the claimer;
        a training worker takes the lease over); ``None`` if the run was taken over meanwhile."""

        def change(row: dict[str, Any]) -> tuple[dict[str, Any] | None, Run | None]:
            if row["owner"] != claimed_by or row["state"] != TrainingStatus.QUEUED:
                return None, None
            run = Run(run_event(row["event"]), row["base_version"], row["attempts"], row["resumed"])
            owner = runner or claimed_by
            fields = {
                "state": TrainingStatus.RUNNING, "owner": owner, "started_at": now(), "heartbeat": now(),
            }  # fmt: skip
            return fields, run

        return self.store.update_training(project, change)

    def heartbeat(self, project: str, owner: str, progress: dict[str, Any] | None = None) -> None:
        """Keep ``owner``'s lease on ``project`` alive (and record its progress)."""

        def change(row: dict[str, Any]) -> tuple[dict[str, Any] | None, None]:
            if row["owner"] != owner or row["state"] not in ACTIVE:
                return None, None
            fields: dict[str, Any] = {"heartbeat": now()}
            if progress is not None:
                fields["progress"] = progress
            return fields, None

        self.store.update_training(project, change)

    def finish(
        self,
        project: str,
        owner: str,
        *,
        error: str | None,
        metrics: dict[str, Any] | None,
        version: str | None = None,
    ) -> str | None:
        """Record the outcome; when a follow-up was requested meanwhile, queue it for ``owner``
        (starting from ``version``) and return its event."""

        def change(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
            if row["owner"] != owner:
                return None, None  # our lease was taken over after going stale; the new owner reports
            finished = now()
            fields: dict[str, Any] = {
                "finished_at": finished, "duration_s": finished - (row["started_at"] or finished),
                "runs": row["runs"] + 1, "failures": row["failures"] + int(error is not None),
                "trained_by": process_of(owner),
                "error": error, "metrics": metrics if metrics else row["metrics"], "progress": None,
            }  # fmt: skip
            if row["pending"]:
                follow_up = run_event(row["pending_event"])
                fields.update(
                    state=TrainingStatus.QUEUED, queued_at=finished, heartbeat=finished, event=follow_up,
                    pending=False, pending_event=None, attempts=0, base_version=version, resumed=False,
                )  # fmt: skip
                return fields, follow_up
            outcome = TrainingStatus.FAILED if error is not None else TrainingStatus.IDLE
            fields.update(state=outcome, owner=None)
            return fields, None

        return self.store.update_training(project, change)

    def give_up(self, project: str, owner: str, reason: str) -> None:
        """Fail ``owner``'s run without training (interrupted too often)."""
        self.finish(project, owner, error=reason, metrics=None)

    def interrupted(self) -> list[tuple[str, str]]:
        """``(project, event)`` of each queued or running training whose owner died or went silent."""
        return [
            (row["project"], run_event(row["event"]))
            for row in self.store.training_rows()
            if row["state"] in ACTIVE and not self.live(row)
        ]

    def owned_by(self, owner: str) -> list[str]:
        """Projects whose queued or running training ``owner`` holds."""
        return [
            row["project"]
            for row in self.store.training_rows()
            if row["owner"] == owner and row["state"] in ACTIVE
        ]

    def release(self, owner: str) -> list[str]:
        """Give up ``owner``'s leases (a clean shutdown), so another process resumes them at once."""
        released = []
        for project in self.owned_by(owner):

            def change(row: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
                if row["owner"] != owner or row["state"] not in ACTIVE:
                    return None, False
                fields = {"state": TrainingStatus.QUEUED, "owner": None, "heartbeat": None, "progress": None}
                return fields, True

            if self.store.update_training(project, change):
                released.append(project)
        return released

    def status(self, project: str) -> dict[str, Any]:
        """The project's training row as JSON-ready data (``state`` ``interrupted`` when its owner
        is gone: it is resumed by the next process that looks)."""
        row = self.store.training_row(project)
        if row is None:
            return {"state": TrainingStatus.IDLE, "changes": 0, "runs": 0, "failures": 0}
        if row["state"] in ACTIVE and not self.live(row):
            row["state"] = TrainingStatus.INTERRUPTED
        if row["state"] == TrainingStatus.RUNNING:
            row["running_in"] = process_of(str(row["owner"]))  # to tell workers apart
        for private in ("project", "owner", "pending_event", "base_version", "resumed"):
            row.pop(private, None)
        return row
