"""Which of a label config's task-data objects a model reads: its controls' ``toName`` objects only.

A config may show more than it asks about: the Question Answering template shows a ``$question``
beside the ``$text`` its ``<Labels>`` mark. The backends read exactly the object a served control's
``toName`` names; every other object that shows task data is for the annotator's eyes, and
``/metrics`` (``unread_objects``) and one WARNING say so, so nobody believes the question informs
the model.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from label_studio_ml.studio.label_config import describe


def _attrs(obj: Any) -> dict[str, str]:
    return {str(key): str(value) for key, value in (obj.attr or {}).items()}


def _shows_task_data(obj: Any) -> bool:
    """A ``value="$key"`` object; a literal (``<Header value="Read this">``) carries no task data."""
    value = str(obj.value or "")
    return value.startswith("$") and len(value) > 1


def unread_objects(label_interface: Any, read: Collection[str], model_name: str) -> list[str]:
    """Each object showing task data that is not in ``read`` (the names of the objects the served
    controls' ``toName`` name), in config order, with what the model reads instead."""
    objects = list(label_interface.objects or [])
    reads = [describe(obj.tag, _attrs(obj)) for obj in objects if obj.name in read]
    instead = f"{model_name} reads {', '.join(reads)} only" if reads else f"{model_name} reads none"
    return [
        f'{describe(obj.tag, _attrs(obj))} (value="{obj.value}"): shown to the annotator, not read; {instead}'
        for obj in objects
        if obj.name not in read and _shows_task_data(obj)
    ]
