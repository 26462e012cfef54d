"""Integration: the NER backend under real gunicorn (2 workers), trained from a webhook.

Label Studio's request bodies are the captured ones; the labeled tasks come from a stand-in for
Label Studio's task list (real CoNLL-2003 sentences), read through the real SDK client.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import load_fixture
from tests.support.fake_label_studio import fake_label_studio
from tests.support.ner_conll import conll_dir, read_conll, to_task
from tests.support.servers import ROOT, assert_every_worker_serves, backend

#: The project of the captured requests, as Label Studio names it: "<id>.<created_at>".
PROJECT = load_fixture("ner_setup.json")["project"]

TOKEN = "test-token-0123456789"


def js_slice(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def versions_seen(url: str, count: int = 8) -> set[str]:
    body = load_fixture("ner_setup.json")
    return {requests.post(f"{url}/setup", json=body, timeout=5).json()["model_version"] for _ in range(count)}


def wait_for_training(url: str, project: str, timeout: float) -> dict:
    deadline = time.time() + timeout
    while True:
        training = (
            requests.get(f"{url}/metrics", timeout=5).json()["projects"].get(project, {}).get("training", {})
        )
        if training.get("runs", 0) + training.get("failures", 0) >= 1 and training.get("state") == "idle":
            return training
        assert time.time() < deadline, training
        time.sleep(0.5)


@pytest.mark.slow
def test_webhook_trains_and_every_worker_serves_entities(tmp_path):
    tasks = [to_task(sentence, i) for i, sentence in enumerate(read_conll(conll_dir() / "train.txt")[:200])]
    with fake_label_studio(tasks, TOKEN) as (ls_url, seen):
        env = {
            "MODEL_DIR": str(tmp_path / "models"),
            "LABEL_STUDIO_URL": ls_url,
            "LABEL_STUDIO_API_KEY": TOKEN,
            "NUM_TRAIN_EPOCHS": "3",
            "MIN_TRAIN_STEPS": "0",
            "MAX_LENGTH": "64",
            "WINDOW_STRIDE": "16",
        }
        with backend(ROOT / "huggingface_ner", env, workers=2, timeout=180) as url:
            assert versions_seen(url) == {"0.0.1"}
            predict_body = load_fixture("ner_predict.json")
            before = requests.post(f"{url}/predict", json=predict_body, timeout=60).json()["results"]
            assert len(before) == len(predict_body["tasks"]) and all(item["result"] == [] for item in before)

            started = time.time()
            webhook = requests.post(
                f"{url}/webhook", json=load_fixture("ner_webhook_start_training.json"), timeout=5
            )
            assert webhook.status_code == 201 and time.time() - started < 1.0
            training = wait_for_training(url, PROJECT, timeout=240)
            assert training["runs"] == 1 and training["failures"] == 0, training
            assert seen and all("project=2" in path for path in seen)
            # /metrics names the version it published and what it learned from; a first training
            # has no earlier version to score on examples it never saw.
            assert training["metrics"]["train_size"] > 0
            assert training["metrics"]["evaluation"]["model_version"] is None

            (version,) = versions_seen(url)
            assert version != "0.0.1" and training["metrics"]["model_version"] == version
            after = assert_every_worker_serves(url, predict_body, PROJECT, version, workers=2)
            assert len(after) == len(predict_body["tasks"])
            assert any(item["result"] for item in after)  # 200 sentences are enough to find some names
            for task, item in zip(predict_body["tasks"], after, strict=True):
                assert item["model_version"] == version
                for region in item["result"]:
                    value = region["value"]
                    assert js_slice(task["data"]["text"], value["start"], value["end"]) == value["text"]
                    assert value["labels"][0] in {"PER", "ORG", "LOC", "MISC"}
