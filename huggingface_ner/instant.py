"""NER's instant layer: the span dictionary, refit on every annotation and served with the model.

A record keeps a labeled task's text and its spans for one control. A refit builds the dictionary
of every record (``huggingface_ner.propagation``) and publishes it as an ``instant-...`` version
that names the fine-tuned version it is combined with (the newest, or none before the first
training, when a baseline with an NER head still predicts as before). Predictions combine them
with ``COMBINATION`` (measured by ``bench/instant_curves.py --task conll``, docs/instant_curves.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from hf_text.base import HFTextModel
from hf_text.data.controls import ControlSpec
from hf_text.instant import visible_version
from hf_text.instant.learning import Labeled
from hf_text.instant.records import is_instant_version, publish_version, version_store
from hf_text.runtime.loader import retire_versions
from hf_text.runtime.serving import Prediction, ServingHead, predict_per_control
from huggingface_ner.attributes.controls import per_region_choices
from huggingface_ner.attributes.layer import RegionChoices
from huggingface_ner.baseline import baseline_heads
from huggingface_ner.bio import RegionChoice, Span, text_score
from huggingface_ner.propagation import AnnotatedText, EntityDictionary, Propagator
from huggingface_ner.regions import Target, regions_from_spans
from huggingface_ner.task import SpansTask
from label_studio_ml.caching import BoundedCache
from label_studio_ml.server.status import SERVED_KEY

logger = logging.getLogger(__name__)

#: How the model's spans and the dictionary's are combined (see ``Propagator.combine``).
COMBINATION = "model-first"
KEEP_INSTANT_VERSIONS = 5
_PROPAGATORS: BoundedCache[str, Propagator] = BoundedCache(64)
_CHOICES: BoundedCache[str, dict[str, Any]] = BoundedCache(64)


def _propagator(path: Any) -> Propagator:
    """A published dictionary, read once per process (a version folder never changes)."""
    return _PROPAGATORS.get_or_compute(str(path), lambda: _read_propagator(path))


def _read_propagator(path: Any) -> Propagator:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Propagator(EntityDictionary.from_json(data).entries())


def _annotated(record: dict[str, Any]) -> AnnotatedText:
    """A record's text and spans, each with its per-region choices (records before them have none)."""
    chosen: dict[tuple[int, int], list[RegionChoice]] = {}
    for start, end, from_name, choice in record.get("choices") or []:
        chosen.setdefault((int(start), int(end)), []).append(RegionChoice(str(from_name), str(choice)))
    spans = tuple(
        Span(int(start), int(end), str(label), choices=tuple(chosen.get((int(start), int(end)), ())))
        for start, end, label in record["spans"]
    )
    return AnnotatedText(record["text"], spans)


def _region_choices(path: Any, controls: list[ControlSpec]) -> RegionChoices:
    """Published choice models (read once per process), for the per-region controls configured now."""
    data = _CHOICES.get_or_compute(str(path), lambda: json.loads(path.read_text(encoding="utf-8")))
    return RegionChoices.from_json(data, controls)


