"""Webhook bodies as Label Studio 1.23.2 sends them, built from the captured ones in tests/fixtures."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import load_fixture


def annotation_created(
    task_id: int, data: dict[str, Any], result: list[dict[str, Any]], label_config: str
) -> dict[str, Any]:
    """An ``ANNOTATION_CREATED`` body for task ``task_id`` (its ``data``) annotated with ``result``,
    in a project of ``label_config``."""
    body = copy.deepcopy(load_fixture("classification_webhook_annotation_created.json"))
    body["task"].update({"id": task_id, "data": data})
    body["annotation"].update({"id": task_id, "task": task_id, "result": result})
    body["project"]["label_config"] = label_config
    return body
