"""The per-region choices of one ``<Labels>`` control: one model per ``<Choices perRegion="true">``,
learned from annotated spans' choices and attached to predicted spans.

A control with no annotated choice yet has no model, and its spans get no choice: nothing is guessed
before an annotator has chosen once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from hf_text.data.controls import ControlSpec
from huggingface_ner.attributes.classifier import ChoiceModel, span_features
from huggingface_ner.attributes.controls import applies_to
from huggingface_ner.bio import RegionChoice, Span

#: One annotated (or predicted) text and its spans.
Annotated = tuple[str, Sequence[Span]]


class RegionChoices:
    """A choice model per per-region ``<Choices>`` (by name); the controls as configured now."""

    def __init__(self, models: dict[str, ChoiceModel], controls: Sequence[ControlSpec]) -> None:
        self.models = models
        self.controls = [control for control in controls if control.from_name in models]

    @classmethod
    def build(cls, annotated: Iterable[Annotated], controls: Sequence[ControlSpec]) -> RegionChoices:
        """Learn every control's choices from the annotated spans that carry one of its choices."""
        examples: dict[str, list[tuple[list[str], str]]] = {control.from_name: [] for control in controls}
        by_name = {control.from_name: control for control in controls}
        for text, spans in annotated:
            for span in spans:
                for chosen in span.choices:
                    control = by_name.get(chosen.from_name)
                    label = control.label_for(chosen.choice) if control is not None else None
                    if label is not None and applies_to(control, span.entity):
                        features = span_features(text, span.start, span.end, span.entity)
                        examples[chosen.from_name].append((features, label))
        models = {name: ChoiceModel.fit(found) for name, found in examples.items() if found}
        return cls(models, controls)

    def __bool__(self) -> bool:
        return bool(self.models)

    def attach(self, text: str, spans: Iterable[Span]) -> list[Span]:
        """``spans`` with each control's most probable choice (among those still configured)."""
        attached = []
        for span in spans:
            chosen = []
            for control in self.controls:
                if not applies_to(control, span.entity):
                    continue
                found = self.models[control.from_name].predict(
                    span_features(text, span.start, span.end, span.entity)
                )
                if found is not None and found[0] in control.labels:
                    chosen.append(RegionChoice(control.from_name, found[0], found[1]))
            attached.append(dataclasses.replace(span, choices=tuple(chosen)))
        return attached

    def to_json(self) -> dict[str, Any]:
        """JSON-ready models by control name."""
        return {name: model.to_json() for name, model in self.models.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any], controls: Sequence[ControlSpec]) -> RegionChoices:
        """The models ``to_json`` wrote, for the controls configured now."""
        return cls({str(name): ChoiceModel.from_json(model) for name, model in data.items()}, controls)
