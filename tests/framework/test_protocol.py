"""Contract tests: real Label Studio 1.23.2 request bodies replayed against the serving core."""

from __future__ import annotations

import json
import time

import pytest
from flask.testing import FlaskClient

from label_studio_ml.api import create_app
from label_studio_ml.response import ModelResponse
from tests.conftest import load_fixture, load_keyword_model, wait_healthy

#: The key of the project in the captured requests: "<id>.<created_at>", as Label Studio names it.
PROJECT = load_fixture("classification_setup.json")["project"]

CLASSIFICATION_CONFIG = load_fixture("classification_setup.json")["schema"]


@pytest.fixture
def app(make_context, tmp_path, monkeypatch):
    training = tmp_path / "labeled.json"
    training.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    monkeypatch.setenv("KEYWORD_TRAINING_FILE", str(training))
    context = make_context(start_training_each_n_updates=2)
    app = create_app(load_keyword_model(), context=context)
    wait_healthy(app.test_client())
    return app


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


def wait_for_training(client: FlaskClient, project: str, runs: int, timeout: float = 10.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        training = client.get("/metrics").get_json()["projects"].get(project, {}).get("training", {})
        if training.get("runs", 0) >= runs and training.get("state") != "running":
            return training
        time.sleep(0.02)
    raise AssertionError(f"training of project {project} did not finish {runs} run(s)")


def test_health_answers_up_with_model_class(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "UP", "model_class": "KeywordModel"}
    assert client.get("/").get_json()["status"] == "UP"


def test_setup_returns_initial_version_and_remembers_connection(client, app):
    body = dict(load_fixture("classification_setup.json"), access_token="ls-token-1234")
    response = client.post("/setup", json=body)
    assert response.status_code == 200
    assert response.get_json() == {"model_version": "0.0.1"}
    access = app.extensions["label_studio_ml"]["context"].label_studio_for(PROJECT)
    assert (access.url, access.api_key) == ("http://127.0.0.1:8080", "ls-token-1234")


def test_setup_reuses_the_project_instance(client, app):
    for _ in range(5):
        client.post("/setup", json=load_fixture("classification_setup.json"))
    state = app.extensions["label_studio_ml"]["context"].state
    assert state.get(PROJECT, "setup_calls") == 1


@pytest.mark.parametrize(
    "name",
    [
        "classification_predict.json",
        "classification_predict_test.json",
        "classification_predict_interactive.json",
        "classification_predict_on_task_open.json",
    ],
)
def test_predict_returns_one_item_per_task_in_order(client, name):
    body = load_fixture(name)
    response = client.post("/predict", json=body)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == len(body["tasks"])
    for item in results:
        assert item["result"] == []  # nothing learned yet: empty, never a random label
        assert item["model_version"] == "0.0.1"
        assert isinstance(item["score"], float)


def test_webhooks_count_changes_then_train_and_bump_version(client):
    client.post("/setup", json=load_fixture("classification_setup.json"))
    created = client.post("/webhook", json=load_fixture("classification_webhook_annotation_created.json"))
    assert created.status_code == 201
    assert created.get_json()["scheduled"] is False
    updated = client.post("/webhook", json=load_fixture("classification_webhook_annotation_updated.json"))
    assert updated.get_json()["scheduled"] is True
    training = wait_for_training(client, PROJECT, runs=1)
    assert training["state"] == "idle"
    assert training["metrics"] == {"vocabulary": 9}
    version = client.post("/setup", json=load_fixture("classification_setup.json")).get_json()[
        "model_version"
    ]
    assert version != "0.0.1"
    predicted = client.post("/predict", json=load_fixture("classification_predict_on_task_open.json"))
    item = predicted.get_json()["results"][0]
    assert item["model_version"] == version
    assert item["result"][0]["value"]["choices"] == ["positive"]


def test_start_training_trains_at_once(client):
    client.post("/setup", json=load_fixture("classification_setup.json"))
    response = client.post("/webhook", json=load_fixture("classification_webhook_start_training.json"))
    assert response.status_code == 201
    assert response.get_json()["scheduled"] is True
    wait_for_training(client, PROJECT, runs=1)
    versions = client.get("/versions").get_json()
    assert len(versions["versions"]) == 1
    assert versions["projects"][PROJECT]["model_version"] == versions["versions"][0]


def test_bulk_delete_counts_each_annotation(client):
    body = load_fixture("classification_webhook_annotations_deleted.json")
    body["annotations"] = [{"id": 1}, {"id": 2}]
    assert client.post("/webhook", json=body).get_json()["scheduled"] is True


def test_bulk_create_counts_each_annotation(client):
    body = load_fixture("classification_webhook_annotation_created.json")
    body["action"] = "ANNOTATIONS_CREATED"
    body["annotation"] = [body["annotation"], dict(body["annotation"], id=99)]
    assert client.post("/webhook", json=body).get_json()["scheduled"] is True


def test_other_events_are_acknowledged_and_ignored(client):
    response = client.post("/webhook", json=load_fixture("classification_webhook_tasks_created.json"))
    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"


def test_versions_without_projects_is_empty(client):
    assert client.get("/versions").get_json() == {"versions": [], "projects": {}}


def test_upstream_style_predict_without_project_and_with_nothing_or_several_predictions(make_context):
    base = load_keyword_model()

    class Answers(base):
        answer: object = None

        def predict(self, tasks, context=None, **kwargs):
            return Answers.answer

    client = create_app(Answers, context=make_context()).test_client()
    wait_healthy(client)
    body = {"tasks": [{"id": 1, "data": {"text": "x"}}], "label_config": CLASSIFICATION_CONFIG}
    Answers.answer = ModelResponse(predictions=[])
    assert client.post("/predict", json=body).get_json() == {"results": []}
    two = [{"result": [], "score": 0.1, "model_version": name} for name in ("a", "b")]
    Answers.answer = [two]
    (answer,) = client.post("/predict", json=body).get_json()["results"]
    assert [p["model_version"] for p in answer] == ["a", "b"]
