"""``BertClassifier``: text classification for ``<Choices>`` and ``<Taxonomy>`` over ``<Text>`` or a
``<Paragraphs>`` dialogue, single- or multi-label."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bert_classifier.instant import ClassifierLayers, baseline_encoder, light_layers_enabled
from bert_classifier.light import abstain, clusters
from bert_classifier.light.zero_shot import is_zero_shot_version
from bert_classifier.task import ChoicesTask
from hf_text.base import HFTextModel
from hf_text.data.controls import ControlSpec
from hf_text.instant.records import is_instant_version
from hf_text.runtime.serving import Prediction, predict_per_control
from label_studio_ml.context import BackendContext
from label_studio_ml.model import MODEL_VERSION_KEY
from label_studio_ml.response import ModelResponse


class BertClassifier(HFTextModel):
    """Fine-tunes a BERT-style encoder per ``<Choices>`` and predicts its choices (how:
    ``bert_classifier.task``); before and between trainings, zero-shot and the instant head."""

    TASK_KIND = ChoicesTask.TASK_KIND
    TASK_CLASS = ChoicesTask
    #: A ``<Taxonomy>`` is classification over its nodes (``bert_classifier.task``).
    CONTROL_TAG = ("Choices", "Taxonomy")
    #: A ``<Paragraphs>`` dialogue is classified as a whole (its turns read as lines "speaker: words"), a
    #: ``<HyperText>`` page by its text.
    OBJECT_TAGS = ("Text", "HyperText", "Paragraphs")
    #: Measured on BBC News with the embedded MiniLM (200 examples, bench/learning_curves.py):
    #: macro-F1 0.31 at 2e-5, 0.85 at 5e-5, 0.96 at 1e-4 and 2e-4. A small encoder with a fresh
    #: head needs more than the 2e-5 usual for BERT-base; set LEARNING_RATE for large models.
    DEFAULT_LEARNING_RATE = 1e-4

    @classmethod
    def warm_up(cls, context: BackendContext) -> None:
        """Also load the sentence encoder before ``/health`` says ready: the first prediction and
        the first annotation's update then do not load it (a 0.2 s stall of the whole worker,
        deserializing weights with the interpreter held)."""
        super().warm_up(context)
        settings = cls.settings_in(context)
        if light_layers_enabled(settings):
            baseline_encoder(settings)

    # -- zero-shot and the instant head ----------------------------------------------------------
    @functools.cached_property
    def light_layers(self) -> ClassifierLayers:
        """Zero-shot and the instant head of this project."""
        return ClassifierLayers(self, self.task)

    def instant_layer(self) -> ClassifierLayers:
        """The instant head is refit on every annotation."""
        return self.light_layers

    def default_version(self) -> str | None:
        """Zero-shot's version when it serves this config (``ZERO_SHOT``), else none."""
        return self.light_layers.zero_shot_version() if self.label_config else None

    def is_default_version(self, version: str) -> bool:
        """Zero-shot versions follow the config: a stored one is replaced by the current config's."""
        return is_zero_shot_version(version)

    def predict(
        self, tasks: list[dict[str, Any]], context: dict[str, Any] | None = None, **kwargs: Any
    ) -> ModelResponse:
        """Keeps the tasks' texts first where a light layer serves: zero-shot's decision whether to
        serve (``bert_classifier.light.abstain``) counts the batch itself, and so does the version the
        response names. Before any annotation, ``/metrics`` then says what serves and why."""
        stored = self.get(MODEL_VERSION_KEY)
        light = not stored or is_instant_version(stored) or self.is_default_version(stored)
        if self.label_config and light:
            for control in self.controls():
                abstain.keep_texts(self.light_layers, control, tasks)
        response = super().predict(tasks, context, **kwargs)
        if not stored and self.label_config:
            abstain.report_before_labels(self.light_layers)
        return response

    def predict_light(self, tasks: list[dict[str, Any]], version: str) -> list[dict[str, Any]] | None:
        """Zero-shot or instant-head predictions, from each text's cached sentence embedding."""
        if not (is_instant_version(version) or self.is_default_version(version)):
            return None

        def answer(control: ControlSpec, texts: list[str]) -> list[Prediction] | None:
            embeddings = self.light_layers.encoder.embed(texts, self.token_budget)
            found = self.light_layers.probabilities(version, control, embeddings)
            if found is None:
                return None
            probabilities, labels = found
            head = {"labels": list(labels), "multiple": control.multiple}
            return self.task.predictions_from(probabilities, control, head)

        return predict_per_control(tasks, self.controls(), self.task_text, answer).serialize(version)

    # -- active learning -------------------------------------------------------------------------
    def task_clusters(self, tasks: list[dict[str, Any]]) -> list[int] | None:
        """Each task's cluster among the project's (``light.clusters``), from the first control's
        sentence embeddings (cached: the round's predictions embedded them); ``None`` without them."""
        if not tasks or not light_layers_enabled(self.hf_settings):
            return None
        control = self.controls()[0]
        texts = [self.task_text(task, control) for task in tasks]
        present = [index for index, text in enumerate(texts) if text]
        if not present:
            return None
        embeddings = self.light_layers.encoder.embed([texts[i] for i in present], self.token_budget)
        centroids = clusters.usable(self.get(clusters.CENTROIDS_KEY), embeddings.shape[1])
        if centroids is None:
            centroids = clusters.fit_centroids(embeddings)
            self.set(clusters.CENTROIDS_KEY, np.round(centroids, 5).tolist())
        found = dict(zip(present, clusters.nearest(embeddings, centroids), strict=True))
        return [found.get(index, len(centroids)) for index in range(len(tasks))]
