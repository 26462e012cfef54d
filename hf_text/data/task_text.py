"""A task's text for one control: its ``<Text>``'s value, its ``<HyperText>`` page's text, or its
``<Paragraphs>`` conversation as lines.

A dialogue is read as the lines "speaker: words" (``label_studio_ml.studio.paragraphs``) and a page
as the characters Label Studio's editor counts (``label_studio_ml.studio.hypertext``), so every
model (zero-shot, instant heads, fine-tuning, int8) reads them as plain text, unchanged. Their
text carries its ``layout``: where a span of it lies in the object, for models that write regions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, SupportsIndex

from hf_text.data.controls import ControlSpec
from label_studio_ml.studio.hypertext import page_text
from label_studio_ml.studio.paragraphs import parse_dialogue, read_dialogue


class ResolvesText(Protocol):
    """A model that reads task text, fetching ``valueType="url"`` values (``LabelStudioMLBase``)."""

    def resolve_text(self, value: Any, value_type: str | None = None) -> str | None: ...


class Layout(Protocol):
    """Where a span (code points of the text) lies in its object, in a region's keys, and back."""

    def region(self, start: int, end: int) -> dict[str, Any] | None: ...

    def span(self, value: Mapping[str, Any]) -> tuple[int, int] | None: ...


class LaidOutText(str):
    """A text read from a ``<HyperText>`` or ``<Paragraphs>``, with its ``layout``.

    It is the text everywhere a text goes (tokenizers, caches, JSON); a prefix of it (the cut at
    ``MAX_TEXT_CHARS``) keeps the layout, whose positions hold for the prefix too.
    """

    layout: Layout

    def __new__(cls, text: str, layout: Layout) -> LaidOutText:
        made = super().__new__(cls, text)
        made.layout = layout
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return LaidOutText, (str(self), self.layout)  # pickled and copied with its layout

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        part = super().__getitem__(key)
        prefix = isinstance(key, slice) and key.start in (None, 0) and key.step in (None, 1)
        return LaidOutText(part, self.layout) if prefix else part


def read_text(model: ResolvesText, value: Any, control: ControlSpec) -> str | None:
    """The text of the task data ``value`` for ``control``; ``None`` when missing.

    Raises ``BackendError`` (``TaskDataUnreadable``, ``DataAccessDenied``) when it cannot be read,
    a dialogue that is not a list of turns with words included.
    """
    if control.object_tag == "HyperText":
        html = model.resolve_text(value, control.value_type)
        page = page_text(html) if html else None
        return LaidOutText(page.text, page) if page else None
    if control.dialogue is None:
        return model.resolve_text(value, control.value_type)
    if value is None:
        return None
    if control.value_type == "url":
        document = model.resolve_text(value, "url")
        if not document:
            return None
        value = parse_dialogue(document)
    dialogue = read_dialogue(value, control.dialogue)
    return LaidOutText(dialogue.text, dialogue)
