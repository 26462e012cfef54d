"""Classification of ``<Choices>`` and ``<Taxonomy>`` as a task description (``hf_text.task.TextTask``).

Single choice: softmax, the top label and its probability. ``choice="multiple"``: sigmoid per
label (trained with a multi-label loss), every label over ``MULTILABEL_THRESHOLD``. A long text is
split into overlapping windows (in training too); its probabilities are the windows' probabilities
averaged, weighted by how many of the text's tokens each window holds.

A ``<Taxonomy>`` is classification over its selectable nodes (``hf_text.data.taxonomy``): a node
selected is its own label (an inner node's too, unless ``leafsOnly``), and results carry paths.
It is single-label unless ``maxUsages`` allows several paths (then at most that many are chosen).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bert_classifier.metrics import classification_metrics
from hf_text.data.controls import ControlSpec, Example, max_usages
from hf_text.data.taxonomy import path_label
from hf_text.runtime.device import pad_multiple
from hf_text.runtime.inference import sigmoid, softmax, window_logits
from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, LoadedModel
from hf_text.runtime.serving import Prediction
from hf_text.task import TaskBase
from hf_text.text.windows import split_windows, window_length


class ChoicesTask(TaskBase):
    """What the shared machinery needs to train, evaluate and serve a ``<Choices>`` head."""

    TASK_KIND = SEQUENCE_CLASSIFICATION
    HEADLINE_METRIC = "macro_f1"

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
            choices = _named(result, control)
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
            tokenizer, [example.text for example in examples], max_length, self.settings.window_stride
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
        stride = int(head.get("window_stride", self.settings.window_stride))
        # Within the model's positions: a head published before position limits were known may have
        # recorded a length its position table cannot hold.
        max_length = window_length(loaded.tokenizer, loaded.config, int(head["max_length"]))
        windows = split_windows(loaded.tokenizer, texts, max_length, stride)
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
        threshold = self.settings.multilabel_threshold
        chosen = [label for label in control.labels if label in allowed and allowed[label] >= threshold]
        if not chosen:
            # Nothing applies: the score is how sure the model is that even the likeliest does not.
            return [], float(1.0 - max(allowed.values()))
        limit = max_usages(control.attrs) if control.tag == "Taxonomy" else None
        if limit is not None and len(chosen) > limit:  # Label Studio refuses more paths than maxUsages
            kept = set(sorted(chosen, key=lambda label: -allowed[label])[:limit])
            chosen = [label for label in chosen if label in kept]
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
                if not labels or score < self.settings.prediction_min_score
                else [
                    {
                        "from_name": control.from_name,
                        "to_name": control.to_name,
                        **_value(labels, control),
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


def _named(result: dict[str, Any], control: ControlSpec) -> list[Any]:
    """The label names a result gives: its choices, or its taxonomy paths joined as label names."""
    value = result.get("value") if isinstance(result.get("value"), dict) else {}
    if control.tag != "Taxonomy":
        return list(value.get("choices") or [])
    paths = value.get("taxonomy") if isinstance(value.get("taxonomy"), list) else []
    return [name for name in (path_label(path) for path in paths) if name is not None]


def _value(labels: list[str], control: ControlSpec) -> dict[str, Any]:
    """A result's ``type`` and ``value``: the choices, or each chosen node's path."""
    if control.tag == "Taxonomy":
        return {"type": "taxonomy", "value": {"taxonomy": [list(control.path_of(label)) for label in labels]}}
    return {"type": "choices", "value": {"choices": labels}}
