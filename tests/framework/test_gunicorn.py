"""Integration: the real CLI starts real gunicorn (2 workers) serving the test model over HTTP."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import BACKENDS, load_fixture
from tests.support.servers import assert_every_worker_serves, backend

#: The project of the captured requests, as Label Studio names it: "<id>.<created_at>".
PROJECT = load_fixture("classification_setup.json")["project"]

KEYWORD = BACKENDS / "keyword"


@pytest.fixture
def env(tmp_path):
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    return {
        "MODEL_DIR": str(tmp_path / "models"),
        "KEYWORD_TRAINING_FILE": str(labeled),
        "KEYWORD_FIT_SECONDS": "3",
        "START_TRAINING_EACH_N_UPDATES": "2",
    }


def versions_seen(url: str, count: int = 12) -> set[str]:
    body = load_fixture("classification_setup.json")
    return {requests.post(f"{url}/setup", json=body, timeout=5).json()["model_version"] for _ in range(count)}


def test_train_in_background_and_every_worker_serves_the_new_version(env):
    with backend(KEYWORD, env, workers=2) as url:
        assert versions_seen(url) == {"0.0.1"}
        predicted = requests.post(
            f"{url}/predict", json=load_fixture("classification_predict.json"), timeout=10
        )
        assert all(item["result"] == [] for item in predicted.json()["results"])

        started = time.time()
        for name in (
            "classification_webhook_annotation_created.json",
            "classification_webhook_annotation_updated.json",
        ):
            response = requests.post(f"{url}/webhook", json=load_fixture(name), timeout=5)
            assert response.status_code == 201
        assert time.time() - started < 1.0  # Label Studio gives a webhook 1 s, once

        # While fit runs (3 s), health and setup keep answering fast.
        latencies = []
        while True:
            t0 = time.time()
            assert requests.get(f"{url}/health", timeout=1).status_code == 200
            latencies.append(time.time() - t0)
            training = requests.get(f"{url}/metrics", timeout=2).json()["projects"][PROJECT]["training"]
            if training["runs"] >= 1 and training["state"] == "idle":
                break
            assert time.time() - started < 30, training
            time.sleep(0.1)
        assert max(latencies) < 0.5
        assert training["metrics"] == {"vocabulary": 9}

        (version,) = versions_seen(url)
        assert version != "0.0.1"
        body = load_fixture("classification_predict_on_task_open.json")
        (item,) = assert_every_worker_serves(url, body, PROJECT, version, workers=2)
        assert item["result"][0]["value"]["choices"] == ["positive"]

    # A restart keeps serving the last version.
    with backend(KEYWORD, env, workers=1) as url:
        assert versions_seen(url, 2) == {version}


def test_bad_requests_over_http_then_normal_service(env):
    with backend(KEYWORD, env, workers=1) as url:
        bad = requests.post(f"{url}/predict", data=b"{oops", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and bad.json()["error_type"] == "BadRequest"
        huge = requests.post(
            f"{url}/predict",
            data=b"[" + b"0," * 30_000_000 + b"0]",
            headers={"Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: requests.get(f"{url}/health", timeout=5).status_code, range(32)))
        assert codes == [200] * 32
        ok = requests.post(
            f"{url}/predict", json=load_fixture("classification_predict_test.json"), timeout=10
        )
        assert ok.status_code == 200 and len(ok.json()["results"]) == 1


def test_basic_auth_from_cli_options_and_secrets_masked_in_logs(env, tmp_path):
    args = ["--basic-auth-user", "ls", "--basic-auth-pass", "s3cret-pass"]
    log = tmp_path / "server.log"
    env = {**env, "KEYWORD_LOG_SECRETS": "1"}  # the model logs both secrets when it is set up
    with backend(KEYWORD, env, workers=1, extra_args=args, auth=("ls", "s3cret-pass"), log=log) as url:
        assert requests.get(f"{url}/health", timeout=5).status_code == 401
        assert requests.get(f"{url}/health", timeout=5, auth=("ls", "s3cret-pass")).status_code == 200
        setup = dict(load_fixture("basic_auth_setup.json"), access_token="ls-token-123456789")
        assert requests.post(f"{url}/setup", json=setup, auth=("ls", "s3cret-pass"), timeout=5).ok
    text = log.read_text()
    assert "GET /health" in text  # the access log is there...
    assert "basic auth password is ***; Label Studio token is ***" in text  # ...the secrets were logged,
    assert "s3cret-pass" not in text and "ls-token-123456789" not in text  # ...and masked


def test_python_wsgi_file_starts_the_same_server(env):
    command = [sys.executable, str(KEYWORD / "_wsgi.py")]
    with backend(KEYWORD, env, workers=1, command=command) as url:
        assert requests.get(f"{url}/health", timeout=5).json() == {
            "status": "UP",
            "model_class": "KeywordModel",
        }
