"""The training table: change counters, single-flight leases and outcomes, per project.

A project's training is ``idle``, ``queued`` (claimed by a process, waiting for one of its training
slots), ``running`` or ``failed``. The claiming process owns the row and keeps its heartbeat fresh;
a row whose owner died (a ``kill -9``, a restart) or whose heartbeat went stale is *interrupted*
and is claimed again by whichever process notices first, so no requested training is forgotten.

Every operation is one ``BEGIN IMMEDIATE`` transaction, so two workers (or two machines sharing
``MODEL_DIR``) can never both believe they own a project's training.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from label_studio_ml.state import StateStore, now

HOST = socket.gethostname()
ACTIVE = ("queued", "running")
_incarnation: tuple[int, str] = (0, "")


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
    """The outcome of asking to train: ``started`` (queued for us) or coalesced into a live one."""

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

    def _live(self, row: dict[str, Any]) -> bool:
        fresh = row["heartbeat"] is not None and now() - row["heartbeat"] < self.lease_seconds
        return row["state"] in ACTIVE and fresh and not owner_is_dead(row["owner"])

    def add_changes(self, project: str, count: int, threshold: int) -> bool:
        """Count annotation changes; True (and reset) when ``threshold`` is reached."""
        with self.store.transaction() as conn:
            row = self._ensure(conn, project)
            changes = row["changes"] + count
            due = threshold > 0 and changes >= threshold
            conn.execute("UPDATE training SET changes=? WHERE project=?", (0 if due else changes, project))
        return due

    def claim(self, project: str, event: str) -> Claim:
        """Queue a training for this process, or fold the request into the live one.

        A queued run has not read its data yet, so it already covers the new request; a running
        one gets a follow-up run (one, however many requests arrive).
        """
        me = owner_id()
        with self.store.transaction() as conn:
            row = self._ensure(conn, project)
            if self._live(row):
                if row["state"] == "running":
                    conn.execute(
                        "UPDATE training SET pending=1, pending_event=? WHERE project=?", (event, project)
                    )
                return Claim(started=False, owner=row["owner"])
            conn.execute(
                "UPDATE training SET state='queued', owner=?, heartbeat=?, queued_at=?, event=?, pending=0,"
                " pending_event=NULL, progress=NULL, changes=0 WHERE project=?",
                (me, now(), now(), event, project),
            )
        return Claim(started=True, owner=me)

    def start(self, project: str, owner: str) -> str | None:
        """Move ``owner``'s queued run to ``running``; its event, or ``None`` if the run was taken over."""
        with self.store.transaction() as conn:
            row = self._ensure(conn, project)
            if row["owner"] != owner or row["state"] != "queued":
                return None
            conn.execute(
                "UPDATE training SET state='running', started_at=?, heartbeat=? WHERE project=?",
                (now(), now(), project),
            )
        return row["event"] or "START_TRAINING"

    def heartbeat(self, owner: str) -> None:
        """Keep every lease ``owner`` holds alive (one write for all of a process's projects)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE training SET heartbeat=? WHERE owner=?", (now(), owner))

    def progress(self, project: str, owner: str, fields: dict[str, Any]) -> None:
        """Record the progress of ``owner``'s running training."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE training SET heartbeat=?, progress=? WHERE project=? AND owner=?",
                (now(), json.dumps(fields), project, owner),
            )

    def finish(
        self, project: str, owner: str, *, error: str | None, metrics: dict[str, Any] | None
    ) -> str | None:
        """Record the outcome; when a follow-up was requested meanwhile, queue it for ``owner``
        and return its event."""
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
                follow_up = row["pending_event"] or "START_TRAINING"
                conn.execute(
                    "UPDATE training SET state='queued', queued_at=?, heartbeat=?, event=?, pending=0,"
                    " pending_event=NULL, progress=NULL WHERE project=?",
                    (finished, finished, follow_up, project),
                )
                return follow_up
            conn.execute(
                "UPDATE training SET state=?, owner=NULL WHERE project=?",
                ("failed" if failed else "idle", project),
            )
        return None

    def interrupted(self) -> list[tuple[str, str]]:
        """``(project, event)`` of each queued or running training whose owner died or went silent."""
        rows = self.store.read(
            f"SELECT * FROM training WHERE state IN ({','.join('?' * len(ACTIVE))})", ACTIVE
        )
        return [
            (row["project"], row["event"] or "START_TRAINING") for row in rows if not self._live(dict(row))
        ]

    def release(self, owner: str) -> list[str]:
        """Give up ``owner``'s leases (a clean shutdown), so another process resumes them at once."""
        with self.store.transaction() as conn:
            rows = conn.execute("SELECT project FROM training WHERE owner=?", (owner,)).fetchall()
            conn.execute(
                "UPDATE training SET state='queued', owner=NULL, heartbeat=NULL, progress=NULL"
                " WHERE owner=? AND state IN ('queued', 'running')",
                (owner,),
            )
        return [row["project"] for row in rows]

    def status(self, project: str) -> dict[str, Any]:
        """The project's training row as JSON-ready data (``state`` ``interrupted`` when its owner
        is gone: it is resumed by the next process that looks)."""
        rows = self.store.read("SELECT * FROM training WHERE project=?", (project,))
        if not rows:
            return {"state": "idle", "changes": 0, "runs": 0, "failures": 0}
        row = dict(rows[0])
        live = self._live(row)
        for key in ("metrics", "progress"):
            row[key] = json.loads(row[key]) if row[key] else None
        row["pending"] = bool(row["pending"])
        if row["state"] in ACTIVE and not live:
            row["state"] = "interrupted"
        for private in ("project", "owner", "pending_event"):
            row.pop(private, None)
        return row
