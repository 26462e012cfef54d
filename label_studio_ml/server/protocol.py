"""Parsing and validation of Label Studio's request bodies, and shaping of our answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Request

from label_studio_ml.errors import BackendError, BadRequest, UnsupportedMediaType
from label_studio_ml.response import ModelResponse
from label_studio_ml.server.json_body import parse_json_object
from label_studio_ml.state.project_key import project_key

#: The project of a ``/predict`` that names none (upstream-style scripts and tests).
DEFAULT_PROJECT = "default"


class ModelOutputError(BackendError):
    """The model broke the protocol (e.g. not one prediction per task)."""

    status = 500


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 415 for another media type, 400 for anything not a safe object."""
    if request.mimetype and request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"expected application/json, got {request.mimetype}")
    return parse_json_object(request.get_data(cache=False))


#: Longest ``access_token`` ``/setup`` takes. Label Studio's legacy tokens have 40 characters, its
#: personal access tokens (JWT refresh tokens) about 250: a longer value is no token, and every
#: token taken is kept for the life of the process (state, log redaction).
MAX_ACCESS_TOKEN_CHARS = 4096
#: Longest ``hostname`` ``/setup`` takes (a URL; browsers and proxies stop near 2 KB too).
MAX_HOSTNAME_CHARS = 2048


def _optional_str(body: dict[str, Any], key: str, max_chars: int | None = None) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string")
    if max_chars is not None and len(value) > max_chars:
        raise BadRequest(f"'{key}' is longer than {max_chars} characters ({len(value)})")
    return value


def _label_studio_url(hostname: str | None) -> str | None:
    """``/setup``'s ``hostname``: an http(s) URL with a host and a valid port, or nothing."""
    if hostname is None:
        return None
    if not hostname.startswith(("http://", "https://")):
        raise BadRequest("'hostname' must be an http(s) URL")
    try:
        parsed = urlsplit(hostname)
        parsed.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as exc:  # "Invalid IPv6 URL", a port out of range or not a number
        raise BadRequest(f"'hostname' is not a valid URL: {str(exc)[:100]}") from None
    if not parsed.hostname:
        raise BadRequest("'hostname' must name a host")
    return hostname.rstrip("/")


@dataclass(frozen=True)
class SetupRequest:
    """``POST /setup``."""

    project: str
    schema: str | None
    hostname: str | None = None
    access_token: str | None = field(default=None, repr=False)
    extra_params: Any = None


def setup_request(body: dict[str, Any]) -> SetupRequest:
    """Validate a ``/setup`` body."""
    if "project" not in body:
        raise BadRequest("'project' is required")
    return SetupRequest(
        project=project_key(body["project"]),
        schema=_optional_str(body, "schema"),  # bounded by MAX_REQUEST_BYTES only: configs can be large
        hostname=_label_studio_url(_optional_str(body, "hostname", MAX_HOSTNAME_CHARS)),
        access_token=_optional_str(body, "access_token", MAX_ACCESS_TOKEN_CHARS),
        extra_params=body.get("extra_params"),
    )


@dataclass(frozen=True)
class PredictRequest:
    """``POST /predict``."""

    project: str
    tasks: list[dict[str, Any]]
    label_config: str | None
    context: Any
    params: dict[str, Any]


#: ``params`` are passed to ``predict`` as keyword arguments: these names are taken.
_PREDICT_ARGUMENTS = frozenset({"self", "tasks"})


