"""Versioned model store: ``MODEL_DIR/<project>/<FINETUNED_MODEL_NAME>/<version>/`` with ``meta.json``.

A version is written into a staging folder beside the versions, flushed to disk, then renamed
into place in one ``os.rename``; ``meta.json`` is its last file. A folder counts as a version
only when it has a valid ``meta.json`` and is not a staging or trash folder, so a kill at any
moment leaves either the complete new version or none of it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

META_FILE = "meta.json"
_STAGING = ".staging-"
_TRASH = ".trash-"
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _fsync_tree(folder: Path) -> None:
    # Contents first, then each directory, so the rename below publishes data that is on disk.
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelStore:
    """The trained versions of one project's model."""

    def __init__(self, model_dir: Path, project: str, name: str) -> None:
        self.root = Path(model_dir) / project / name

    # -- reading ---------------------------------------------------------------------------
    def meta(self, version: str) -> dict[str, Any] | None:
        """The metadata of a complete version, or ``None`` when there is no such version."""
        if not _VERSION_NAME.match(version):
            return None
        try:
            meta = json.loads((self.root / version / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("version") == version else None

    def folder(self, version: str) -> Path | None:
        """The folder of a complete version, or ``None``."""
        return self.root / version if self.meta(version) is not None else None

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            meta = self.meta(entry.name) if entry.is_dir() else None
            if meta is not None:
                found.append((int(meta.get("run", 0)), float(meta.get("created_at", 0.0)), entry.name))
        return [name for _, _, name in sorted(found)]

    def latest(self) -> str | None:
        """The newest complete version, or ``None``."""
        versions = self.versions()
        return versions[-1] if versions else None

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh folder beside the versions to write a new one into; removed if not published."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self.root / f"{_STAGING}{uuid.uuid4().hex}"
        folder.mkdir()
        try:
            yield folder
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    def publish(self, staging: Path, meta: dict[str, Any], prefix: str = "") -> str:
        """Make ``staging`` the newest version, with ``meta`` plus its name, run number and time.

        ``prefix`` starts the version's name (instant versions are ``instant-v<run>-<time>``).
        """
        previous = [self.meta(name) or {} for name in self.versions()]
        run = 1 + max((int(item.get("run", 0)) for item in previous), default=0)
        created = time.time()
        version = f"{prefix}v{run}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(created))}"
        full_meta = {**meta, "version": version, "run": run, "created_at": created}
        (staging / META_FILE).write_text(json.dumps(full_meta, indent=2, sort_keys=True), encoding="utf-8")
        _fsync_tree(staging)
        os.rename(staging, self.root / version)
        _fsync_dir(self.root)
        logger.info("published model version %s in %s", version, self.root)
        return version

    def prune(self, keep: int, protect: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Delete all but the newest ``keep`` versions, never one in ``protect``; returns the deleted."""
        versions = self.versions()
        victims = [name for name in versions[: max(0, len(versions) - keep)] if name not in protect]
        for name in victims:
            # Renaming first makes the version disappear at once; the slow delete follows.
            trash = self.root / f"{_TRASH}{uuid.uuid4().hex}"
            os.rename(self.root / name, trash)
            shutil.rmtree(trash, ignore_errors=True)
        return victims

    def clean_leftovers(self) -> list[str]:
        """Remove staging and trash folders left by a killed training (call only while training
        is single-flight for this project, so no live staging folder is removed)."""
        if not self.root.is_dir():
            return []
        removed = []
        for entry in self.root.iterdir():
            if entry.name.startswith((_STAGING, _TRASH)):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        if removed:
            logger.info("removed %d leftover folder(s) from %s", len(removed), self.root)
        return removed


def legacy_version_metas(model_dir: Path) -> list[dict[str, Any]]:
    """The metadata of every version in a pre-namespace ``MODEL_DIR`` (``<project>/<name>/<version>``)."""
    metas = []
    for path in Path(model_dir).glob(f"*/*/*/{META_FILE}"):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            metas.append(meta)
    return metas
