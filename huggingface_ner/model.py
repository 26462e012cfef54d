"""``HuggingFaceNER``: named entities for ``<Labels>`` over ``<Text>`` (``<HyperTextLabels>`` over
``<HyperText>``, ``<ParagraphLabels>`` over ``<Paragraphs>``), on the shared HF machinery."""

from __future__ import annotations

import functools
import logging
from typing import Any

from hf_text.base import HFTextModel
from hf_text.data.controls import ControlSpec
from hf_text.runtime.serving import ServingHead
from huggingface_ner.baseline import baseline_heads
from huggingface_ner.instant import PropagationLayer
from huggingface_ner.objects.places import object_problem
from huggingface_ner.task import SpansTask
from label_studio_ml.errors import UnprocessableEntity

logger = logging.getLogger(__name__)


class HuggingFaceNER(HFTextModel):
    """Fine-tunes a token-classification head per ``<Labels>`` and predicts entity spans (how:
    ``huggingface_ner.task``); between trainings, annotated spans propagate at once."""

    TASK_KIND = SpansTask.TASK_KIND
    TASK_CLASS = SpansTask
    CONTROL_TAG = ("Labels", "HyperTextLabels", "ParagraphLabels")
    #: Each span is placed in its object's own terms (``huggingface_ner.objects``).
    OBJECT_TAGS = ("Text", "HyperText", "Paragraphs")
    #: Measured on CoNLL-2003 with the embedded MiniLM (README): entity F1 0.82 at 3e-4 and 5e-4,
    #: 0.75 at 1e-4 and 1e-3, 0.62 at 5e-5; a fresh token head needs more than classification's 2e-5.
    DEFAULT_LEARNING_RATE = 3e-4

    def controls(self) -> list[ControlSpec]:
        """The served controls, each over an object its regions are written for (422 otherwise)."""
        controls = super().controls()
        for control in controls:
            if problem := object_problem(control, type(self).__name__):
                raise UnprocessableEntity(problem)
        return controls

    # -- inference -----------------------------------------------------------------------------
    def serving_heads(self, version: str) -> list[ServingHead]:
        """The served version's heads; before any training, a baseline that already has an NER
        head for the config's labels (none for the embedded MiniLM: empty results)."""
        heads = super().serving_heads(version)
        if heads or self.store.meta(version) is not None:
            return heads
        return baseline_heads(self.task, self.controls())

    def served_alongside(self) -> set[str]:
        """The ``<Choices perRegion="true">`` each span answers (an aspect's sentiment, an attribute)."""
        layer = self.propagation
        return {choice.from_name for control in self.controls() for choice in layer.choice_controls(control)}

    # -- span propagation (the instant layer) ----------------------------------------------------
    @functools.cached_property
    def propagation(self) -> PropagationLayer:
        """Annotated spans propagated to new texts, combined with the fine-tuned model."""
        return PropagationLayer(self, self.task)

    def instant_layer(self) -> PropagationLayer:
        """Every annotation updates the span dictionary at once."""
        return self.propagation

    def predict_light(self, tasks: list[dict[str, Any]], version: str) -> list[dict[str, Any]] | None:
        """An instant version's predictions: the model's spans and the dictionary's."""
        return self.propagation.predict(tasks, version)
