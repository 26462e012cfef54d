"""Predicting before the first training with a baseline that already has an NER head.

A hub model such as a CoNLL-trained BERT ships a token-classification head whose ``id2label``
holds BIO tags. When some of its entity types map onto the config's labels, it predicts right
away; the embedded MiniLM has no such head, so a fresh project answers empty results until its
first training.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hf_text.data.controls import ControlSpec
from hf_text.runtime.loader import load_tokenizer
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.runtime.serving import ServingHead
from hf_text.settings import HFSettings
from hf_text.text.windows import window_length
from huggingface_ner.labels import LabelMap
from huggingface_ner.task import SpansTask


@functools.lru_cache(maxsize=8)
def _token_classifier_config(folder: Path) -> Any | None:
    """The saved config of ``folder`` when it has a token-classification head, else ``None``."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(folder))
    if not any(str(name).endswith("ForTokenClassification") for name in config.architectures or []):
        return None
    return config


def baseline_head(settings: HFSettings, label_map: LabelMap) -> dict[str, Any] | None:
    """A head description (``folder``, ``labels``, windows) for the baseline model itself, when it
    has an NER head with at least one entity type the config knows; ``None`` otherwise."""
    folder = resolve_model_folder(settings.baseline_model_name)
    config = _token_classifier_config(folder)
    if config is None:
        return None
    labels = [str(config.id2label[index]) for index in range(len(config.id2label))]
    if not label_map.covers(labels):
        return None
    return {
        "folder": folder,
        "labels": labels,
        "max_length": window_length(load_tokenizer(folder), config, settings.max_length),
        "window_stride": settings.window_stride,
    }


def baseline_heads(task: SpansTask, controls: Iterable[ControlSpec]) -> list[ServingHead]:
    """The baseline model itself, for the ``controls`` whose labels its NER head knows."""
    found = [(control, baseline_head(task.settings, task.label_map(control))) for control in controls]
    return [ServingHead(control, head, head["folder"]) for control, head in found if head]
