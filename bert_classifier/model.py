"""``BertClassifier``: text classification for ``<Choices>`` over ``<Text>``, single- or multi-label."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bert_classifier.instant import ClassifierLayers, baseline_encoder, light_layers_enabled
from bert_classifier.light import abstain
from bert_classifier.light.zero_shot import is_zero_shot_version
from bert_classifier.metrics import classification_metrics
from hf_text.base import HFTextModel
from hf_text.data.annotations import annotation_time
from hf_text.data.controls import ControlSpec, Example
from hf_text.data.trained_on import example_key, read_record
from hf_text.instant.records import is_instant_version
from hf_text.runtime.device import pad_multiple
from hf_text.runtime.inference import sigmoid, softmax, window_logits
from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, LoadedModel
from hf_text.runtime.serving import Prediction, TaskPredictions
from hf_text.text.windows import split_windows
from label_studio_ml.context import BackendContext
from label_studio_ml.model import MODEL_VERSION_KEY
from label_studio_ml.response import ModelResponse


class BertClassifier(HFTextModel):
    """Fine-tunes a BERT-style encoder per ``<Choices>`` and predicts its choices.

    Single choice: softmax, the top label and its probability. ``choice="multiple"``: sigmoid
    per label (trained with a multi-label loss), every label over ``MULTILABEL_THRESHOLD``.
    A long text is split into overlapping windows (in training too); its probabilities are the
    windows' probabilities averaged, weighted by how many of the text's tokens each window holds.
    """

    TASK_KIND = SEQUENCE_CLASSIFICATION
    CONTROL_TAG = "Choices"
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

    # -- training data -------------------------------------------------------------------------
    def target_from_results(
        self, results: list[dict[str, Any]], text: str, control: ControlSpec
    ) -> frozenset[str] | None:
        """The annotated choices that the config still has (by alias or value).

        With ``choice="multiple"`` an annotation that ticks nothing says that none of the labels
        applies: the empty set, which trains every label towards "no" (skipping it would teach
        the model that something always applies). ``None`` (skip the task) when a single choice
        is missing, or when every choice made is one the config no longer has.
        """
        chosen: list[str] = []
        named = 0
        for result in results:
            value = result.get("value") if isinstance(result.get("value"), dict) else {}
            choices = value.get("choices") or []
            named += len(choices)
            for choice in choices:
                label = control.label_for(choice)
                if label is not None and label not in chosen:
                    chosen.append(label)
        if not chosen:
            return frozenset() if control.multiple and not named else None
        return frozenset(chosen if control.multiple else chosen[:1])

    def model_labels(self, control: ControlSpec) -> list[str]:
        """The config's choices, in config order."""
        return list(control.labels)

    def head_config(self, control: ControlSpec, labels: list[str]) -> dict[str, Any]:
        """Label names plus the loss: cross-entropy, or per-label BCE for ``choice="multiple"``."""
        problem = "multi_label_classification" if control.multiple else "single_label_classification"
        return {**super().head_config(control, labels), "problem_type": problem}

    def head_matches(self, head: dict[str, Any], control: ControlSpec) -> bool:
        """A head trained single-label cannot answer multi-label (and vice versa) until retrained."""
        return bool(head.get("multiple")) == control.multiple

    def training_rows(
        self,
        tokenizer: Any,
        examples: list[Example],
        control: ControlSpec,
        labels: list[str],
        max_length: int,
    ) -> list[dict[str, Any]]:
        """One row per window; every window of a text carries the text's label(s)."""
        index = {label: position for position, label in enumerate(labels)}
        windows = split_windows(
            tokenizer, [example.text for example in examples], max_length, self.hf_settings.window_stride
        )
        rows = []
        for window in windows:
            target = examples[window.text_index].target
            if control.multiple:
                label: Any = [1.0 if name in target else 0.0 for name in labels]
            else:
                label = index[next(iter(target))]
            rows.append({**window.features(), "labels": label})
        return rows

    def collator(self, tokenizer: Any) -> Any:
        """Pads each batch to its longest row."""
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_multiple(self.device))

    # -- inference -----------------------------------------------------------------------------
    def probabilities(self, loaded: LoadedModel, texts: list[str], head: dict[str, Any]) -> np.ndarray:
        """``(len(texts), len(head labels))`` probabilities, long texts combined over windows."""
        stride = int(head.get("window_stride", self.hf_settings.window_stride))
        windows = split_windows(loaded.tokenizer, texts, int(head["max_length"]), stride)
        logits = window_logits(loaded, windows, self.token_budget)
        squash = sigmoid if head.get("multiple") else softmax
        totals = np.zeros((len(texts), len(head["labels"])), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        for window, window_logit in zip(windows, logits, strict=True):
            weight = max(window.content_length, 1)
            totals[window.text_index] += weight * squash(window_logit.astype(np.float64))
            weights[window.text_index] += weight
        return totals / np.maximum(weights, 1.0)[:, None]

    def decide(
        self, probabilities: np.ndarray, control: ControlSpec, head: dict[str, Any]
    ) -> tuple[list[str], float]:
        """Chosen labels (in config order) and the score, considering only labels the config has.

        A head's label counts under the config's name for it (a head trained before an alias was
        added still answers, with the alias)."""
        allowed: dict[str, float] = {}
        for index, name in enumerate(head["labels"]):
            label = control.label_for(name)
            if label is not None:
                allowed[label] = max(float(probabilities[index]), allowed.get(label, 0.0))
        if not allowed:
            return [], 0.0
        if not control.multiple:
            best = max(allowed, key=lambda label: allowed[label])
            return [best], float(allowed[best])
        threshold = self.hf_settings.multilabel_threshold
        chosen = [label for label in control.labels if label in allowed and allowed[label] >= threshold]
        if not chosen:
            # Nothing applies: the score is how sure the model is that even the likeliest does not.
            return [], float(1.0 - max(allowed.values()))
        return chosen, float(np.mean([allowed[label] for label in chosen]))

    def predict_texts(
        self, loaded: LoadedModel, texts: list[str], control: ControlSpec, head: dict[str, Any]
    ) -> list[Prediction]:
        """A ``choices`` result per text (none when no label applies)."""
        return self.predictions_from(self.probabilities(loaded, texts, head), control, head)

    def predictions_from(
        self, probabilities: np.ndarray, control: ControlSpec, head: dict[str, Any]
    ) -> list[Prediction]:
        """Each row of ``probabilities`` (over ``head["labels"]``) as a result and its score."""
        predictions = []
        for row in probabilities:
            labels, score = self.decide(row, control, head)
            # A pre-filled choice right less often than wrong costs the annotator more than none
            # (PREDICTION_MIN_SCORE); the score stays, so sorting by it still works.
            items = (
                []
                if not labels or score < self.hf_settings.prediction_min_score
                else [
                    {
                        "from_name": control.from_name,
                        "to_name": control.to_name,
                        "type": "choices",
                        "value": {"choices": labels},
                        "score": round(score, 6),
                    }
                ]
            )
            predictions.append((items, round(score, 6)))
        return predictions

    def evaluate(
        self, loaded: LoadedModel, examples: list[Example], control: ControlSpec, head: dict[str, Any]
    ) -> dict[str, Any]:
        """Accuracy, macro-F1 and per-label F1 of the head on ``examples``."""
        probabilities = self.probabilities(loaded, [example.text for example in examples], head)
        predicted = [frozenset(self.decide(row, control, head)[0]) for row in probabilities]
        return classification_metrics(
            [example.target for example in examples], predicted, list(control.labels)
        )

    # -- zero-shot and the instant head ----------------------------------------------------------
    @functools.cached_property
    def light_layers(self) -> ClassifierLayers:
        """Zero-shot and the instant head of this project."""
        return ClassifierLayers(self)

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
        gathered = TaskPredictions(len(tasks))
        for control in self.controls():
            texts = [self.task_text(task, control) for task in tasks]
            present = [index for index, text in enumerate(texts) if text]
            if not present:
                continue
            embeddings = self.light_layers.encoder.embed([texts[i] for i in present], self.token_budget)
            found = self.light_layers.probabilities(version, control, embeddings)
            if found is not None:
                probabilities, labels = found
                head = {"labels": list(labels), "multiple": control.multiple}
                gathered.add(present, self.predictions_from(probabilities, control, head))
        return gathered.serialize(version)

    def fine_tuned_correct(
        self, version: str, control: ControlSpec, examples: list[tuple[str, Any]]
    ) -> list[float | None]:
        """Whether fine-tuned ``version`` predicts each ``(text, target)`` exactly; ``None`` where it
        has no head for ``control``, or was trained on that very example (not a forward check)."""
        for serving in self.serving_heads(version):
            if serving.control.from_name == control.from_name:
                seen = read_record(serving.folder) or frozenset()
                undated = annotation_time({})  # an example's key is its text and target only
                keys = [example_key(Example(text, frozenset(target), undated)) for text, target in examples]
                loaded = self.load_serving(serving, version)
                rows = self.probabilities(loaded, [text for text, _ in examples], serving.head)
                decided = [frozenset(self.decide(row, control, serving.head)[0]) for row in rows]
                return [
                    None if key in seen else float(chosen == frozenset(target))
                    for chosen, key, (_, target) in zip(decided, keys, examples, strict=True)
                ]
        return [None for _ in examples]
