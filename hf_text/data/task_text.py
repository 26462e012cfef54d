"""A task's text for one control: its ``<Text>``'s value, or its ``<Paragraphs>`` conversation as lines.

A dialogue is read as the lines "speaker: words" (``label_studio_ml.studio.paragraphs``), so every
model (zero-shot, instant heads, fine-tuning, int8) reads who said what as plain text, unchanged.
"""

from __future__ import annotations

from typing import Any, Protocol

from hf_text.data.controls import ControlSpec
from label_studio_ml.studio.paragraphs import dialogue_text, parse_dialogue


class ResolvesText(Protocol):
    """A model that reads task text, fetching ``valueType="url"`` values (``LabelStudioMLBase``)."""

    def resolve_text(self, value: Any, value_type: str | None = None) -> str | None: ...


def read_text(model: ResolvesText, value: Any, control: ControlSpec) -> str | None:
    """The text of the task data ``value`` for ``control``; ``None`` when missing.

    Raises ``BackendError`` (``TaskDataUnreadable``, ``DataAccessDenied``) when it cannot be read,
    a dialogue that is not a list of turns with words included.
    """
    if control.dialogue is None:
        return model.resolve_text(value, control.value_type)
    if value is None:
        return None
    if control.value_type == "url":
        document = model.resolve_text(value, "url")
        if not document:
            return None
        value = parse_dialogue(document)
    return dialogue_text(value, control.dialogue)
