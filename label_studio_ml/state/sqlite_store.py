"""Per-project state in SQLite (WAL), shared correctly by every gunicorn worker of one machine.

Nothing is cached per process: each read goes to the database, which in WAL mode is cheap
(microseconds on a local disk) and always sees what another worker committed. Training rows
change in ``BEGIN IMMEDIATE`` transactions, which hold the database lock from their first read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from label_studio_ml.state.contract import (
    TRAINING_DEFAULTS,
    KeyValueDefaults,
    Result,
    RowChange,
    new_training_row,
)
from label_studio_ml.state.files import create_private_file, tighten

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
    pending_event TEXT
);
"""
# Columns added after the first release, added in place to an older database.
_ADDED_COLUMNS = (
    ("event", "TEXT"),
    ("queued_at", "REAL"),
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("base_version", "TEXT"),
    ("trained_by", "TEXT"),
    ("resumed", "INTEGER NOT NULL DEFAULT 0"),
)
_JSON_COLUMNS = ("metrics", "progress")
_BOOLEAN_COLUMNS = ("pending", "resumed")


def _to_row(record: sqlite3.Row) -> dict[str, Any]:
    row = {**TRAINING_DEFAULTS, **dict(record)}
    for key in _JSON_COLUMNS:
        row[key] = json.loads(row[key]) if row[key] else None
    for key in _BOOLEAN_COLUMNS:
        row[key] = bool(row[key])
    return row


def _to_columns(fields: dict[str, Any]) -> dict[str, Any]:
    columns = {}
    for key, value in fields.items():
        if key not in TRAINING_DEFAULTS:
            raise KeyError(f"no training field {key!r}")
        if key in _JSON_COLUMNS:
            value = json.dumps(value) if value is not None else None
        elif key in _BOOLEAN_COLUMNS:
            value = int(bool(value))
        columns[key] = value
    return columns


class SqliteStateStore(KeyValueDefaults):
    """Key/value state per project plus the training table, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # It holds Label Studio tokens: 0600 from its creation; SQLite gives its -wal and -shm files
        # the database's mode, and ones an earlier release left readable are tightened here too.
        create_private_file(self.path)
        for companion in ("-wal", "-shm"):
            tighten(self.path.with_name(self.path.name + companion))
        self._local = threading.local()
        # executescript manages its own transaction; CREATE ... IF NOT EXISTS is idempotent.
        self._connection().executescript(_SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        with self.transaction() as conn:
            present = {row["name"] for row in conn.execute("PRAGMA table_info(training)")}
            for name, kind in _ADDED_COLUMNS:
                if name not in present:
                    conn.execute(f"ALTER TABLE training ADD COLUMN {name} {kind}")

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

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, params).fetchall()

    # -- key/value ---------------------------------------------------------------------------
    def get(self, project: str, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` for ``project``, or ``default``."""
        rows = self._read("SELECT value FROM kv WHERE project=? AND key=?", (project, key))
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

    def has(self, project: str, key: str) -> bool:
        """Whether ``key`` is stored for ``project``."""
        return bool(self._read("SELECT 1 FROM kv WHERE project=? AND key=?", (project, key)))

    def delete(self, project: str, key: str) -> None:
        """Forget ``key`` for ``project``."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM kv WHERE project=? AND key=?", (project, key))

    def projects(self) -> list[str]:
        """Every project this backend has seen."""
        rows = self._read("SELECT DISTINCT project FROM kv UNION SELECT project FROM training")
        return sorted(row["project"] for row in rows)

    def rename_project(self, old: str, new: str) -> bool:
        """Move ``old``'s values and training row to ``new`` in one transaction (see ``StateStore``)."""
        exists = "SELECT 1 FROM kv WHERE project=? UNION ALL SELECT 1 FROM training WHERE project=? LIMIT 1"
        with self.transaction() as conn:
            if conn.execute(exists, (new, new)).fetchone() or not conn.execute(exists, (old, old)).fetchone():
                return False
            conn.execute("UPDATE kv SET project=? WHERE project=?", (new, old))
            conn.execute("UPDATE training SET project=? WHERE project=?", (new, old))
        return True

    # -- training rows -----------------------------------------------------------------------
    def training_row(self, project: str) -> dict[str, Any] | None:
        """The project's training row, or ``None`` before it was ever asked to train."""
        rows = self._read("SELECT * FROM training WHERE project=?", (project,))
        return _to_row(rows[0]) if rows else None

    def training_rows(self) -> list[dict[str, Any]]:
        """Every training row."""
        return [_to_row(record) for record in self._read("SELECT * FROM training")]

    def update_training(self, project: str, change: RowChange[Result]) -> Result:
        """Apply ``change`` to the row inside one ``BEGIN IMMEDIATE`` transaction."""
        with self.transaction() as conn:
            record = conn.execute("SELECT * FROM training WHERE project=?", (project,)).fetchone()
            row = _to_row(record) if record else new_training_row(project)
            fields, result = change(dict(row))
            if fields:
                columns = _to_columns(fields)
                if record is None:
                    conn.execute("INSERT INTO training(project) VALUES (?)", (project,))
                assignments = ", ".join(f"{name}=?" for name in columns)
                conn.execute(
                    f"UPDATE training SET {assignments} WHERE project=?", (*columns.values(), project)
                )
        return result

    # -- health ------------------------------------------------------------------------------
    def ping(self) -> None:
        """A local file is always there (a broken disk shows up as errors elsewhere)."""

    def describe(self) -> str:
        """The database file."""
        return f"sqlite:{self.path}"


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
