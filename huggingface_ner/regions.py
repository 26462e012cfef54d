"""Label Studio's span regions ↔ code-point spans, placed in their object (``huggingface_ner.objects``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hf_text.data.controls import ControlSpec, max_usages
from huggingface_ner.bio import RegionChoice, Span
from huggingface_ner.objects.places import label_key, place_of, region_labels

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """The ``<Labels>`` control and the object it labels; ``max_usages``: how many regions of a
    label one task may have (``maxUsages`` on the ``<Label>``, or on ``<Labels>``). ``result_type``:
    the control's (``labels``, ``hypertextlabels``, ``paragraphlabels``); ``object_tag``: the object's."""

    from_name: str
    to_name: str
    max_usages: Mapping[str, int] = field(default_factory=dict)
    result_type: str = "labels"
    object_tag: str = "Text"

    @classmethod
    def of(cls, control: ControlSpec) -> Target:
        """The target of ``control``, with its labels' ``maxUsages``."""
        default = max_usages(control.attrs)
        limits = {}
        for label in control.labels:
            limit = max_usages(control.label_attrs.get(label, {})) or default
            if limit:
                limits[label] = limit
        return cls(control.from_name, control.to_name, limits, (control.tag or "labels").lower(),
                   control.object_tag)  # fmt: skip


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
    object_tag: str = "Text",
) -> list[Span]:
    """Spans (code points) of one control's annotation regions that carry a known label.

    ``results`` are already those of the control over its object (``results_for``); ``label_for``
    names the config label a result's label stands for (``ControlSpec.label_for``: alias or value),
    ``None`` for one the config no longer has. Regions the object cannot place (``objects.places``:
    no integer offsets, past a text cut at ``MAX_TEXT_CHARS``: an entity clipped at the cut would
    teach a wrong boundary), empty, or without a known label are skipped. A region with several
    labels keeps its first known one: BIO gives a word one type. ``choices_of``: the per-region
    choices of each region ``id``, kept on its span.
    """
    place = place_of(object_tag, text)
    spans = []
    for item in results:
        value = item.get("value") or {}
        where = place.span(value) if isinstance(value, dict) else None
        label = next((known for name in region_labels(value) if (known := label_for(name))), None)
        if where is None or label is None or where[1] <= where[0]:
            continue
        chosen = (choices_of or {}).get(str(item.get("id")), ())
        spans.append(Span(where[0], where[1], label, choices=chosen))
    return spans


def region_id(target: Target, start: Any, end: Any, label: str, *within: Any) -> str:
    """A region's ``id``, the same for the same region: its per-region choices carry it too.
    ``within``: offsets inside ``start``/``end`` where those name a node or a turn."""
    inside = "".join(f"\x00{offset}" for offset in within)
    key = f"{target.from_name}\x00{target.to_name}\x00{start}\x00{end}\x00{label}{inside}"
    return hashlib.blake2s(key.encode("utf-8"), digest_size=6).hexdigest()


def regions_from_spans(text: str, spans: Iterable[Span], target: Target) -> list[dict[str, Any]]:
    """Prediction regions for Label Studio, placed in the target's object (UTF-16 offsets in a
    ``<Text>``), each with an ``id``; a span the object cannot hold (a speaker's name, across turns)
    is left out. A span's per-region choices follow its region as ``choices`` results with the same
    ``id`` (how Label Studio writes a region's attribute: the region's position keys, and the choice)."""
    place = place_of(target.object_tag, text)
    regions = []
    for span in within_max_usages(spans, target.max_usages):
        where = place.region(span.start, span.end)
        if where is None:
            continue
        inside = [where[key] for key in ("startOffset", "endOffset") if key in where]
        identity = region_id(target, where["start"], where["end"], span.entity, *inside)
        common = {"id": identity, "to_name": target.to_name}
        regions.append(
            {**common, "from_name": target.from_name, "type": target.result_type,
             "value": {**where, label_key(target.result_type): [span.entity]},
             "score": round(float(span.score), 6)}
        )  # fmt: skip
        for chosen in span.choices:
            regions.append(
                {**common, "from_name": chosen.from_name, "type": "choices",
                 "value": {**where, "choices": [chosen.choice]}, "score": round(float(chosen.score), 6)}
            )  # fmt: skip
    return regions
