"""Integration: ``/metrics?format=prometheus`` of a real 2-worker gunicorn server adds up what both
workers counted (prometheus_client's multiprocess mode), read with prometheus_client's own parser."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import BACKENDS, load_fixture
from tests.support.prometheus import value
from tests.support.servers import backend

PROJECT = load_fixture("classification_setup.json")["project"]
KEYWORD = BACKENDS / "keyword"
REQUESTS = "label_studio_ml_http_requests_total"
HEALTH_CHECKS = 20


@pytest.fixture
def env(tmp_path):
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    return {
        "MODEL_DIR": str(tmp_path / "models"),
        "KEYWORD_TRAINING_FILE": str(labeled),
        "START_TRAINING_EACH_N_UPDATES": "2",
    }


def json_reports_until_both_workers_answered(url: str) -> int:
    """Read the JSON ``/metrics`` (it names the worker's pid) until two workers answered; how many."""
    pids: set[int] = set()
    sent = 0
    with ThreadPoolExecutor(4) as pool:
        while len(pids) < 2:
            reports = list(pool.map(lambda _: requests.get(f"{url}/metrics", timeout=10), range(8)))
            sent += len(reports)
            pids |= {report.json()["worker"]["pid"] for report in reports}
            assert sent < 800, "one worker answered every request"
    return sent


def train(url: str) -> None:
    """Two annotation webhooks start a training (``START_TRAINING_EACH_N_UPDATES=2``); wait for it."""
    for name in (
        "classification_webhook_annotation_created.json",
        "classification_webhook_annotation_updated.json",
    ):
        assert requests.post(f"{url}/webhook", json=load_fixture(name), timeout=5).status_code == 201
    deadline = time.monotonic() + 60
    while True:
        training = requests.get(f"{url}/metrics", timeout=5).json()["projects"][PROJECT]["training"]
        if training["runs"] >= 1 and training["state"] == "idle":
            return
        assert time.monotonic() < deadline, training
        time.sleep(0.1)


def test_two_workers_counters_add_up_in_every_scrape(env):
    with backend(KEYWORD, env, workers=2) as url:
        json_reports = json_reports_until_both_workers_answered(url)
        with ThreadPoolExecutor(4) as pool:
            checks = pool.map(lambda _: requests.get(f"{url}/health", timeout=5), range(HEALTH_CHECKS))
            codes = [check.status_code for check in checks]
        assert codes == [200] * HEALTH_CHECKS
        assert requests.post(f"{url}/setup", json=load_fixture("classification_setup.json"), timeout=5).ok
        predict = load_fixture("classification_predict.json")
        assert requests.post(f"{url}/predict", json=predict, timeout=10).ok
        train(url)

        for _ in range(6):  # each scrape lands on either worker: each must tell the whole server
            response = requests.get(f"{url}/metrics?format=prometheus", timeout=5)
            assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
            text = response.text
            assert value(text, REQUESTS, route="/metrics", method="GET", status="200") >= json_reports
            assert value(text, REQUESTS, route="/health", method="GET", status="200") >= HEALTH_CHECKS
            assert value(text, REQUESTS, route="/webhook", method="POST", status="201") == 2
            assert value(text, "label_studio_ml_predictions_total", layer="other") == len(predict["tasks"])
            assert value(text, "label_studio_ml_trainings_total", outcome="succeeded") == 1
            assert value(text, "label_studio_ml_training_duration_seconds_count", outcome="succeeded") == 1
            assert value(text, "label_studio_ml_versions_published_total", layer="other") == 1
        assert "worker" in requests.get(f"{url}/metrics", timeout=5).json()  # JSON stays the default
