"""Integration: the classes of bad request the fuzz suite found, sent over HTTP to real gunicorn.

Each gets its JSON 4xx (or a normal answer) and the one worker survives all of them: gunicorn
boots it once, and it serves Label Studio's own requests afterwards.
"""

from __future__ import annotations

import json

import requests

from tests.conftest import load_fixture
from tests.support.servers import ROOT, backend

JSON = {"Content-Type": "application/json"}


def post(url: str, route: str, raw: bytes) -> requests.Response:
    return requests.post(f"{url}{route}", data=raw, headers=JSON, timeout=60)


def assert_error(response: requests.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"error", "error_type"} and "Traceback" not in body["error"]
    for fragment in fragments:
        assert fragment in body["error"]


def test_bad_requests_over_http_get_4xx_and_the_worker_survives(tmp_path):
    log = tmp_path / "backend.log"
    env = {
        "MODEL_DIR": str(tmp_path / "models"),
        "AUTO_CONFIGURE_WEBHOOK": "false",
        "MAX_LENGTH": "32",
        "WINDOW_STRIDE": "8",
    }
    with backend(ROOT / "bert_classifier", env, workers=1, log=log, timeout=180) as url:
        setup = load_fixture("classification_setup.json")
        predict = load_fixture("classification_predict_test.json")

        deep = b'{"project": "1.1", "tasks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        for route in ("/setup", "/predict", "/webhook"):
            assert_error(post(url, route, deep), 400, "nested")

        missing = setup["schema"].replace('toName="text"', 'toName="nope"')
        assert_error(
            post(url, "/setup", json.dumps(dict(setup, schema=missing)).encode()), 422, 'toName="nope"'
        )
        per_region = setup["schema"].replace('choice="single"', 'perRegion="true"')
        answer = post(url, "/setup", json.dumps(dict(setup, schema=per_region)).encode())
        assert_error(answer, 422, "<Choices", "perRegion")

        assert_error(post(url, "/webhook", b'{"action": "START_TRAINING"}'), 400, "'project'")
        assert_error(post(url, "/predict", b'{"project": "1", "tasks": "\xff"}'), 400, "UTF-8")

        surrogate = json.dumps(predict).replace('"text": "', '"text": "\\ud800', 1).encode()
        answer = post(url, "/predict", surrogate)
        assert answer.status_code == 200 and len(answer.json()["results"]) == 1

        assert requests.post(f"{url}/setup", json=setup, timeout=10).status_code == 200
        served = requests.post(f"{url}/predict", json=load_fixture("classification_predict.json"), timeout=60)
        assert served.status_code == 200 and len(served.json()["results"]) == 15
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
    assert log.read_text().count("Booting worker") == 1
