"""Label Studio's request bodies (recorded from 1.23.2) re-aimed at a benchmark's project and config."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import load_fixture


def project_key(recorded: str, project: int) -> str:
    """``recorded`` (``"<id>.<created_at>"``, as /setup and /predict send it) for ``project``."""
    _, _, created = recorded.partition(".")
    return f"{project}.{created}" if created else str(project)


def setup_body(project: int, label_config: str, token: str, hostname: str | None = None) -> dict[str, Any]:
    """The ``/setup`` body Label Studio sends when a project connects the backend."""
    body = load_fixture("classification_setup.json")
    body.update(project=project_key(body["project"], project), schema=label_config, access_token=token)
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
    body.update(tasks=tasks, project=project_key(body["project"], project), label_config=label_config)
    return body
