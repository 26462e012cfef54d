"""Persistent per-project state in sqlite (WAL), shared correctly by every gunicorn worker.

Nothing is cached per process: each read goes to the database, which in WAL mode is cheap
(microseconds on a local disk) and always sees what another worker committed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from label_studio_ml.errors import BadRequest

_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    project TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project, key)
);
CREATE TABLE IF NOT EXISTS training (
    project TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'idle',
    changes INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    heartbeat REAL,
    started_at REAL,
    finished_at REAL,
    duration_s REAL,
    runs INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    metrics TEXT,
    progress TEXT,
    pending_event TEXT,
    event TEXT,
    queued_at REAL
);
"""
# Columns added after the first release, added in place to an older database.
_ADDED_COLUMNS = {"training": (("event", "TEXT"), ("queued_at", "REAL"))}


def normalize_project_id(raw: object) -> str:
    """Return the project id Label Studio means by ``raw``, safe to use in a path.

    ``/setup`` and ``/predict`` send ``"<id>.<created_at>"``; webhooks send the integer id.
    Both name the same project, so the part before the first dot is the key.
    """
    if isinstance(raw, bool) or raw is None:
        raise BadRequest("project id is missing")
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.split(".", 1)[0].strip()
    else:
        raise BadRequest(f"project id must be a string or an integer, got {type(raw).__name__}")
    if not _PROJECT_ID.match(text):
        raise BadRequest("project id must be 1-64 letters, digits, '_' or '-'")
    return text


class StateStore:
    """Key/value state per project plus the training table, in one sqlite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # executescript manages its own transaction; CREATE ... IF NOT EXISTS is idempotent.
        self._connection().executescript(_SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        with self.transaction() as conn:
            for table, columns in _ADDED_COLUMNS.items():
                present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns:
                    if name not in present:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN ourselves so that claims are atomic.
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database lock from its first statement."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run a read-only query."""
        return self._connection().execute(sql, params).fetchall()

    def get(self, project: str, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` for ``project``, or ``default``."""
        rows = self.read("SELECT value FROM kv WHERE project=? AND key=?", (project, key))
        return json.loads(rows[0]["value"]) if rows else default

    def set(self, project: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` for ``project``."""
        payload = json.dumps(value)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO kv(project, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(project, key) DO UPDATE SET value=excluded.value",
                (project, key, payload),
            )

    def set_if_changed(self, project: str, key: str, value: Any) -> None:
        """``set`` unless the stored value already equals ``value`` (a read is cheaper than a write)."""
        if not self.has(project, key) or self.get(project, key) != value:
            self.set(project, key, value)

    def has(self, project: str, key: str) -> bool:
        """Whether ``key`` is stored for ``project``."""
        return bool(self.read("SELECT 1 FROM kv WHERE project=? AND key=?", (project, key)))

    def delete(self, project: str, key: str) -> None:
        """Forget ``key`` for ``project``."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM kv WHERE project=? AND key=?", (project, key))

    def projects(self) -> list[str]:
        """Every project this backend has seen."""
        rows = self.read("SELECT DISTINCT project FROM kv UNION SELECT project FROM training")
        return sorted(row["project"] for row in rows)


def _enable_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL; two workers creating the file at once can briefly see it locked."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def now() -> float:
    """Wall-clock seconds; one place so tests can reason about timestamps."""
    return time.time()
