"""The e2e harness itself, proven against a stand-in backend: a real Label Studio connects to it,
retrieves predictions, sends webhooks, and survives a restart. (~10 s after Label Studio is up.)"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.backend_server import StartBackend
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import CONNECTED, LabelStudioUser

pytestmark = pytest.mark.e2e

LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="positive"/><Choice value="negative"/></Choices></View>'
)
TEXTS = ["A fine film.", "Dreadful service.", "Nothing to add.", "Loved every minute."]
STAND_IN_VERSION = "stand-in-7"

# A minimal ML backend speaking Label Studio's protocol; it records every request it gets so the
# test can see what Label Studio sent. Started as a subprocess like the real backends.
STAND_IN = """
import base64, json, os, sys
from flask import Flask, jsonify, request

app = Flask(__name__)
RECORD = os.environ["STANDIN_RECORD"]
VERSION = os.environ["STANDIN_VERSION"]
USER, PASSWORD = os.environ.get("BASIC_AUTH_USER"), os.environ.get("BASIC_AUTH_PASS")

@app.before_request
def record_and_check_auth():
    body = request.get_json(silent=True)
    with open(RECORD, "a") as out:
        out.write(json.dumps({"path": request.path, "auth": request.headers.get("Authorization"),
                              "body": body}) + "\\n")
    if USER:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return jsonify({"error": "unauthorized"}), 401

@app.get("/health")
def health():
    return jsonify({"status": "UP", "model_class": "StandIn"})

@app.post("/setup")
def setup():
    return jsonify({"model_version": VERSION})

@app.post("/predict")
def predict():
    tasks = request.get_json()["tasks"]
    item = {"result": [{"from_name": "label", "to_name": "text", "type": "choices",
                        "value": {"choices": ["positive"]}}], "score": 0.5, "model_version": VERSION}
    return jsonify({"results": [item for _ in tasks]})

@app.post("/webhook")
def webhook():
    return jsonify({"status": "ok"}), 201

app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
"""


def _stand_in(start_backend: StartBackend, tmp_path: Path, **options: Any) -> tuple[Any, Path]:
    script, record = tmp_path / "stand_in.py", tmp_path / "requests.jsonl"
    script.write_text(STAND_IN)
    env = {"STANDIN_RECORD": str(record), "STANDIN_VERSION": STAND_IN_VERSION}
    backend = start_backend(
        tmp_path / "stand_in", command=[sys.executable, str(script), "{port}"], env=env, **options
    )
    return backend, record


def _received(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def _project_with_tasks(ls_user: LabelStudioUser, title: str) -> tuple[int, list[int]]:
    project = ls_user.create_project(title, LABEL_CONFIG)
    return project, ls_user.import_tasks(project, [{"data": {"text": text}} for text in TEXTS])


def test_retrieve_predictions_stores_one_prediction_per_task_with_the_backend_model_version(
    ls_user: LabelStudioUser, start_backend: StartBackend, tmp_path: Path
) -> None:
    backend, record = _stand_in(start_backend, tmp_path)
    project, task_ids = _project_with_tasks(ls_user, "harness predictions")
    ml_id = ls_user.connect_backend(project, backend.url)
    assert ls_user.backend_state(ml_id) == CONNECTED

    ls_user.retrieve_predictions(project)

    by_task = ls_user.predictions_by_task(project)
    assert sorted(by_task) == sorted(task_ids)
    for predictions in by_task.values():
        assert [p["model_version"] for p in predictions] == [STAND_IN_VERSION]
        assert predictions[0]["result"][0]["value"]["choices"] == ["positive"]
    predict_calls = [r for r in _received(record) if r["path"] == "/predict"]
    assert [len(r["body"]["tasks"]) for r in predict_calls] == [len(task_ids)]


def test_annotations_and_start_training_reach_the_backend_as_webhooks(
    ls_user: LabelStudioUser, start_backend: StartBackend, tmp_path: Path
) -> None:
    backend, record = _stand_in(start_backend, tmp_path)
    project, task_ids = _project_with_tasks(ls_user, "harness webhooks")
    ml_id = ls_user.connect_backend(project, backend.url)
    result = [
        {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["negative"]}}
    ]

    annotation = ls_user.annotate(task_ids[0], result)
    ls_user.delete_annotation(annotation)
    ls_user.retrieve_predictions(project, task_ids[1:3])
    assert ls_user.annotate_from_predictions(project, task_ids[1:3]) == 2
    ls_user.train(ml_id)

    actions = [r["body"]["action"] for r in _received(record) if r["path"] == "/webhook"]
    assert actions == ["ANNOTATION_CREATED", "ANNOTATIONS_DELETED", "ANNOTATIONS_CREATED", "START_TRAINING"]


def test_basic_auth_backend_connects_and_webhook_headers_can_be_set(
    ls_user: LabelStudioUser, start_backend: StartBackend, tmp_path: Path
) -> None:
    credentials = ("lsml", "s3cret-pass")
    backend, record = _stand_in(start_backend, tmp_path, basic_auth=credentials)
    project, task_ids = _project_with_tasks(ls_user, "harness basic auth")
    ml_id = ls_user.connect_backend(project, backend.url, basic_auth=credentials)
    assert ls_user.backend_state(ml_id) == CONNECTED

    (webhook,) = ls_user.webhooks(project)
    expected = "Basic " + base64.b64encode(b"lsml:s3cret-pass").decode()
    ls_user.set_webhook_headers(webhook["id"], {"Authorization": expected})
    ls_user.annotate(task_ids[0], [])

    webhooks = [r for r in _received(record) if r["path"] == "/webhook"]
    assert [(r["body"]["action"], r["auth"]) for r in webhooks] == [("ANNOTATION_CREATED", expected)]


def test_label_studio_restart_keeps_projects_and_token(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser
) -> None:
    project = ls_user.create_project("harness restart", LABEL_CONFIG)

    seconds = label_studio.restart()

    assert seconds < 120
    assert ls_user.client.projects.get(project).title == "harness restart"