class PropagationLayer:
    """The span dictionary of one project: its model (``HuggingFaceNER``, through the shared
    ``HFTextModel`` surface: its controls, texts, state and fine-tuned versions) and its task."""

    def __init__(self, model: HFTextModel, task: SpansTask) -> None:
        self.model = model
        self.task = task

    def records(self, control: ControlSpec, items: Sequence[Labeled]) -> list[dict[str, Any]]:
        """Each item's text and spans (code points)."""
        return [
            {
                "annotation": item.annotation_id,
                "annotated_at": item.annotated_at,
                "received_at": time.time(),
                "text": item.text,
                "spans": [[span.start, span.end, span.entity] for span in item.target],
                "choices": [
                    [span.start, span.end, chosen.from_name, chosen.choice]
                    for span in item.target
                    for chosen in span.choices
                ],
            }
            for item in items
        ]

    def refit(self, records: dict[str, list[dict[str, Any]]]) -> str | None:
        """Build every control's dictionary, publish it with the newest fine-tuned version."""
        fine = self.model.store.latest()
        files, heads = {}, []
        for index, control in enumerate(self.model.controls()):
            mine = records.get(control.from_name) or []
            if not mine:
                continue
            annotated = [_annotated(record) for record in mine]
            dictionary = EntityDictionary.build(annotated)
            name = f"dictionary-{index}.json"
            files[name] = json.dumps(dictionary.to_json()).encode("utf-8")
            heads.append({"from_name": control.from_name, "file": name, "examples": len(mine),
                          "surfaces": len(dictionary.labels)})  # fmt: skip
            pairs = [(item.text, item.spans) for item in annotated]
            choices = RegionChoices.build(pairs, self.choice_controls(control))
            if choices:  # nothing is guessed before an annotator chose once
                heads[-1]["choices"] = f"choices-{index}.json"
                files[heads[-1]["choices"]] = json.dumps(choices.to_json()).encode("utf-8")
        if not heads:
            return self.serve(fine, "no annotated span to propagate")
        meta = {"kind": "instant", "model_class": type(self.model).__name__, "heads": heads,
                "fine_tuned": fine, "combination": COMBINATION}  # fmt: skip
        store = version_store(self.model.context.data_dir, self.model.project_id)
        kept = visible_version.protected(self.model)
        version = publish_version(store, files, meta, KEEP_INSTANT_VERSIONS, kept)
        with_model = f"combined with {fine} ({COMBINATION})" if fine else "before any training"
        examples = sum(head["examples"] for head in heads)
        return self.serve(version, f"spans of {examples} annotated task(s), {with_model}", fine)

    def serve(self, version: str | None, why: str, fine: str | None = None) -> str | None:
        """Serve ``version`` (``None``: the initial one) at once, under a new version Label Studio sees
        when it is due or combined with another fine-tuned version (``fine``), and say why in ``/metrics``."""
        layer = "instant" if is_instant_version(version) else ("fine-tuned" if version else "none")
        shown = visible_version.publish(self.model, version, builds_on=fine)
        self.model.set(SERVED_KEY, {"layer": layer, "model_version": version, "why": why, **shown})
        return version

    def predict(self, tasks: list[dict[str, Any]], version: str) -> list[dict[str, Any]] | None:
        """An instant version's predictions (``None`` for any other version)."""
        if not is_instant_version(version):
            return None
        store = version_store(self.model.context.data_dir, self.model.project_id)
        meta = store.meta(version) or {}
        fine = meta.get("fine_tuned")
        if fine:
            retire_versions(self.model.store.root, self.model.store.root / fine)
        heads = {serving.control.from_name: serving for serving in self.model_heads(fine)}
        published = {head["from_name"]: head for head in meta.get("heads", [])}

        def answer(control: ControlSpec, texts: list[str]) -> list[Prediction]:
            head = published.get(control.from_name)
            propagator = _propagator(store.root / version / head["file"]) if head else None
            choices = None
            if head and head.get("choices"):
                path = store.root / version / head["choices"]
                choices = _region_choices(path, self.choice_controls(control))
            return self.combined(texts, control, heads.get(control.from_name), fine, propagator, choices)

        gathered = predict_per_control(tasks, self.model.controls(), self.model.task_text, answer)
        return gathered.serialize(version)

    def choice_controls(self, control: ControlSpec) -> list[ControlSpec]:
        """The ``<Choices perRegion="true">`` that ``control``'s spans answer."""
        return per_region_choices(self.model.label_interface, control)

    def model_heads(self, fine: str | None) -> list[ServingHead]:
        """The fine-tuned version's heads, or the baseline's when it has an NER head."""
        return self.model.serving_heads(fine) if fine else baseline_heads(self.task, self.model.controls())

    def combined(
        self,
        texts: list[str],
        control: ControlSpec,
        serving: ServingHead | None,
        fine: str | None,
        propagator: Propagator | None,
        choices: RegionChoices | None = None,
    ) -> list[tuple[list[dict[str, Any]], float]]:
        """Regions and a score per text: the model's spans combined with the dictionary's, each with
        its predicted per-region choices; the score counts the dictionary's spans as certain."""
        if serving is not None:
            loaded = self.model.load_serving(serving, fine or "baseline")
            tagged = self.task.predict_spans(loaded, texts, control, serving.head)
        else:
            tagged = [([], []) for _ in texts]
        target = Target.of(control)
        predictions = []
        for text, (found, words) in zip(texts, tagged, strict=True):
            spans = propagator.combine(text, found, COMBINATION) if propagator is not None else found
            model_spans = set(found)
            propagated = [span for span in spans if span not in model_spans]
            score = text_score(spans, words, certain=propagated)
            if choices is not None:
                spans = choices.attach(text, spans)
            predictions.append((regions_from_spans(text, spans, target), score))
        return predictions
