"""The training table: change counters, single-flight leases and outcomes, per project.

Every operation is one ``BEGIN IMMEDIATE`` transaction, so two workers (or two machines
sharing ``MODEL_DIR``) can never both believe they own a project's training.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from label_studio_ml.state import StateStore, now

HOST = socket.gethostname()


def owner_id() -> str:
    """Who holds a lease: host, process and thread."""
    return f"{HOST}:{os.getpid()}:{threading.get_ident()}"


def _owner_is_dead(owner: str | None) -> bool:
    """A lease held by a process of this host that no longer exists is stale at once."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    if host != HOST:
        return False
    pid = int(rest.split(":", 1)[0])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class Claim:
    """The outcome of asking to train: ``started`` or coalesced into the running one."""

    started: bool
    owner: str


class TrainingState:
    """Reads and writes the ``training`` table of the state store."""

    def __init__(self, store: StateStore, lease_seconds: int) -> None:
        self.store = store
        self.lease_seconds = lease_seconds

    def _ensure(self, conn: Any, project: str) -> dict[str, Any]:
        conn.execute("INSERT OR IGNORE INTO training(project) VALUES (?)", (project,))
        return dict(conn.execute("SELECT * FROM training WHERE project=?", (project,)).fetchone())

    def add_changes(self, project: str, count: int, threshold: int) -> bool:
        """Count annotation changes; True (and reset) when ``threshold`` is reached."""
        with self.store.transaction() as conn:
            row = self._ensure(conn, project)
            changes = row["changes"] + count
            due = threshold > 0 and changes >= threshold
            conn.execute("UPDATE training SET changes=? WHERE project=?", (0 if due else changes, project))
        return due

    def claim(self, project: str, event: str) -> Claim:
        """Take the project's lease, or mark a follow-up run if a live training holds it."""
        me = owner_id()
        with self.store.transaction() as conn:
            row = self._ensure(conn, project)
            fresh = row["heartbeat"] is not None and now() - row["heartbeat"] < self.lease_seconds
            if row["state"] == "running" and fresh and not _owner_is_dead(row["owner"]):
                conn.execute(
                    "UPDATE training SET pending=1, pending_event=? WHERE project=?", (event, project)
                )
                return Claim(started=False, owner=row["owner"])
            conn.execute(
                "UPDATE training SET state='running', owner=?, heartbeat=?, started_at=?, pending=0,"
                " pending_event=NULL, progress=NULL, changes=0 WHERE project=?",
                (me, now(), now(), project),
            )
        return Claim(started=True, owner=me)

    def heartbeat(self, project: str, owner: str, progress: dict[str, Any] | None = None) -> None:
        """Keep the lease alive (and record progress) while the owner trains."""
        with self.store.transaction() as conn:
            if progress is None:
                conn.execute(
                    "UPDATE training SET heartbeat=? WHERE project=? AND owner=?", (now(), project, owner)
                )
            else:
                conn.execute(
                    "UPDATE training SET heartbeat=?, progress=? WHERE project=? AND owner=?",
                    (now(), json.dumps(progress), project, owner),
                )

    def finish(
        self, project: str, owner: str, *, error: str | None, metrics: dict[str, Any] | None
    ) -> str | None:
        """Record the outcome; return the coalesced follow-up event if one must run now."""
        with self.store.transaction() as conn:
            row = self._ensure(conn, project)
            if row["owner"] != owner:
                return None  # our lease was taken over after going stale; the new owner reports
            finished = now()
            duration = finished - (row["started_at"] or finished)
            failed = error is not None
            conn.execute(
                "UPDATE training SET finished_at=?, duration_s=?, runs=runs+1, failures=failures+?,"
                " error=?, metrics=COALESCE(?, metrics) WHERE project=?",
                (finished, duration, int(failed), error, json.dumps(metrics) if metrics else None, project),
            )
            if row["pending"]:
                conn.execute(
                    "UPDATE training SET pending=0, pending_event=NULL, started_at=?, heartbeat=?,"
                    " progress=NULL WHERE project=?",
                    (finished, finished, project),
                )
                return row["pending_event"] or "START_TRAINING"
            conn.execute(
                "UPDATE training SET state=?, owner=NULL WHERE project=?",
                ("failed" if failed else "idle", project),
            )
        return None

    def status(self, project: str) -> dict[str, Any]:
        """The project's training row as JSON-ready data."""
        rows = self.store.read("SELECT * FROM training WHERE project=?", (project,))
        if not rows:
            return {"state": "idle", "changes": 0, "runs": 0, "failures": 0}
        row = dict(rows[0])
        for key in ("metrics", "progress"):
            row[key] = json.loads(row[key]) if row[key] else None
        row["pending"] = bool(row["pending"])
        stale = row["state"] == "running" and (
            row["heartbeat"] is None or now() - row["heartbeat"] >= self.lease_seconds
        )
        if stale:
            row["state"] = "stale"
        row.pop("project", None)
        row.pop("owner", None)
        return row
