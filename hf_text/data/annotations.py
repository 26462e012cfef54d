"""Which annotation of a task is the truth to train on, and its results for one control tag."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _timestamp(annotation: dict[str, Any]) -> datetime:
    raw = annotation.get("updated_at") or annotation.get("created_at")
    if not isinstance(raw, str):
        return _EPOCH
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _id(annotation: dict[str, Any]) -> int:
    value = annotation.get("id")
    return value if isinstance(value, int) else -1


def chosen_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The task's ground-truth annotation if it has one, else its most recent non-cancelled one.

    Cancelled (skipped) annotations are never chosen, not even when marked ground truth.
    "Most recent" is by ``updated_at`` (then ``created_at``, then id), so a corrected
    annotation wins over the original.
    """
    usable = [
        item
        for item in task.get("annotations") or []
        if isinstance(item, dict) and not item.get("was_cancelled") and isinstance(item.get("result"), list)
    ]
    if not usable:
        return None
    ground_truth = [item for item in usable if item.get("ground_truth")]
    candidates = ground_truth or usable
    return max(candidates, key=lambda item: (_timestamp(item), _id(item)))


def annotation_time(annotation: dict[str, Any]) -> datetime:
    """When the annotation was last changed (the epoch when unknown)."""
    return _timestamp(annotation)


def results_for(
    annotation: dict[str, Any], from_name: str, to_name: str | None = None
) -> list[dict[str, Any]]:
    """The annotation's results made with control ``from_name`` (on object ``to_name`` if given)."""
    return [
        result
        for result in annotation.get("result") or []
        if isinstance(result, dict)
        and result.get("from_name") == from_name
        and (to_name is None or result.get("to_name") == to_name)
    ]
