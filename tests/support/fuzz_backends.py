"""Both text backends, each trained once on a handful of tasks, behind their real Flask apps.

A trained version makes ``/predict`` run real inference (tokenization, windows, BIO decoding,
UTF-16 offsets) instead of answering empty results, which is where mangled texts can break.
Training goes through the model's own ``fit`` with only ``labeled_tasks`` replaced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bert_classifier.model import BertClassifier
from huggingface_ner.model import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import load_fixture

#: Tiny and fast: windows of 32 tokens so a few dozen words already span several of them.
MODEL_ENV = {
    "MAX_LENGTH": "32",
    "WINDOW_STRIDE": "8",
    "NUM_TRAIN_EPOCHS": "1",
    "MIN_TRAIN_STEPS": "0",
    "BATCH_SIZE": "4",
    "DEVICE": "cpu",
    "SEED": "7",
}

WORDS = ["alpha", "Berlin", "naïve", "東京", "Ольга", "data", "Müller", "rocket", "😀", "river"]


@dataclass(frozen=True)
class Backend:
    """One trained backend: its Flask test client and the captured bodies it is fuzzed from.

    ``probe`` is Label Studio's one-task ``/predict`` ("test the model"), the cheap valid request.
    """

    name: str
    client: Any
    setup: dict[str, Any]
    predict: dict[str, Any]
    probe: dict[str, Any]
    webhooks: tuple[dict[str, Any], ...]
    version: str

    def __repr__(self) -> str:  # hypothesis prints the fixture with a failing example: keep it short
        return f"<{self.name} backend, version {self.version}>"


def classification_tasks() -> list[dict[str, Any]]:
    """Eight tasks, half of each label, so the head learns something."""
    tasks = []
    for index in range(8):
        label = "positive" if index % 2 else "negative"
        text = f"{label} {WORDS[index]} {WORDS[(index + 3) % len(WORDS)]}"
        result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
        tasks.append(
            {"id": index + 1, "data": {"text": text}, "annotations": [{"id": index + 1, "result": result}]}
        )
    return tasks


def ner_tasks() -> list[dict[str, Any]]:
    """Eight tasks where every word is an entity, so the head predicts spans on any text."""
    labels = ["PER", "LOC", "ORG", "MISC"]
    tasks = []
    for index in range(8):
        words = [WORDS[(index + offset) % len(WORDS)] for offset in range(4)]
        text = " ".join(words)
        result, start = [], 0
        for position, word in enumerate(words):
            end = start + len(word.encode("utf-16-le")) // 2
            label = labels[(index + position) % len(labels)]
            value = {"start": start, "end": end, "text": word, "labels": [label]}
            result.append({"from_name": "label", "to_name": "text", "type": "labels", "value": value})
            start = end + 1
        tasks.append(
            {"id": index + 1, "data": {"text": text}, "annotations": [{"id": index + 1, "result": result}]}
        )
    return tasks


def trained_backend(name: str, model_dir: Path) -> Backend:
    """Train ``name`` ("classifier" or "ner") under ``model_dir`` and serve it with ``create_app``."""
    model_class, prefix, project, tasks = {
        "classifier": (BertClassifier, "classification", "1", classification_tasks()),
        "ner": (HuggingFaceNER, "ner", "2", ner_tasks()),
    }[name]
    setup = load_fixture(f"{prefix}_setup.json")
    settings = Settings(model_dir=model_dir, auto_configure_webhook=False, log_level="ERROR")
    context = BackendContext.for_model(model_class, settings, environ=MODEL_ENV)
    model = model_class(project_id=project, label_config=setup["schema"], context=context)
    model.labeled_tasks = lambda: tasks
    model.fit("START_TRAINING", {})
    client = create_app(model_class, context=context).test_client()
    deadline = time.monotonic() + 120
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, f"{name} never became healthy"
        time.sleep(0.05)
    webhooks = tuple(
        load_fixture(f"{prefix}_{hook}.json")
        for hook in (
            "webhook_annotation_created",
            "webhook_annotation_updated",
            "webhook_annotations_deleted",
            "webhook_start_training",
            "webhook_tasks_created",
        )
    )
    version = client.post("/setup", json=setup).get_json()["model_version"]
    return Backend(
        name,
        client,
        setup,
        predict=load_fixture(f"{prefix}_predict.json"),
        probe=load_fixture(f"{prefix}_predict_test.json"),
        webhooks=webhooks,
        version=version,
    )
