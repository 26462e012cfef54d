"""Label Studio ``labels`` regions ↔ code-point spans, converting offsets to and from UTF-16."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hf_text.data.controls import ControlSpec, max_usages
from huggingface_ner.bio import RegionChoice, Span
from huggingface_ner.offsets import Utf16Offsets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """The ``<Labels>`` control and the ``<Text>`` object it labels; ``max_usages``: how many
    regions of a label one task may have (``maxUsages`` on the ``<Label>``, or on ``<Labels>``)."""

    from_name: str
    to_name: str
    max_usages: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, control: ControlSpec) -> Target:
        """The target of ``control``, with its labels' ``maxUsages``."""
        default = max_usages(control.attrs)
        limits = {}
        for label in control.labels:
            limit = max_usages(control.label_attrs.get(label, {})) or default
            if limit:
                limits[label] = limit
        return cls(control.from_name, control.to_name, limits)


def within_max_usages(spans: Iterable[Span], max_usages: Mapping[str, int]) -> list[Span]:
    """``spans`` without the lowest-scoring ones of a label used more than its ``maxUsages``, in order.

    Label Studio's editor stops an annotator at the limit but accepts predictions past it; the
    annotator would have to delete the extra regions by hand."""
    spans = list(spans)
    dropped: set[int] = set()
    for label, limit in max_usages.items():
        used = sorted((index for index, span in enumerate(spans) if span.entity == label),
                      key=lambda index: -spans[index].score)  # fmt: skip
        dropped.update(used[limit:])
    return [span for index, span in enumerate(spans) if index not in dropped]


def spans_from_results(
    text: str,
    results: Iterable[dict[str, Any]],
    label_for: Callable[[str], str | None],
    choices_of: Mapping[str, tuple[RegionChoice, ...]] | None = None,
) -> list[Span]:
    """Spans (code points) of one control's annotation regions that carry a known label.

    ``results`` are already those of the ``<Labels>`` over the ``<Text>`` (``results_for``);
    ``label_for`` names the config label a result's label stands for (``ControlSpec.label_for``:
    alias or value), ``None`` for one the config no longer has. Regions without integer offsets,
    empty, without a known label, or ending past ``text`` are skipped: a text cut at
    ``MAX_TEXT_CHARS`` keeps only the regions inside it, and an entity clipped at the cut would
    teach a wrong boundary. A region with several labels keeps its first known one: BIO gives a
    word one type. ``choices_of``: the per-region choices of each region ``id``, kept on its span.
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
        chosen = (choices_of or {}).get(str(item.get("id")), ())
        spans.append(Span(begin, finish, label, choices=chosen))
    return spans


def region_id(target: Target, start: int, end: int, label: str) -> str:
    """A region's ``id``, the same for the same region: its per-region choices carry it too."""
    key = f"{target.from_name}\x00{target.to_name}\x00{start}\x00{end}\x00{label}"
    return hashlib.blake2s(key.encode("utf-8"), digest_size=6).hexdigest()


def regions_from_spans(text: str, spans: Iterable[Span], target: Target) -> list[dict[str, Any]]:
    """Prediction regions for Label Studio, offsets in UTF-16 code units, each with an ``id``; a
    span's per-region choices follow its region as ``choices`` results with the same ``id`` (how
    Label Studio writes a region's attribute: the region's offsets and text, and the choice)."""
    offsets = Utf16Offsets(text)
    regions = []
    for span in within_max_usages(spans, target.max_usages):
        start, end = offsets.span_to_utf16(span.start, span.end)
        where = {"start": start, "end": end, "text": text[span.start : span.end]}
        common = {"id": region_id(target, start, end, span.entity), "to_name": target.to_name}
        regions.append(
            {**common, "from_name": target.from_name, "type": "labels",
             "value": {**where, "labels": [span.entity]}, "score": round(float(span.score), 6)}
        )  # fmt: skip
        for chosen in span.choices:
            regions.append(
                {**common, "from_name": chosen.from_name, "type": "choices",
                 "value": {**where, "choices": [chosen.choice]}, "score": round(float(chosen.score), 6)}
            )  # fmt: skip
    return regions
