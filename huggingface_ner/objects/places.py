"""A span's place in its object, chosen once per control by the object's tag, and the control's result type.

NER works on code-point spans of a text. Label Studio writes where a region lies in the object's own
terms: UTF-16 ``start``/``end`` in a ``<Text>``; XPaths, offsets in a node and ``globalOffsets`` in a
``<HyperText>``; turn indices and offsets in the words in a ``<Paragraphs>``. A :class:`Place` turns
a span into those keys (``None``: it cannot be a region there) and a region's value back into a
span. ``<HyperText>`` and ``<Paragraphs>`` texts carry their layout (``hf_text.data.task_text``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hf_text.data.controls import ControlSpec
from hf_text.data.task_text import Layout
from huggingface_ner.offsets import Utf16Offsets
from label_studio_ml.studio.label_config import describe

#: The key of a region value's labels, per result type (the control tag, lower-cased); Label Studio
#: 1.23.2's editor writes ``hypertextlabels`` (older results carry ``htmllabels``, read as well).
LABEL_KEYS = {"labels": "labels", "hypertextlabels": "hypertextlabels", "paragraphlabels": "paragraphlabels"}
#: The objects each control tag's regions are written for (Label Studio's editor labels no other).
SERVED_OBJECTS = {
    "Labels": ("Text", "HyperText"),
    "HyperTextLabels": ("HyperText",),
    "ParagraphLabels": ("Paragraphs",),
}
#: Every key a region's labels are read from.
READ_LABEL_KEYS = ("labels", "hypertextlabels", "htmllabels", "paragraphlabels")

#: A span's place in its object: region keys for a span, and a span for a region value.
Place = Layout


class TextPlace:
    """A ``<Text>``: ``start``/``end`` in UTF-16 code units, and the ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offsets = Utf16Offsets(text)

    def region(self, start: int, end: int) -> dict[str, Any] | None:
        """``start``, ``end`` (UTF-16) and ``text`` of the span."""
        first, last = self.offsets.span_to_utf16(start, end)
        return {"start": first, "end": last, "text": self.text[start:end]}

    def span(self, value: Mapping[str, Any]) -> tuple[int, int] | None:
        """The code points a region covers; ``None`` without integer offsets or past the text (a
        text cut at ``MAX_TEXT_CHARS`` keeps only the regions inside it)."""
        start, end = value.get("start"), value.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            return None
        if end > self.offsets.utf16_length:
            return None
        return self.offsets.span_from_utf16(start, end)


class NoPlace:
    """An object whose text came without its layout: no region can be placed, none read."""

    def region(self, start: int, end: int) -> dict[str, Any] | None:
        """Nothing: without the layout a region would point at the wrong characters."""
        return None

    def span(self, value: Mapping[str, Any]) -> tuple[int, int] | None:
        """Nothing."""
        return None


def place_of(object_tag: str, text: str) -> Place:
    """Where spans of ``text`` lie in its ``object_tag`` object."""
    if object_tag == "Text":
        return TextPlace(text)
    layout = getattr(text, "layout", None)
    if layout is None:
        return NoPlace()
    limit = len(text)  # a text cut at ``MAX_TEXT_CHARS``: only spans inside the cut
    return _Within(layout, limit)


class _Within:
    """A layout, limited to the first ``limit`` characters of its text."""

    def __init__(self, layout: Layout, limit: int) -> None:
        self.layout = layout
        self.limit = limit

    def region(self, start: int, end: int) -> dict[str, Any] | None:
        """The layout's region keys of a span inside the limit."""
        return self.layout.region(start, end) if end <= self.limit else None

    def span(self, value: Mapping[str, Any]) -> tuple[int, int] | None:
        """The layout's span of a region that ends inside the limit."""
        span = self.layout.span(value)
        return span if span is not None and span[1] <= self.limit else None


def label_key(result_type: str) -> str:
    """The value key a result type's labels go under."""
    return LABEL_KEYS.get(result_type, result_type)


def region_labels(value: Mapping[str, Any]) -> list[Any]:
    """The labels of a region value, under whichever key its result type uses."""
    for key in READ_LABEL_KEYS:
        labels = value.get(key)
        if isinstance(labels, list):
            return labels
    return []


def object_problem(control: ControlSpec, model_name: str) -> str | None:
    """Why ``control``'s regions cannot be written for its object (``<Labels>`` over a ``<Paragraphs>``),
    or ``None`` when they can."""
    if control.object_tag in SERVED_OBJECTS.get(control.tag, (control.object_tag,)):
        return None
    serves = ", ".join(
        f"<{tag}> over " + " or ".join(f"<{name}>" for name in objects)
        for tag, objects in SERVED_OBJECTS.items()
    )
    where = describe(control.tag, {"name": control.from_name})
    names = f'toName="{control.to_name}" names the <{control.object_tag}> tag'
    return f"{where}: {names}; {model_name} serves {serves}"
