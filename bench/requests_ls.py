"""Talking to a backend as Label Studio does: its recorded bodies (1.23.2) re-aimed at a benchmark's
project and config, and the project's training status as ``/metrics`` reports it."""

from __future__ import annotations

import copy
from typing import Any

import requests

from tests.conftest import load_fixture


def project_key(project: int, recorded: str | None = None) -> str:
    """``recorded`` (``"<id>.<created_at>"``, as /setup and /predict send it; by default the recorded
    /setup's) for ``project``: the key the backend keeps the project under."""
    recorded = recorded or load_fixture("classification_setup.json")["project"]
    _, _, created = recorded.partition(".")
    return f"{project}.{created}" if created else str(project)


def setup_body(project: int, label_config: str, token: str, hostname: str | None = None) -> dict[str, Any]:
    """The ``/setup`` body Label Studio sends when a project connects the backend."""
    body = load_fixture("classification_setup.json")
    body.update(project=project_key(project, body["project"]), schema=label_config, access_token=token)
    if hostname:
        body["hostname"] = hostname
    return body


def start_training_body(project: int, label_config: str) -> dict[str, Any]:
    """The "Start training" webhook (the backend reads the project's id and label config)."""
    body = load_fixture("classification_webhook_start_training.json")
    body["project"] = {**body["project"], "id": project, "label_config": label_config}
    return body


def predict_body(project: int, label_config: str, texts: list[str]) -> dict[str, Any]:
    """A ``/predict`` body with one task per text, shaped like Label Studio's."""
    body = load_fixture("classification_predict.json")
    template = body["tasks"][0]
    tasks = [
        {**copy.deepcopy(template), "id": index + 1, "project": project, "data": {"text": text}}
        for index, text in enumerate(texts)
    ]
    body.update(tasks=tasks, project=project_key(project, body["project"]), label_config=label_config)
    return body


def training_status(url: str, project: int) -> dict[str, Any]:
    """The project's ``training`` entry of the backend's ``/metrics`` (``{}`` before it is known)."""
    projects = requests.get(f"{url}/metrics", timeout=10).json().get("projects", {})
    return projects.get(project_key(project), {}).get("training", {})
