"""What ``/versions`` and ``/metrics`` report."""

from __future__ import annotations

import os
import time
from typing import Any

from label_studio_ml.context import BackendContext
from label_studio_ml.instant import InstantUpdates
from label_studio_ml.model import MODEL_VERSION_KEY, VERSIONS_KEY, LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.state import normalize_project_id
from label_studio_ml.training import TrainingQueue

_STARTED = time.time()
#: State key under which a model may describe what it serves (shown by ``/metrics``).
SERVED_KEY = "served"


def versions_report(
    model_class: type[LabelStudioMLBase], context: BackendContext, project: str | None
) -> dict[str, Any]:
    """Model versions of one project (``?project=``) or of all projects, newest last.

    Only versions the model class can still serve are listed (``available_versions``): a pruned
    or deleted version is gone from the list.
    """
    state = context.state
    projects = [normalize_project_id(project)] if project else state.projects()
    versions: list[str] = []
    per_project: dict[str, Any] = {}
    for name in projects:
        known = model_class.available_versions(context, name, list(state.get(name, VERSIONS_KEY) or []))
        current = state.get(name, MODEL_VERSION_KEY)
        per_project[name] = {"model_version": current, "versions": known}
        versions.extend(v for v in known if v not in versions)
    return {"versions": versions, "projects": per_project}


def metrics_report(
    context: BackendContext, queue: TrainingQueue, registry: ProjectRegistry, instant: InstantUpdates
) -> dict[str, Any]:
    """Per-project training status plus a little about this worker process."""
    state = context.state
    projects = {}
    for name in state.projects():
        training = queue.state.status(name)
        projects[name] = {
            "model_version": state.get(name, MODEL_VERSION_KEY),
            "versions": state.get(name, VERSIONS_KEY) or [],
            "training": training,
        }
        served = state.get(name, SERVED_KEY)
        if served is not None:  # a model that chooses among layers says which one serves, and why
            projects[name]["served"] = served
    return {
        "projects": projects,
        "worker": {
            "pid": os.getpid(),
            "uptime_s": round(time.time() - _STARTED, 1),
            "loaded_projects": registry.loaded_projects(),
            "start_training_each_n_updates": context.settings.start_training_each_n_updates,
            "training_slots": queue.slots_report(),
            "instant_updates": instant.report(),
        },
    }
