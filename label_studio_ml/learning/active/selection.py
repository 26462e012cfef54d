"""Which tasks of a scored pool get a prediction for Label Studio's queue, and in what order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scored:
    """One unlabeled task with the served version's prediction of it (``score``: its confidence)."""

    task: dict[str, Any]
    result: list[dict[str, Any]]
    score: float

    @property
    def task_id(self) -> int:
        """Label Studio's task id."""
        return int(self.task["id"])


def scored_tasks(tasks: Sequence[dict[str, Any]], predictions: Sequence[Any]) -> list[Scored]:
    """The tasks whose prediction has a finite ``score``, each with its result (a model that gives
    no score cannot rank tasks: its tasks are left out)."""
    scored = []
    for task, prediction in zip(tasks, predictions, strict=True):
        if not isinstance(prediction, dict):
            continue
        score = prediction.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
            scored.append(Scored(task, list(prediction.get("result") or []), float(score)))
    return scored


def least_confident(scored: Sequence[Scored], count: int) -> list[Scored]:
    """The ``count`` tasks with the lowest scores (ties: the older task first), lowest first."""
    return sorted(scored, key=lambda item: (item.score, item.task_id))[:count]
