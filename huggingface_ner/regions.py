"""Label Studio ``labels`` regions ↔ code-point spans, converting offsets to and from UTF-16."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from huggingface_ner.bio import Span
from huggingface_ner.offsets import Utf16Offsets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """The ``<Labels>`` control and the ``<Text>`` object it labels."""

    from_name: str
    to_name: str


def spans_from_results(
    text: str, results: Iterable[dict[str, Any]], label_for: Callable[[str], str | None]
) -> list[Span]:
    """Spans (code points) of one control's annotation regions that carry a known label.

    ``results`` are already those of the ``<Labels>`` over the ``<Text>`` (``results_for``);
    ``label_for`` names the config label a result's label stands for (``ControlSpec.label_for``:
    alias or value), ``None`` for one the config no longer has. Regions without integer offsets,
    empty, without a known label, or ending past ``text`` are skipped: a text cut at
    ``MAX_TEXT_CHARS`` keeps only the regions inside it, and an entity clipped at the cut would
    teach a wrong boundary. A region with several labels keeps its first known one: BIO gives a
    word one type.
    """
    offsets = Utf16Offsets(text)
    spans = []
    for item in results:
        value = item.get("value") or {}
        start, end = value.get("start"), value.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            continue
        if end > offsets.utf16_length:
            continue
        label = next((known for name in value.get("labels") or [] if (known := label_for(name))), None)
        begin, finish = offsets.span_from_utf16(start, end)
        if label is None or finish <= begin:
            continue
        spans.append(Span(begin, finish, label))
    return spans


def regions_from_spans(text: str, spans: Iterable[Span], target: Target) -> list[dict[str, Any]]:
    """Prediction regions for Label Studio, offsets in UTF-16 code units."""
    offsets = Utf16Offsets(text)
    regions = []
    for span in spans:
        start, end = offsets.span_to_utf16(span.start, span.end)
        value = {"start": start, "end": end, "text": text[span.start : span.end], "labels": [span.entity]}
        regions.append(
            {
                "from_name": target.from_name,
                "to_name": target.to_name,
                "type": "labels",
                "value": value,
                "score": round(float(span.score), 6),
            }
        )
    return regions
