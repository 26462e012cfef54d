"""Where instant learning keeps its state: one record per labeled task, and published instant versions.

Both live in the model store (``MODEL_STORE``, shared by every replica in distributed mode), never
in one process's memory::

    <project>/instant_records/<control>/<task id>.json   what one labeled task teaches (atomic files)
    <project>/instant_texts/<control>/<task id>.json     a predicted task's embedding (``ProjectTexts``)
    <project>/instant_versions/instant-v<run>-<time>/     a published instant layer (``ModelStore``)

One file per task makes concurrent updates commute: two replicas learning from two annotations at
once each write their own file, and whichever refits last reads both. A refit that finds the
records changed while it ran refits again (``InstantRecords.fingerprint``), so the last published
version always holds every annotation. Reading is cached per process by file size and time, so a
refit reads only the files that changed.

Both per-task stores are bounded per project, across controls (``label_studio_ml.state.disk_bounds``), and
refuse rather than evict when full. Records are labels: evicting one would unlearn it, so a record
over 1 MiB is refused and beyond ``RECORD_BOUNDS`` new tasks are not learned at once (logged; the
fine-tune still reads every label from Label Studio). Texts keep the first ``MAX_TEXTS`` per control
and ``MAX_PROJECT_TEXTS`` in all: ``bert_classifier.light.abstain`` decides over the oldest N texts, which
stay the same N only if the oldest are never evicted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any

from hf_text.model_store import ModelStore
from label_studio_ml.caching import BoundedCache
from label_studio_ml.state.disk_bounds import Bounds, Ledger
from label_studio_ml.state.files import safe_file_name, write_atomically

logger = logging.getLogger(__name__)

RECORDS = "instant_records"
TEXTS = "instant_texts"
#: Project texts kept per control: enough to find the labels' clusters, cheap to refine over.
MAX_TEXTS = 1000
#: Project texts kept in all, across controls (an embedding is 2-6 KiB, so 3000 are 6-18 MiB).
MAX_PROJECT_TEXTS = 3000
#: Their bytes in all, and in one file (a 4096-dimension embedding is 22 KiB as base64).
MAX_PROJECT_TEXT_BYTES = 128 * 1024 * 1024
MAX_TEXT_FILE_BYTES = 64 * 1024
#: Records kept in all, across controls: generous (labels), yet a bound on disk and refit time.
RECORD_BOUNDS = Bounds(files=100_000, bytes=1024 * 1024 * 1024, file_bytes=1024 * 1024, evicts=False)
VERSIONS = "instant_versions"
VERSION_PREFIX = "instant-"
SYNCED_MARKER = ".synced.json"
RESYNC_MARKER = ".resync_after.json"


def _control_folder(from_name: str) -> str:
    digest = hashlib.sha256(from_name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", from_name)[:40]
    return f"{safe}-{digest}"


#: Parsed record files of this process by path, reused while a file's (size, time) stamp is
#: unchanged; bounded by the record files themselves (``RECORD_BOUNDS``), each forgotten when gone.
_READS: BoundedCache[str, Any] = BoundedCache(math.inf)


def _read(path: str, stamp: tuple[int, int]) -> Any:
    try:
        return _READS.get_or_compute(path, lambda: _parse(path), stamp)
    except (OSError, ValueError):
        return None  # deleted meanwhile, or a foreign file


def _parse(path: str) -> Any:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _forget_missing(folder: Path, present: set[str]) -> None:
    prefix = str(folder) + os.sep
    _READS.forget_where(lambda key: key.startswith(prefix) and key not in present)


class InstantRecords:
    """The records of one project's control: ``{"task": id, "annotation": id, ...}`` per labeled task."""

    ROOT = RECORDS

    def __init__(self, data_dir: Path, project: str, from_name: str) -> None:
        self.project_root = Path(data_dir) / project / self.ROOT
        self.folder = self.project_root / _control_folder(from_name)
        self.ledger = Ledger(self.project_root, self.bounds(), depth=1)

    def bounds(self) -> Bounds:
        """What the project may keep in this store."""
        return RECORD_BOUNDS

    def put(self, task_id: Any, record: dict[str, Any]) -> bool:
        """Store (or replace) the record of ``task_id``; whether the bounds allowed it. A refused
        replacement removes the old record: it no longer says what the task's annotation does."""
        path = self.folder / safe_file_name(task_id)
        with self.ledger.update() as usage:
            if self.ledger.write(usage, path, json.dumps({**record, "task": task_id})):
                return True
            self.ledger.remove(usage, path)
            return False

    def remove(self, task_id: Any) -> bool:
        """Forget ``task_id``'s record; whether there was one."""
        with self.ledger.update() as usage:
            return self.ledger.remove(usage, self.folder / safe_file_name(task_id))

    def _files(self) -> list[tuple[str, tuple[int, int]]]:
        """Each record file's path and (size, time), in file-name order (plain strings: a refit lists
        the folder three times, and ``Path`` objects cost more than the listing itself)."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return []
        files = []
        for entry in sorted(entries, key=lambda item: item.name):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                try:
                    info = entry.stat()
                except FileNotFoundError:
                    continue
                files.append((entry.path, (info.st_size, info.st_mtime_ns)))
        return files

    def all(self) -> list[dict[str, Any]]:
        """Every record, in file-name order."""
        files = self._files()
        _forget_missing(self.folder, {path for path, _ in files})
        return [record for path, stamp in files if (record := _read(path, stamp)) is not None]

    def fingerprint(self) -> str:
        """Changes whenever a record is added, replaced or removed."""
        digest = hashlib.sha256()
        for path, stamp in self._files():
            digest.update(f"{os.path.basename(path)}:{stamp[0]}:{stamp[1]};".encode())
        return digest.hexdigest()[:16]

    def task_ids_with_annotations(self, annotation_ids: set[Any]) -> list[Any]:
        """The tasks whose record came from one of ``annotation_ids``."""
        return [record["task"] for record in self.all() if record.get("annotation") in annotation_ids]

    # -- whether the records were ever rebuilt from Label Studio ------------------------------
    def synced(self) -> bool:
        """Whether the project's records were filled from Label Studio once (see ``mark_synced``)."""
        return (self.project_root / SYNCED_MARKER).is_file()

    def mark_synced(self, tasks: int) -> None:
        """Remember that every labeled task of the project has a record now."""
        write_atomically(self.project_root / SYNCED_MARKER, json.dumps({"labeled_tasks": tasks}))

    def resync_allowed(self) -> bool:
        """Whether rebuilding from Label Studio may be tried now (see ``postpone_resync``)."""
        try:
            after = float(json.loads((self.project_root / RESYNC_MARKER).read_text())["after"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return True
        return time.time() >= after

    def postpone_resync(self, seconds: float) -> None:
        """Label Studio could not be read: no process tries again for ``seconds`` (the marker is shared
        by every worker and replica, like the records)."""
        write_atomically(self.project_root / RESYNC_MARKER, json.dumps({"after": time.time() + seconds}))


class ProjectTexts(InstantRecords):
    """Embeddings of the project's tasks as Label Studio asked for their predictions, the first
    ``MAX_TEXTS`` per control and ``MAX_PROJECT_TEXTS`` in all: what ``bert_classifier.light.transductive``
    refines zero-shot on. Never evicted (see the module's docstring)."""

    ROOT = TEXTS

    def bounds(self) -> Bounds:
        """What the project may keep in this store."""
        return Bounds(MAX_PROJECT_TEXTS, MAX_PROJECT_TEXT_BYTES, MAX_TEXT_FILE_BYTES, evicts=False)

    def missing(self, task_ids: list[Any]) -> list[int]:
        """Positions in ``task_ids`` of the tasks to keep: not kept yet, while there is room (a
        task predicted again, the usual case, costs one ``stat`` and no listing of the folder)."""
        new = [
            index
            for index, task_id in enumerate(task_ids)
            if task_id is not None and not os.path.exists(self.folder / safe_file_name(task_id))
        ]
        return new[: self._room()] if new else []

    def _room(self) -> int:
        """How many more texts this control may keep (read from the ledger: no listing)."""
        usage = self.ledger.usage()
        mine = usage.groups.get(self.folder.name, 0)
        return max(min(MAX_TEXTS - mine, self.ledger.bounds.files - usage.files), 0)

    def add(self, task_id: Any, embedding: str) -> bool:
        """Keep one task's (encoded) embedding; whether there was room."""
        return self.add_many([(task_id, embedding)]) == 1

    def add_many(self, items: list[tuple[Any, str]]) -> int:
        """Keep each ``(task id, encoded embedding)`` while there is room (one lock for all); how
        many were kept. A kept text is never rewritten: its time orders the oldest first."""
        kept = 0
        with self.ledger.update() as usage:
            for task_id, embedding in items:
                path = self.folder / safe_file_name(task_id)
                text = json.dumps({"embedding": embedding, "task": task_id})
                if not path.exists() and self.ledger.write(usage, path, text, group_limit=MAX_TEXTS):
                    kept += 1
        return kept


def version_store(data_dir: Path, project: str) -> ModelStore:
    """The project's published instant versions."""
    return ModelStore(data_dir, project, VERSIONS)


def publish_version(
    store: ModelStore,
    files: dict[str, bytes],
    meta: dict[str, Any],
    keep: int,
    protect: set[str] | None = None,
) -> str:
    """Publish ``files`` and ``meta`` as a new ``instant-v<run>-<time>`` version; keep the newest ``keep``
    and those in ``protect`` (the version Label Studio sees, ``hf_text.instant.visible_version``).

    Two replicas publishing at once may pick the same run number: the loser's rename fails and it
    tries again with the next one.
    """
    for attempt in range(5):
        with store.staging() as staging:
            for name, content in files.items():
                (staging / name).write_bytes(content)
            try:
                version = store.publish(staging, meta, prefix=VERSION_PREFIX)
                break
            except OSError:
                if attempt == 4:
                    raise
    store.prune(keep, protect={version, *(protect or set())})
    return version


def is_instant_version(version: str | None) -> bool:
    """Whether ``version`` names an instant version."""
    return bool(version) and str(version).startswith(VERSION_PREFIX)
