"""Moving a ``MODEL_DIR`` written before per-model-class namespaces into its namespace folder.

Earlier releases kept ``state.sqlite3`` and one folder per project directly in ``MODEL_DIR``. Now
each model class has ``MODEL_DIR/<namespace>/``. On the first start after an upgrade, the model
class that owns the old files (``owns_legacy_data``, by default any class) moves them there, so
no trained version, counter or connection is lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

LEGACY_STATE = "state.sqlite3"


@contextlib.contextmanager
def _directory_lock(folder: Path) -> Iterator[None]:
    # Every gunicorn worker starts the same check at once; one moves, the others then see it done.
    with open(folder / ".layout.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _legacy_projects(database: Path) -> list[str]:
    conn = sqlite3.connect(database, timeout=30.0)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file before it moves
        rows = conn.execute("SELECT DISTINCT project FROM kv UNION SELECT project FROM training").fetchall()
    except sqlite3.DatabaseError:
        rows = []
    finally:
        conn.close()
    return [str(row[0]) for row in rows]


def adopt_legacy_layout(model_dir: Path, namespace: str, owns: Callable[[Path], bool]) -> bool:
    """Move a pre-namespace ``MODEL_DIR`` into ``MODEL_DIR/namespace`` when ``owns(model_dir)`` (the
    model class's ``owns_legacy_data``); True when something moved."""
    legacy = model_dir / LEGACY_STATE
    if not legacy.is_file() or not owns(model_dir):
        return False
    target = model_dir / namespace
    with _directory_lock(model_dir):
        if not legacy.is_file() or (target / LEGACY_STATE).exists():
            return False
        target.mkdir(parents=True, exist_ok=True)
        projects = _legacy_projects(legacy)
        for suffix in ("", "-wal", "-shm"):
            source = model_dir / f"{LEGACY_STATE}{suffix}"
            if source.exists():
                os.replace(source, target / source.name)
        moved = 0
        for project in projects:
            folder = model_dir / project
            if folder.is_dir() and not (target / project).exists():
                os.replace(folder, target / project)
                moved += 1
    logger.info("moved the state and %d project folder(s) of %s into %s", moved, model_dir, target)
    return True
