"""The task description: what one kind of task gives the shared machinery, and what a training needs.

A Hugging Face text backend serves one kind of task (``<Choices>`` classification, ``<Labels>``
entities). What is particular to that kind -- targets from annotation results, the labels of a
control's head and its config, training rows and the collator, evaluation and the decoding of
predictions -- is its *task description*, an object that satisfies ``TextTask``
(``bert_classifier.task``, ``huggingface_ner.task``; ``TaskBase`` holds their common part).

The shared machinery receives a task description as a parameter, never the model class that
serves it: training (``hf_text.training``: fitting, heads, forward evaluation, the int8 check)
takes a ``TextTask`` and a ``TrainingRun`` (the settings, device, store and progress callback of
one training), and instant learning (``hf_text.instant.learning``) a ``TextTask`` next to the
project it learns for. Nothing here or below imports ``hf_text.base``: ``HFTextModel`` builds its
task from its settings (``HFTextModel.task``) and hands it over, as a trainer receives a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from hf_text.data.annotations import results_for
from hf_text.data.controls import ControlSpec, Example
from hf_text.model_store import ModelStore
from hf_text.runtime.device import choose_device, default_token_budget
from hf_text.runtime.loader import LoadedModel
from hf_text.runtime.serving import Prediction
from hf_text.settings import HFSettings


class TextTask(Protocol):
    """What a task kind provides to training, evaluation, the int8 check and instant learning."""

    #: The head architecture (``hf_text.runtime.loader``: sequence or token classification).
    TASK_KIND: str
    #: The metric of ``evaluate`` that says how good a head is (the int8 check compares it).
    HEADLINE_METRIC: str

    def results_of(self, annotation: dict[str, Any], control: ControlSpec) -> list[dict[str, Any]]:
        """The annotation's results that teach ``control`` (instant learning hands them to
        ``target_from_results``)."""

    def target_from_results(
        self, results: list[dict[str, Any]], text: str, control: ControlSpec
    ) -> Any | None:
        """The training target from one annotation's results for ``control`` (``None``: skip the task)."""

    def model_labels(self, control: ControlSpec) -> list[str]:
        """The head's output labels, in output order."""

    def head_config(self, control: ControlSpec, labels: list[str]) -> dict[str, Any]:
        """Config overrides for a new head of ``control`` that outputs ``labels``."""

    def head_matches(self, head: dict[str, Any], control: ControlSpec) -> bool:
        """Whether a trained head (its metadata) can still serve ``control`` as configured now."""

    def training_rows(
        self, tokenizer: Any, examples: list[Example], control: ControlSpec, labels: list[str],
        max_length: int,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Tokenized training rows (features plus ``labels``) for the Trainer."""

    def collator(self, tokenizer: Any) -> Any:
        """The Trainer's data collator (dynamic padding)."""

    def evaluate(
        self, loaded: LoadedModel, examples: list[Example], control: ControlSpec, head: dict[str, Any]
    ) -> dict[str, Any]:
        """Metrics of a trained head on ``examples`` (``HEADLINE_METRIC`` among them)."""

    def predict_texts(
        self, loaded: LoadedModel, texts: list[str], control: ControlSpec, head: dict[str, Any]
    ) -> list[Prediction]:
        """Decoded predictions for non-empty ``texts``, one per text, in order."""


class TaskBase:
    """The common part of a task description: the settings it reads, the device it runs on, and
    the default head config (label names both ways) and match (any head serves)."""

    TASK_KIND: str = ""
    HEADLINE_METRIC: str = "macro_f1"

    def __init__(self, settings: HFSettings) -> None:
        self.settings = settings

    @property
    def device(self) -> torch.device:
        """The torch device for inference and training (``DEVICE``)."""
        return choose_device(self.settings.device)

    @property
    def token_budget(self) -> int:
        """Tokens per inference batch: ``TOKEN_BUDGET``, or the device's default."""
        return self.settings.token_budget or default_token_budget(self.device)

    def head_config(self, control: ControlSpec, labels: list[str]) -> dict[str, Any]:
        """The number of labels and their names in both directions."""
        return {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {label: index for index, label in enumerate(labels)},
        }

    def head_matches(self, head: dict[str, Any], control: ControlSpec) -> bool:
        """Any head trained for the control serves it."""
        return True

    def results_of(self, annotation: dict[str, Any], control: ControlSpec) -> list[dict[str, Any]]:
        """The control's own results (NER adds its regions' per-region choices)."""
        return results_for(annotation, control.from_name, control.to_name)


def _no_progress(**fields: Any) -> None:
    """A training nobody follows."""


@dataclass(frozen=True)
class TrainingRun:
    """What one training needs besides its task: where it runs and stores, with which settings,
    why (``event``), and whom it tells how far it got (``progress(head=..., step=..., ...)``)."""

    settings: HFSettings
    device: torch.device
    store: ModelStore
    event: str
    learning_rate: float
    #: Recorded in each version's metadata (``HFTextModel.owns_legacy_data`` reads it).
    model_class: str
    #: For log lines.
    project: str = ""
    progress: Callable[..., None] = _no_progress
