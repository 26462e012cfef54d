"""NER learns from the first annotated span: propagation through ``create_app`` (Flask test client)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from huggingface_ner import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import load_fixture, wait_healthy
from tests.support.fake_label_studio import fake_label_studio

CREATED = load_fixture("ner_webhook_annotation_created.json")  # Merkel, Macron (PER), Paris (LOC)
SETUP = load_fixture("ner_setup.json")
#: The project of the captured requests, as Label Studio names it: "<id>.<created_at>".
PROJECT = load_fixture("ner_setup.json")["project"]
NEW_TEXT = "😀 Yesterday Emmanuel Macron flew from Paris to meet angela merkel ."


def predict(client: Any, text: str) -> dict[str, Any]:
    task = {"id": 50, "data": {"text": text}}
    body = {"tasks": [task], "project": SETUP["project"], "label_config": SETUP["schema"]}
    [item] = client.post("/predict", json=body).get_json()["results"]
    return item


def regions(item: dict[str, Any], text: str) -> list[tuple[str, str]]:
    """``(text as Label Studio slices it with UTF-16 offsets, label)`` of each predicted region."""
    utf16 = text.encode("utf-16-le")
    shown = []
    for region in item["result"]:
        start, end = region["value"]["start"], region["value"]["end"]
        sliced = utf16[2 * start : 2 * end].decode("utf-16-le")
        assert sliced == region["value"]["text"]
        shown.append((sliced, region["value"]["labels"][0]))
    return shown


def test_an_annotated_span_is_predicted_in_the_next_task_at_once_and_forgotten_when_deleted(
    tmp_path: Path,
) -> None:
    settings = Settings(model_dir=tmp_path / "models", start_training_each_n_updates=0)
    app = create_app(HuggingFaceNER, context=BackendContext.from_settings(settings))
    client = app.test_client()
    wait_healthy(client, timeout=120)
    with fake_label_studio([], token="ls-token") as (url, _):
        setup = {**SETUP, "hostname": url, "access_token": "ls-token"}
        initial = client.post("/setup", json=setup).get_json()["model_version"]
        assert predict(client, NEW_TEXT)["result"] == []

        assert client.post("/webhook", json=CREATED).status_code == 201
        assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, timeout=60)
        version = client.post("/setup", json=setup).get_json()["model_version"]
        assert version.startswith("instant-v") and version != initial
        item = predict(client, NEW_TEXT)
        assert item["model_version"] == version
        # Whole words, same case: the lower-case "angela merkel" is not the annotated name.
        assert regions(item, NEW_TEXT) == [("Emmanuel Macron", "PER"), ("Paris", "LOC")]

        relabeled = copy.deepcopy(CREATED)
        relabeled["action"] = "ANNOTATION_UPDATED"
        relabeled["annotation"]["result"] = relabeled["annotation"]["result"][2:]  # only Paris now
        client.post("/webhook", json=relabeled)
        deleted = {**load_fixture("ner_webhook_annotations_deleted.json"), "annotations": [{"id": 10}]}
        assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, timeout=60)
        assert regions(predict(client, NEW_TEXT), NEW_TEXT) == [("Paris", "LOC")]
        client.post("/webhook", json=deleted)
        assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, timeout=60)
        assert predict(client, NEW_TEXT)["result"] == []