def predict_request(body: dict[str, Any]) -> PredictRequest:
    """Validate a ``/predict`` body: a list of task objects and the project they belong to."""
    tasks = body.get("tasks")
    if not isinstance(tasks, list):
        raise BadRequest("'tasks' must be a list of task objects")
    if not all(isinstance(task, dict) for task in tasks):
        raise BadRequest("every item of 'tasks' must be an object")
    raw_project = body.get("project")
    if raw_project is None and tasks:
        raw_project = tasks[0].get("project")
    if raw_project is None:
        # Upstream backends' own tests (and scripts) post tasks with a label config and no project.
        raw_project = DEFAULT_PROJECT
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise BadRequest("'params' must be an object")
    params = dict(params)
    context = params.pop("context", None)
    taken = sorted(_PREDICT_ARGUMENTS & set(params))
    if taken:
        raise BadRequest(f"'params' must not contain {', '.join(map(repr, taken))}")
    return PredictRequest(
        project=project_key(raw_project),
        tasks=tasks,
        label_config=_optional_str(body, "label_config"),
        context=context,
        params=params,
    )


@dataclass(frozen=True)
class WebhookEvent:
    """``POST /webhook``: the action, the project it concerns and the whole body."""

    action: str
    project: str | None
    label_config: str | None
    data: dict[str, Any]


#: The one action a person starts on purpose ("Start training"): without a project it cannot be
#: served, and a quiet 200 would hide the caller's mistake.
START_TRAINING = "START_TRAINING"


def webhook_request(body: dict[str, Any]) -> WebhookEvent:
    """Validate a webhook body; the project comes from ``project`` (the project row, whose ``id`` and
    ``created_at`` name it as ``/setup`` does, or a bare id).

    Events without a project are left to the route to ignore, except ``START_TRAINING`` (400).
    """
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise BadRequest("'action' is required")
    project = body.get("project")
    label_config, created_at = None, None
    if isinstance(project, dict):
        label_config = project.get("label_config") if isinstance(project.get("label_config"), str) else None
        created_at = project.get("created_at")
        project = project.get("id")
        if project is None and action == START_TRAINING:
            raise BadRequest(f"{START_TRAINING} needs 'project.id'")
    if project is None and action == START_TRAINING:
        raise BadRequest(f"{START_TRAINING} needs 'project' (the project object or its id)")
    return WebhookEvent(
        action=action,
        project=project_key(project, created_at) if project is not None else None,
        label_config=label_config,
        data=body,
    )


def prediction_items(raw: Any, task_count: int, model_version: str) -> list[Any]:
    """Normalise whatever ``predict`` returned into exactly one JSON item per task."""
    if isinstance(raw, ModelResponse):
        if not raw.has_model_version():
            raw.set_version(model_version)
        raw.update_predictions_version()
        items: list[Any] = raw.serialize()
    elif isinstance(raw, dict):
        found = raw.get("results", raw.get("predictions"))
        items = found if isinstance(found, list) else [raw]
    elif isinstance(raw, list):
        items = raw
    else:
        raise ModelOutputError(f"predict returned {type(raw).__name__}, expected ModelResponse or list")
    if not items:
        return []  # "nothing to say" (upstream's answer too): Label Studio stores no prediction
    if len(items) != task_count:
        # Label Studio silently discards a batch whose count differs: fail loudly instead.
        raise ModelOutputError(f"predict returned {len(items)} predictions for {task_count} tasks")
    return [_task_item(item, model_version) for item in items]


def _task_item(item: Any, model_version: str) -> dict[str, Any] | list[dict[str, Any]]:
    """One task's answer: a prediction, or a list of several predictions (e.g. from several models),
    which Label Studio stores one by one."""
    if isinstance(item, list) and item and all(isinstance(p, dict) and "result" in p for p in item):
        return [_item(prediction, model_version) for prediction in item]
    return _item(item, model_version)


def _item(item: Any, model_version: str) -> dict[str, Any]:
    if isinstance(item, list):
        item = {"result": item}  # a bare list of regions
    if not isinstance(item, dict):
        raise ModelOutputError(
            f"a prediction must be an object or a list of regions, got {type(item).__name__}"
        )
    item = dict(item)
    item["result"] = item.get("result") or []
    item.setdefault("score", 0.0)
    if item["score"] is None:
        item["score"] = 0.0
    if not item.get("model_version"):
        item["model_version"] = model_version
    return item
