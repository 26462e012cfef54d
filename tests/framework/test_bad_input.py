"""Bad input gets a clear JSON 4xx, and the next request is served normally."""

from __future__ import annotations

import time

import pytest

from label_studio_ml.api import create_app
from tests.conftest import load_fixture, load_keyword_model, wait_healthy


@pytest.fixture
def client(make_context):
    app = create_app(load_keyword_model(), context=make_context(max_request_bytes=4096))
    client = app.test_client()
    wait_healthy(client)
    return client


def assert_served_after(client) -> None:
    response = client.post("/predict", json=load_fixture("classification_predict_test.json"))
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 1


CASES = [
    ("malformed JSON", "/predict", {"data": b"{not json", "content_type": "application/json"}, 400),
    ("JSON array body", "/predict", {"json": [1, 2]}, 400),
    ("tasks not a list", "/predict", {"json": {"tasks": "x", "project": "1.1"}}, 400),
    ("task not an object", "/predict", {"json": {"tasks": [1], "project": "1.1"}}, 400),
    ("params not an object", "/predict", {"json": {"tasks": [], "project": "1", "params": 3}}, 400),
    ("no project and no label config", "/predict", {"json": {"tasks": [{"data": {}}]}}, 404),
    ("project of wrong type", "/predict", {"json": {"tasks": [], "project": [1]}}, 400),
    ("project id with a path", "/predict", {"json": {"tasks": [], "project": "../../etc"}}, 400),
    ("unknown project, no config", "/predict", {"json": {"tasks": [{"data": {}}], "project": "77"}}, 404),
    ("bad label config", "/predict", {"json": {"tasks": [], "project": "5", "label_config": "<View"}}, 422),
    ("text/plain body", "/predict", {"data": b"hello", "content_type": "text/plain"}, 415),
    (
        "oversized body",
        "/predict",
        {"data": b"{" + b" " * 5000 + b"}", "content_type": "application/json"},
        413,
    ),
    ("setup without project", "/setup", {"json": {"schema": "<View/>"}}, 400),
    ("setup hostname not a URL", "/setup", {"json": {"project": "1.2", "hostname": "ftp://x"}}, 400),
    ("setup schema not a string", "/setup", {"json": {"project": "1.2", "schema": 5}}, 400),
    ("webhook without action", "/webhook", {"json": {"project": {"id": 1}}}, 400),
    (
        "webhook project id invalid",
        "/webhook",
        {"json": {"action": "START_TRAINING", "project": {"id": "a/b"}}},
        400,
    ),
    ("unknown route", "/nope", {"json": {}}, 404),
    ("wrong method", "/setup", {"method": "get"}, 405),
]


@pytest.mark.parametrize("what,path,kwargs,status", CASES, ids=[case[0] for case in CASES])
def test_bad_input_gets_json_error_and_server_keeps_serving(client, what, path, kwargs, status):
    client.post("/setup", json=load_fixture("classification_setup.json"))
    kwargs = dict(kwargs)
    method = kwargs.pop("method", "post")
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, what
    body = response.get_json()
    assert set(body) == {"error", "error_type"}
    assert "Traceback" not in body["error"]
    assert_served_after(client)


def test_model_returning_wrong_count_is_a_clear_500(make_context):
    base = load_keyword_model()

    class Broken(base):
        def predict(self, tasks, context=None, **kwargs):
            return [{"result": []}]

    app = create_app(Broken, context=make_context())
    client = app.test_client()
    response = client.post("/predict", json=load_fixture("classification_predict.json"))
    assert response.status_code == 500
    assert response.get_json()["error_type"] == "ModelOutputError"
    assert "1 predictions for 15 tasks" in response.get_json()["error"]


def test_model_crash_is_a_500_without_traceback(make_context):
    base = load_keyword_model()

    class Crashing(base):
        def predict(self, tasks, context=None, **kwargs):
            raise ZeroDivisionError("secret internals")

    client = create_app(Crashing, context=make_context()).test_client()
    response = client.post("/predict", json=load_fixture("classification_predict.json"))
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error", "error_type": "InternalError"}


def test_health_is_503_until_warm_up_finishes(make_context):
    import threading

    gate = threading.Event()
    base = load_keyword_model()

    class Slow(base):
        @classmethod
        def warm_up(cls, context):
            gate.wait(5)

    client = create_app(Slow, context=make_context()).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["error_type"] == "NotReady"
    gate.set()
    deadline = time.time() + 5
    while client.get("/health").status_code != 200:
        assert time.time() < deadline
        time.sleep(0.01)
