"""Where a training's labeled tasks come from: Label Studio when it lets us read, else the webhooks.

Label Studio is the truth (annotations made before the backend was connected, bulk creations,
task data by URL), so it is read whenever it can be. When it refuses the token (a default 1.23.2
refuses the legacy token ``/setup`` sends) or no connection is known yet, training goes on with
what the annotation webhooks brought (``received``) and says exactly what is missing; a Label
Studio that cannot be reached at all fails the training as before, to be retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from label_studio_ml.errors import LabelStudioNotConnected, LabelStudioRefused
from label_studio_ml.studio.received import ReceivedAnnotations

#: State key of the project's last read of labeled tasks (shown by ``/metrics``).
ACCESS_KEY = "label_studio_access"
LABEL_STUDIO = "label_studio"
WEBHOOKS = "webhooks"


def read_labeled_tasks(
    read: Callable[[], list[dict[str, Any]]], received: ReceivedAnnotations, *, key_from_env: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The labeled tasks to train on and a report of where they came from (``source``, ``reason``)."""
    try:
        tasks = read()
    except LabelStudioRefused as exc:
        why = _refusal(exc, key_from_env)
    except LabelStudioNotConnected:
        why = "no Label Studio URL and token are known for this project"
    else:
        return tasks, {"source": LABEL_STUDIO, "labeled_tasks": len(tasks), "at": round(time.time(), 3)}
    tasks = received.tasks()
    annotations = sum(len(task.get("annotations") or []) for task in tasks)
    reason = f"{why}: learning from {annotations} annotation(s) received since connecting"
    unseen = received.summary().get("bulk_created_unseen", 0)
    if unseen:
        reason += f" ({unseen} created in bulk from the Data Manager could not be seen)"
    reason += f"; to read all, {_remedy(why, key_from_env)}"
    report = {"source": WEBHOOKS, "labeled_tasks": len(tasks), "annotations": annotations,
              "reason": reason, "at": round(time.time(), 3)}  # fmt: skip
    return tasks, report


def _refusal(exc: LabelStudioRefused, key_from_env: bool) -> str:
    whose = "LABEL_STUDIO_API_KEY" if key_from_env else "the token it sent"
    if exc.legacy_tokens_disabled:
        return f"Label Studio refused {whose} (legacy tokens are disabled for this organization)"
    return f"Label Studio refused {whose} ({exc.status_code}: {exc.reason})"


def _remedy(why: str, key_from_env: bool) -> str:
    if why.startswith("no Label Studio"):
        return "connect the backend in Label Studio, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY"
    if key_from_env:
        return "set LABEL_STUDIO_API_KEY to a valid personal access token"
    return "set LABEL_STUDIO_API_KEY to a personal access token or enable legacy tokens"
