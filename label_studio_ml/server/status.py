"""What ``/versions`` and ``/metrics`` report."""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

from label_studio_ml.context import BackendContext
from label_studio_ml.learning.active.rounds import ACTIVE_KEY
from label_studio_ml.learning.instant import InstantUpdates
from label_studio_ml.learning.training import TrainingQueue
from label_studio_ml.model import MODEL_VERSION_KEY, VERSIONS_KEY, LabelStudioMLBase
from label_studio_ml.projects import REFUSED_KEY, ProjectRegistry
from label_studio_ml.state.disk_bounds import disk_report
from label_studio_ml.state.evaluations import EVALUATIONS_KEY
from label_studio_ml.state.project_key import label_studio_id, project_key
from label_studio_ml.studio.label_config import describe_controls
from label_studio_ml.studio.labeled_source import ACCESS_KEY

_STARTED = time.time()
#: State key under which a model may describe what it serves (shown by ``/metrics``).
SERVED_KEY = "served"
#: State key under which a model lists the label config's controls it gives no predictions for.
IGNORED_CONTROLS_KEY = "ignored_controls"
#: State key under which a model lists the objects showing task data it does not read (only ``toName``'s).
UNREAD_OBJECTS_KEY = "unread_objects"
#: State key under which a model counts the texts it read only up to a length limit (``/metrics``).
TEXTS_CUT_KEY = "texts_cut"


def versions_report(
    model_class: type[LabelStudioMLBase], context: BackendContext, project: str | None
) -> dict[str, Any]:
    """Model versions of one project (``?project=``) or of all projects, newest last.

    Only versions the model class can still serve are listed (``available_versions``): a pruned
    or deleted version is gone from the list.
    """
    state = context.state
    projects = _matching(state.projects(), project_key(project)) if project else state.projects()
    versions: list[str] = []
    per_project: dict[str, Any] = {}
    for name in projects:
        known = model_class.available_versions(context, name, list(state.get(name, VERSIONS_KEY) or []))
        current = state.get(name, MODEL_VERSION_KEY)
        per_project[name] = {"model_version": current, "versions": known}
        versions.extend(v for v in known if v not in versions)
    return {"versions": versions, "projects": per_project}


def _matching(known: list[str], key: str) -> list[str]:
    """``key``, or, for a bare id, every known project with that id (``?project=3`` from a script)."""
    if key in known or label_studio_id(key) != key:
        return [key]
    return [name for name in known if label_studio_id(name) == key] or [key]


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
        access = state.get(name, ACCESS_KEY)
        if access is not None:  # where the last training's labeled tasks came from, and what is missing
            projects[name]["label_studio"] = access
        # ``ACTIVE_KEY``: active learning's last round (version queued, tasks, an error and its retry).
        for key in (REFUSED_KEY, IGNORED_CONTROLS_KEY, UNREAD_OBJECTS_KEY, EVALUATIONS_KEY, ACTIVE_KEY):
            value = state.get(name, key)  # the versions' forward evaluations (the learning curve)
            if value is not None:
                projects[name][key] = value
        controls = describe_controls(state.get(name, "label_config") or "")
        if controls:  # the label config's control tags, served or not
            projects[name]["controls"] = list(controls)
        host = label_studio_host(context, name)
        if host is not None:  # where the project's Label Studio is: scheme, host and port only
            projects[name]["label_studio_host"] = host
        cut = state.get(name, TEXTS_CUT_KEY)
        if cut is not None:  # texts longer than the model reads (e.g. MAX_TEXT_CHARS): how many, how long
            projects[name]["texts_cut"] = cut
        disk = disk_report(context.data_dir, name)
        if disk:  # what the per-task stores keep, evicted and refused (their ledgers, no walk)
            projects[name]["disk"] = disk
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


def label_studio_host(context: BackendContext, project: str) -> str | None:
    """``scheme://host[:port]`` of the project's Label Studio (never a token, user or path)."""
    access = context.label_studio_for(project)
    if access is None or not access.url:
        return None
    parts = urlsplit(access.url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a malformed port: the host alone still says where
        port = ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else None
