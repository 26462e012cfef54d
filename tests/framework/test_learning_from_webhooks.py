"""Training goes on when Label Studio refuses the token it sent: the webhooks carried every
annotation since connecting, and the reason is said in one line, in the log and in ``/metrics``."""

from __future__ import annotations

import copy
import logging

import pytest

from label_studio_ml.studio.received import ReceivedAnnotations
from tests.conftest import load_fixture
from tests.support.fake_label_studio import LEGACY_TOKENS_DISABLED, fake_label_studio

PROJECT = load_fixture("classification_setup.json")["project"]
CREATED = load_fixture("classification_webhook_annotation_created.json")
DELETED = load_fixture("classification_webhook_annotations_deleted.json")
START = load_fixture("classification_webhook_start_training.json")
#: What Label Studio's /setup sends: the creator's legacy token.
LEGACY_TOKEN = "legacy-token-0123456789abcdef"


def annotation(task_id: int, annotation_id: int, text: str, label: str) -> dict:
    event = copy.deepcopy(CREATED)
    event["task"] = {"id": task_id, "data": {"text": text}, "project": 1}
    event["annotation"].update(id=annotation_id, task=task_id)
    event["annotation"]["result"][0]["value"]["choices"] = [label]
    return event


@pytest.fixture
def app(keyword_app):
    return keyword_app


def train(app, client) -> dict:
    assert client.post("/webhook", json=START).status_code == 201
    assert app.extensions["label_studio_ml"]["queue"].wait(PROJECT, 30)
    return client.get("/metrics").get_json()["projects"][PROJECT]


def test_a_refused_legacy_token_trains_on_what_the_webhooks_brought(app, caplog) -> None:
    client = app.test_client()
    caplog.set_level(logging.INFO)
    with fake_label_studio([], "a-personal-access-token", refusal=LEGACY_TOKENS_DISABLED) as (host, seen):
        setup = dict(load_fixture("classification_setup.json"), hostname=host, access_token=LEGACY_TOKEN)
        assert client.post("/setup", json=setup).status_code == 200
        for event in (
            annotation(11, 101, "wonderful stay", "positive"),
            annotation(12, 102, "awful noise", "negative"),
            annotation(13, 103, "terrible food", "negative"),
        ):
            assert client.post("/webhook", json=event).status_code == 201
        removed = copy.deepcopy(DELETED)
        removed["annotations"] = [{"id": 103}]
        assert client.post("/webhook", json=removed).status_code == 201
        entry = train(app, client)
    assert seen, "Label Studio was asked first"
    assert entry["training"]["state"] == "idle" and entry["training"]["error"] is None
    assert entry["training"]["metrics"] == {"vocabulary": 4}  # "terrible food" was deleted
    access = entry["label_studio"]
    assert access["source"] == "webhooks" and access["annotations"] == 2
    assert access["reason"] == (
        "Label Studio refused the token it sent (legacy tokens are disabled for this organization): "
        "learning from 2 annotation(s) received since connecting; to read all, set "
        "LABEL_STUDIO_API_KEY to a personal access token or enable legacy tokens"
    )
    # One line, the reason (words of it may show as *** where an earlier test's secret is one of them).
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.startswith(f"project {PROJECT}: Label Studio refused the ")
    assert "learning from 2 annotation(s) received since connecting" in warning
    assert "Traceback" not in caplog.text and LEGACY_TOKEN not in caplog.text
    predicted = client.post("/predict", json=load_fixture("classification_predict_on_task_open.json"))
    assert predicted.status_code == 200


def test_label_studio_that_lets_us_read_stays_the_source(app) -> None:
    client = app.test_client()
    labeled = [load_fixture("classification_exported_task_tasks_list.json")]
    with fake_label_studio(labeled, LEGACY_TOKEN) as (host, _):
        setup = dict(load_fixture("classification_setup.json"), hostname=host, access_token=LEGACY_TOKEN)
        client.post("/setup", json=setup)
        client.post("/webhook", json=annotation(11, 101, "wonderful stay", "positive"))
        entry = train(app, client)
    assert entry["label_studio"]["source"] == "label_studio" and "reason" not in entry["label_studio"]
    assert entry["training"]["metrics"]["vocabulary"] != 2  # Label Studio's task, not the webhook's


def test_received_annotations_keep_each_annotator_and_forget_deleted_ones(tmp_path) -> None:
    received = ReceivedAnnotations(tmp_path, PROJECT)
    received.apply("ANNOTATION_CREATED", annotation(5, 1, "a b", "positive"))
    received.apply("ANNOTATION_CREATED", annotation(5, 2, "a b", "negative"))  # a second annotator
    received.apply("ANNOTATION_UPDATED", annotation(5, 1, "a b", "negative"))
    received.apply("ANNOTATIONS_CREATED", {"annotation": [{"id": 8}, {"id": 9}]})
    [task] = received.tasks()
    assert task["data"] == {"text": "a b"}
    assert [(a["id"], a["result"][0]["value"]["choices"]) for a in task["annotations"]] == [
        (2, ["negative"]), (1, ["negative"]),
    ]  # fmt: skip
    received.apply("ANNOTATIONS_DELETED", {"annotations": [{"id": 1}, {"id": 2}]})
    assert received.tasks() == []
    assert received.summary() == {"bulk_created_unseen": 2}
