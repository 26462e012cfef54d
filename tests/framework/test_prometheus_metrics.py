"""``/metrics`` in the Prometheus format when asked for it (JSON stays the default), and the counters
moving with requests, predictions, trainings and versions (one process: the Flask test client)."""

from __future__ import annotations

import json

import pytest
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

from label_studio_ml.telemetry import gunicorn_hooks
from label_studio_ml.telemetry.metrics import layer_of
from tests.conftest import load_fixture
from tests.support.prometheus import value

PROJECT = load_fixture("classification_setup.json")["project"]
REQUESTS = "label_studio_ml_http_requests_total"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def client(keyword_app, tmp_path, monkeypatch):
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    monkeypatch.setenv("KEYWORD_TRAINING_FILE", str(labeled))
    return keyword_app.test_client()


def scrape(client) -> str:
    response = client.get("/metrics?format=prometheus")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return response.get_data(as_text=True)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", BROWSER, "application/json, text/plain"])
def test_json_stays_the_default(client, accept) -> None:
    response = client.get("/metrics", headers={"Accept": accept} if accept else {})
    assert response.is_json and "worker" in response.get_json()


@pytest.mark.parametrize(
    ("query", "accept", "content_type"),
    [
        ("?format=prometheus", None, "text/plain"),
        ("?format=prometheus", "application/json", "text/plain"),
        ("", "text/plain", "text/plain"),
        ("", "application/json;q=0.5, text/plain", "text/plain"),
        ("", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5,*/*;q=0.1", OPENMETRICS),
    ],
)
def test_prometheus_format_when_asked_for(client, query, accept, content_type) -> None:
    response = client.get(f"/metrics{query}", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.content_type.startswith(content_type)
    if content_type == "text/plain":
        assert value(response.get_data(as_text=True), REQUESTS, route="/metrics") >= 1


def test_counters_move_with_requests_predictions_and_trainings(client, monkeypatch) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/health").status_code == 200
    assert client.get("/no-such-route").status_code == 404
    assert client.post("/setup", json=load_fixture("classification_setup.json")).status_code == 200
    predict = load_fixture("classification_predict.json")
    assert client.post("/predict", json=predict).status_code == 200
    start = load_fixture("classification_webhook_start_training.json")
    queue = client.application.extensions["label_studio_ml"]["queue"]
    assert client.post("/webhook", json=start).status_code == 201 and queue.wait(PROJECT, 30)
    monkeypatch.setenv("KEYWORD_FIT_FAIL", "1")
    assert client.post("/webhook", json=start).status_code == 201 and queue.wait(PROJECT, 30)
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(REQUESTS, route="/health", method="GET", status="200") == 3
    assert moved(REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert moved(REQUESTS, route="/predict", method="POST", status="200") == 1
    assert moved("label_studio_ml_http_request_duration_seconds_count", route="/health") == 3
    assert moved("label_studio_ml_predictions_total", layer="other") == len(predict["tasks"])
    assert moved("label_studio_ml_trainings_total", outcome="succeeded") == 1
    assert moved("label_studio_ml_trainings_total", outcome="failed") == 1
    assert moved("label_studio_ml_training_duration_seconds_count", outcome="succeeded") == 1
    assert moved("label_studio_ml_versions_published_total", layer="other") == 1  # 0.0.1-r1, the bump
    assert value(after, "label_studio_ml_training_slots", state="running") == 0


def test_the_layer_is_read_from_the_version_name() -> None:
    assert layer_of("zero-shot-1a2b3c") == "zero_shot"
    assert layer_of("instant-v3-20260101-000000") == "instant"
    assert layer_of("v2-20260101-000000") == "fine_tuned"
    assert [layer_of(v) for v in ("0.0.1", "0.0.1-r2", None, "vocab")] == ["other"] * 4


def test_gunicorn_hooks_empty_the_directory_and_drop_dead_workers_live_gauges(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "counter_1.db"
    stale.write_bytes(b"left by an earlier run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_hooks.on_starting(None)
    assert list(tmp_path.iterdir()) == []
    dead = tmp_path / "gauge_livesum_4242.db"
    dead.write_bytes(b"")
    gunicorn_hooks.child_exit(None, type("Worker", (), {"pid": 4242}))
    assert not dead.exists()
    gunicorn_hooks.on_exit(None)
    assert tmp_path.is_dir()  # the user's directory stays


def test_instant_updates_count_by_outcome_and_publish_instant_versions(make_context) -> None:
    from label_studio_ml.api import create_app
    from tests.conftest import load_keyword_model, wait_healthy

    class Instant(load_keyword_model()):
        INSTANT_EVENTS = ("ANNOTATION_CREATED",)

        def learn_instantly_many(self, events):  # one refit per update, as the HF backends do
            ids = [data["annotation"]["id"] for _, data in events]
            if 666 in ids:
                raise RuntimeError("a broken update")
            self.set_model_version(f"instant-v{ids[-1]}-20260101-000000")

    app = create_app(Instant, context=make_context(start_training_each_n_updates=0))
    client = app.test_client()
    wait_healthy(client)
    assert client.post("/setup", json=load_fixture("classification_setup.json")).status_code == 200
    instant = app.extensions["label_studio_ml"]["instant"]
    created = load_fixture("classification_webhook_annotation_created.json")
    before = scrape(client)
    for annotation_id in (666, 7):  # one at a time: each is an update of its own
        body = {**created, "annotation": {**created["annotation"], "id": annotation_id}}
        assert client.post("/webhook", json=body).status_code == 201 and instant.wait(PROJECT, 10)
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("label_studio_ml_instant_updates_total", outcome="failed") == 1
    assert moved("label_studio_ml_instant_updates_total", outcome="succeeded") == 1
    assert moved("label_studio_ml_instant_update_latency_seconds_count") == 1
    assert moved("label_studio_ml_versions_published_total", layer="instant") == 1
