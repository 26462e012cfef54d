"""The classifier driven through ``create_app`` (Flask test client) with Label Studio's own bodies.

Training reads labeled tasks through the real label-studio-sdk path from a loopback stand-in
for Label Studio; one short fit on 24 short texts (seconds on a CPU).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bert_classifier.model import BertClassifier
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import load_fixture
from tests.support.fake_label_studio import fake_label_studio

WORDS = {
    "positive": ["love", "great", "wonderful", "excellent", "happy", "superb", "delightful", "perfect"],
    "negative": ["hate", "awful", "terrible", "horrible", "sad", "dreadful", "broken", "worst"],
}


def labeled_tasks() -> list[dict]:
    tasks = []
    for label, words in WORDS.items():
        for index, word in enumerate(words):
            ident = len(tasks) + 1
            result = [
                {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
            ]
            tasks.append(
                {
                    "id": ident,
                    "data": {"text": f"This is {word}, number {index}."},
                    "annotations": [{"id": ident, "result": result, "was_cancelled": False}],
                }
            )
    return tasks


@pytest.fixture
def small_training(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "NUM_TRAIN_EPOCHS": "2",
        "MIN_TRAIN_STEPS": "0",
        "MAX_LENGTH": "32",
        "WINDOW_STRIDE": "8",
        "LEARNING_RATE": "1e-4",
        "BATCH_SIZE": "8",
    }.items():
        monkeypatch.setenv(name, value)


def wait_healthy(client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "never became healthy"
        time.sleep(0.1)


def test_setup_predict_train_and_predict_again(tmp_path: Path, small_training) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    app = create_app(BertClassifier, context=context)
    client = app.test_client()
    wait_healthy(client)
    with fake_label_studio(labeled_tasks(), token="ls-token") as (url, seen):
        setup = {**load_fixture("classification_setup.json"), "hostname": url, "access_token": "ls-token"}
        started = time.monotonic()
        answer = client.post("/setup", json=setup)
        assert answer.status_code == 200 and time.monotonic() - started < 3
        first_version = answer.get_json()["model_version"]

        predict = load_fixture("classification_predict.json")
        before = client.post("/predict", json=predict).get_json()["results"]
        # Before any training: no pre-filled sentiment. Zero-shot serves only where the choices' words
        # separate the project's texts, and 15 texts are too few to tell (bert_classifier.light.abstain).
        assert len(before) == len(predict["tasks"]) and first_version == "0.0.1"
        assert all(item["model_version"] == first_version and item["result"] == [] for item in before)
        [project] = client.get("/metrics").get_json()["projects"].values()
        served = project["served"]
        assert "zero-shot abstains" in served["zero_shot"]["label"], served

        hook = client.post("/webhook", json=load_fixture("classification_webhook_start_training.json"))
        assert hook.status_code == 201
        assert client.get("/health").status_code == 200  # training runs in the background
        app.extensions["label_studio_ml"]["queue"].wait(setup["project"], timeout=600)
        assert any(path.startswith("/api/tasks/") for path in seen)

    new_version = client.post("/setup", json=setup).get_json()["model_version"]
    assert new_version != first_version
    after = client.post("/predict", json=predict).get_json()["results"]
    assert len(after) == len(predict["tasks"])
    assert all(item["model_version"] == new_version and item["result"] for item in after)
    choices = [item["result"][0]["value"]["choices"][0] for item in after]
    assert set(choices) <= {"positive", "negative"}
    summary = client.get("/metrics").get_json()["projects"][setup["project"]]["training"]["metrics"]
    # Every labeled task trained the version; a first training has no earlier version to score.
    assert summary["model_version"] == new_version and summary["train_size"] == len(labeled_tasks())
    assert summary["evaluation"]["model_version"] is None
