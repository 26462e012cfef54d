"""What one project keeps of the annotations webhooks brought is bounded (``received.BOUNDS``): an
oversized task is refused, the least recently annotated tasks are evicted beyond the count, and
``/metrics`` says so from the store's ledger."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from label_studio_ml.state.disk_bounds import Bounds
from label_studio_ml.studio import received
from tests.conftest import load_fixture

PROJECT = load_fixture("classification_setup.json")["project"]
CREATED = load_fixture("classification_webhook_annotation_created.json")


def annotation(task_id: int, text: str) -> dict:
    event = copy.deepcopy(CREATED)
    event["task"] = {"id": task_id, "data": {"text": text}, "project": 1}
    event["annotation"].update(id=1000 + task_id, task=task_id)
    return event


@pytest.fixture
def client(keyword_app):
    return keyword_app.test_client()


def kept_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob(f"{received.FOLDER}/*.json") if not path.name.startswith("."))


def disk(client) -> dict:
    return client.get("/metrics").get_json()["projects"][PROJECT]["disk"][received.FOLDER]


def test_an_oversized_task_is_refused_and_reported(client, tmp_path) -> None:
    huge = "x" * (received.BOUNDS.file_bytes + 1)
    assert client.post("/webhook", json=annotation(1, huge)).status_code == 201
    assert client.post("/webhook", json=annotation(2, "fine")).status_code == 201
    files = kept_files(tmp_path)
    assert [path.name for path in files] == ["2.json"]
    assert all(path.stat().st_size <= received.BOUNDS.file_bytes for path in files)
    report = disk(client)
    assert report["files"] == 1 and report["refused"] == 1 and report["evicted"] == 0
    assert report["bytes"] == files[0].stat().st_size
    assert report["limits"]["file_bytes"] == received.BOUNDS.file_bytes


def test_beyond_the_count_the_least_recently_annotated_tasks_are_evicted(
    client, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(received, "BOUNDS", Bounds(files=5, bytes=10**6, file_bytes=10**5, evicts=True))
    for task_id in range(1, 9):
        assert client.post("/webhook", json=annotation(task_id, f"text {task_id}")).status_code == 201
    assert [path.name for path in kept_files(tmp_path)] == [f"{i}.json" for i in range(4, 9)]
    owners = sorted(tmp_path.rglob(f"{received.FOLDER}/{received.BY_ANNOTATION}/*.json"))
    assert [json.loads(path.read_text()) for path in owners] == list(range(4, 9))  # no stale lookups
    report = disk(client)
    assert report["files"] == 5 and report["evicted"] == 3 and report["refused"] == 0
