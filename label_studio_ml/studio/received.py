"""The annotations webhooks brought: a project's labeled tasks as far as the backend has seen them.

Label Studio may refuse the token ``/setup`` sends (1.23.2 sends the creator's legacy token, and
legacy tokens are off by default), so reading labeled tasks back can fail on a default install. Yet
every ``ANNOTATION_CREATED``/``ANNOTATION_UPDATED`` webhook carries the task (with its data) and the
annotation: the backend keeps them, one file per task, and ``ANNOTATIONS_DELETED`` (ids only)
removes them again::

    <data dir>/<project>/received/<task id>.json           {"id", "data", "annotations": [...]}
    <data dir>/<project>/received/by_annotation/<id>       the task id an annotation belongs to
    <data dir>/<project>/received/.summary.json            bulk creations no webhook described

Training reads Label Studio when it can (the truth: annotations made before the backend was
connected, imports, task data by URL) and these files when it may not (``LabelStudioMLBase``).
They live in the model store, shared by every worker and replica like the versions.

Bounded per project (``BOUNDS``, ``label_studio_ml.state.disk_bounds``): a task file over 1 MiB (its data
and annotations) is refused, and beyond 50,000 tasks or 512 MiB the least recently annotated tasks
are evicted: these files only stand in for Label Studio, which keeps every annotation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from label_studio_ml.state.disk_bounds import Bounds, Ledger, Usage
from label_studio_ml.state.files import folder_lock, safe_file_name, write_atomically

FOLDER = "received"
BY_ANNOTATION = "by_annotation"
SUMMARY = ".summary.json"
#: What one project keeps: 50,000 tasks, 512 MiB, 1 MiB per task (text tasks are a few KiB).
BOUNDS = Bounds(files=50_000, bytes=512 * 1024 * 1024, file_bytes=1024 * 1024, evicts=True)
#: What is kept of an annotation: enough to choose one (``chosen_annotation``) and train on it.
_ANNOTATION_FIELDS = (
    "id", "result", "was_cancelled", "ground_truth", "created_at", "updated_at", "completed_by", "lead_time",
)  # fmt: skip


class ReceivedAnnotations:
    """The labeled tasks of one project as its annotation webhooks described them."""

    def __init__(self, data_dir: Path, project: str) -> None:
        self.folder = Path(data_dir) / project / FOLDER
        self.ledger = Ledger(self.folder, BOUNDS)

    # -- webhooks ----------------------------------------------------------------------------
    def apply(self, action: str, data: dict[str, Any]) -> None:
        """Keep what an annotation webhook says (other actions change nothing)."""
        if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
            self._keep(data.get("task"), data.get("annotation"))
        elif action == "ANNOTATIONS_DELETED":
            items = data.get("annotations")
            items = items if isinstance(items, list) else []
            self._forget({item.get("id") for item in items if isinstance(item, dict)} - {None})
        elif action == "ANNOTATIONS_CREATED":
            # The Data Manager's bulk creation lists annotations without their tasks' data.
            items = data.get("annotations", data.get("annotation"))
            self._count_unseen(len(items) if isinstance(items, list) else 1)

    def _keep(self, task: Any, annotation: Any) -> None:
        if not isinstance(task, dict) or not isinstance(annotation, dict) or task.get("id") is None:
            return
        kept = {key: annotation[key] for key in _ANNOTATION_FIELDS if key in annotation}
        path = self.folder / safe_file_name(task["id"])
        with folder_lock(self.folder), self.ledger.update(locked=False) as usage:
            # Under the lock: two annotators of one task, neither annotation is lost.
            stored = _read(path) or {}
            others = [a for a in stored.get("annotations", []) if a.get("id") != kept.get("id")]
            entry = {"id": task["id"], "data": task.get("data"), "annotations": [*others, kept]}
            if not self.ledger.write(usage, path, json.dumps(entry)):
                return  # too large to keep: training reads this task from Label Studio only
            if kept.get("id") is not None:  # a deletion names the annotation only: find its task at once
                write_atomically(self._owner_file(kept["id"]), json.dumps(task["id"]))
            if usage.over(BOUNDS):
                self.ledger.evict(usage, keep=path, before=self._forget_owners)

    def _forget_owners(self, path: Path) -> None:
        """Remove the annotation lookups of an evicted task (those still pointing to it)."""
        stored = _read(path) or {}
        for annotation in stored.get("annotations", []):
            owner = self._owner_file(annotation.get("id"))
            try:
                if json.loads(owner.read_text(encoding="utf-8")) == stored.get("id"):
                    owner.unlink()
            except (OSError, ValueError):
                continue

    def _forget(self, annotation_ids: set[Any]) -> None:
        """Drop the annotations (a webhook has 1 s: each costs a lookup, not a scan of the project)."""
        with folder_lock(self.folder), self.ledger.update(locked=False) as usage:
            for annotation_id in annotation_ids:
                owner = self._owner_file(annotation_id)
                try:
                    task_id = json.loads(owner.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # an annotation this backend never received
                path = self.folder / safe_file_name(task_id)
                stored = _read(path) or {}
                left = [a for a in stored.get("annotations", []) if a.get("id") != annotation_id]
                self._rewrite(usage, path, {**stored, "annotations": left})
                owner.unlink(missing_ok=True)

    def _rewrite(self, usage: Usage, path: Path, stored: dict[str, Any]) -> None:
        """Keep what is left of a task's annotations (a smaller file), or drop the task."""
        if stored["annotations"]:
            self.ledger.write(usage, path, json.dumps(stored))
        else:
            self.ledger.remove(usage, path)

    def _owner_file(self, annotation_id: Any) -> Path:
        return self.folder / BY_ANNOTATION / safe_file_name(annotation_id)

    def _count_unseen(self, count: int) -> None:
        with folder_lock(self.folder):
            summary = self.summary()
            summary["bulk_created_unseen"] = summary.get("bulk_created_unseen", 0) + count
            write_atomically(self.folder / SUMMARY, json.dumps(summary))

    # -- training ----------------------------------------------------------------------------
    def tasks(self) -> list[dict[str, Any]]:
        """Every task with at least one kept annotation, as Label Studio's task objects look."""
        found = (_read(path) for path in self._paths())
        return [task for task in found if task and task.get("annotations")]

    def summary(self) -> dict[str, int]:
        """Counts of what no webhook could carry (``bulk_created_unseen``)."""
        return _read(self.folder / SUMMARY) or {}

    def _paths(self) -> list[Path]:
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        return [self.folder / name for name in names if name.endswith(".json") and not name.startswith(".")]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as file:
            value = json.load(file)
    except (OSError, ValueError):
        return None  # not written yet, deleted meanwhile, or a foreign file
    return value if isinstance(value, dict) else None
