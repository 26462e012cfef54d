"""Labeled tasks to training examples for one control, counting every task that gives none.

A labeled task never leaves training silently: each one either becomes an example or is
counted under the reason it could not (``SkippedTasks``), and the counts reach ``/metrics``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from hf_text.data.annotations import annotation_time, chosen_annotation, results_for
from hf_text.data.controls import ControlSpec, Example

logger = logging.getLogger(__name__)

#: ``task -> text`` (``None``: missing, empty or unreadable).
TextOf = Callable[[dict[str, Any]], "str | None"]
#: ``(results, text) -> target`` (``None``: nothing usable for this control).
TargetOf = Callable[[list[dict[str, Any]], str], Any]


@dataclass
class SkippedTasks:
    """Labeled tasks that gave no example, by reason.

    ``no_usable_annotation``: every annotation was cancelled (skipped), or the chosen one has
    nothing for this control that the config still has. ``unreadable_text``: the task's text is
    missing, empty or could not be read. ``duplicate_text``: another task has the same text and a
    more recent annotation, which is the one trained on.
    """

    no_usable_annotation: int = 0
    unreadable_text: int = 0
    duplicate_text: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts, JSON-ready."""
        return asdict(self)

    def add(self, other: SkippedTasks) -> SkippedTasks:
        """Both counts summed."""
        return SkippedTasks(**{key: value + getattr(other, key) for key, value in asdict(self).items()})


@dataclass
class Collected:
    """The examples of one control and the tasks that gave none."""

    examples: list[Example] = field(default_factory=list)
    skipped: SkippedTasks = field(default_factory=SkippedTasks)


def collect(
    tasks: list[dict[str, Any]], control: ControlSpec, text_of: TextOf, target_of: TargetOf
) -> Collected:
    """One example per distinct text; a text labeled twice keeps its most recent annotation."""
    skipped = SkippedTasks()
    by_text: dict[str, Example] = {}
    for task in tasks:
        annotation = chosen_annotation(task)
        if annotation is None:
            skipped.no_usable_annotation += 1
            continue
        text = text_of(task)  # read only for annotated tasks: it may cost a download
        if text is None:
            skipped.unreadable_text += 1
            continue
        target = target_of(results_for(annotation, control.from_name, control.to_name), text)
        if target is None:
            skipped.no_usable_annotation += 1
            continue
        example = Example(
            text=text, target=target, annotated_at=annotation_time(annotation), task_id=task.get("id")
        )
        previous = by_text.get(text)
        if previous is not None:
            skipped.duplicate_text += 1
        if previous is None or example.annotated_at >= previous.annotated_at:
            by_text[text] = example
    return Collected(examples=list(by_text.values()), skipped=skipped)


class HasUnlabeledTasks(Protocol):
    """A model that can list its project's unlabeled tasks (``LabelStudioMLBase``)."""

    project_id: Any

    def unlabeled_tasks(self, limit: int) -> list[dict[str, Any]]: ...


def unlabeled_tasks(model: HasUnlabeledTasks, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` tasks nobody labeled: texts a new version never trained on.

    An empty list when Label Studio cannot say: the checks that use them go without.
    """
    if limit <= 0:
        return []
    try:
        return model.unlabeled_tasks(limit)
    except Exception as exc:  # no Label Studio configured or reachable: nothing is lost but a check
        logger.info("project %s: no unlabeled tasks to check int8 on: %s", model.project_id, exc)
        return []
