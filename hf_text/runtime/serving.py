"""What answers a ``/predict``: the heads serving a project's controls, and their results per task."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_text.data.controls import ControlSpec

#: A head's decoded output for one text: its result items and their score.
Prediction = tuple[list[dict[str, Any]], float]
#: ``(task, control) -> text`` (``None``: the task has no usable text for the control).
TextOf = Callable[[dict[str, Any], ControlSpec], "str | None"]
#: ``(control, texts) -> one prediction per text`` (``None``: nothing answers for the control).
PredictControl = Callable[[ControlSpec, list[str]], "list[Prediction] | None"]


@dataclass(frozen=True)
class ServingHead:
    """A model that answers for one control: a trained version's head, or a baseline that can."""

    control: ControlSpec
    head: dict[str, Any]
    folder: Path


def version_heads(
    meta: dict[str, Any],
    folder: Path,
    controls: Iterable[ControlSpec],
    matches: Callable[[dict[str, Any], ControlSpec], bool],
) -> list[ServingHead]:
    """For each control, the first head of a version (``meta``, in ``folder``) trained for it that
    still ``matches`` it as configured now; controls without one are left out."""
    heads = []
    for control in controls:
        for head in meta.get("heads", []):
            if head.get("from_name") == control.from_name and matches(head, control):
                heads.append(ServingHead(control, head, folder / head["dir"]))
                break
    return heads


class TaskPredictions:
    """Result items and scores of every head, gathered per task; then one prediction per task."""

    def __init__(self, count: int) -> None:
        self._items: list[list[dict[str, Any]]] = [[] for _ in range(count)]
        self._scores: list[list[float]] = [[] for _ in range(count)]

    def add(self, indices: list[int], outputs: list[Prediction]) -> None:
        """One head's outputs for the tasks at ``indices`` (same order)."""
        for index, (items, score) in zip(indices, outputs, strict=True):
            self._items[index].extend(items)
            self._scores[index].append(score)

    def serialize(self, version: str) -> list[dict[str, Any]]:
        """Label Studio's prediction items; a task's score is the mean of its heads' scores."""
        return [
            {"result": items, "score": round(sum(s) / len(s), 6) if s else 0.0, "model_version": version}
            for items, s in zip(self._items, self._scores, strict=True)
        ]


def predict_per_control(
    tasks: list[dict[str, Any]], controls: Iterable[ControlSpec], text_of: TextOf, predict: PredictControl
) -> TaskPredictions:
    """Every control's predictions for the tasks that have a text for it, gathered per task.

    ``predict`` sees only the present texts, in task order (a control no task has a text for is
    not asked at all); a task without a text for a control gets nothing from it.
    """
    gathered = TaskPredictions(len(tasks))
    for control in controls:
        texts = [text_of(task, control) for task in tasks]
        present = [index for index, text in enumerate(texts) if text]
        if present:
            found = predict(control, [texts[index] for index in present])
            if found is not None:
                gathered.add(present, found)
    return gathered
