"""A Label Studio user's clicks, as API calls (label-studio-sdk 2.x, REST where the SDK has no method)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from label_studio_sdk import LabelStudio

# What Label Studio shows in Settings → Model for a backend it reached.
CONNECTED = "CO"


def as_dict(item: Any) -> dict[str, Any]:
    """An SDK model (pydantic) or a dict, as a plain dict."""
    if isinstance(item, dict):
        return item
    return item.model_dump(mode="json", by_alias=True)


#: Refresh the access token this long before it expires (Label Studio's last 5 minutes).
REFRESH_MARGIN = timedelta(seconds=30)


def _refresh_early(client: LabelStudio) -> None:
    """Make the SDK refresh its access token ``REFRESH_MARGIN`` before it expires.

    label-studio-sdk 2.x refreshes only a token that has already expired when a request's headers
    are built; one that expires a moment later reaches Label Studio expired, and a test that runs
    longer than a token's life fails with 401 "Authentication credentials were not provided" (seen
    once in CI). The tests keep one client for the whole session, so they refresh a little early.
    """
    tokens = client._client_wrapper._tokens_client
    valid = tokens._is_valid_jwt_token

    def valid_with_margin(token: str, raise_if_expired: bool = False) -> bool:
        expires = tokens._access_token_expiration
        expiring = expires is not None and expires - datetime.now(UTC) < REFRESH_MARGIN
        if token == tokens._access_token and expiring:
            return False
        return valid(token, raise_if_expired=raise_if_expired)

    tokens._is_valid_jwt_token = valid_with_margin


class LabelStudioUser:
    """Drives one Label Studio as its (single) user, identified by an API token (a personal access
    token, which the SDK exchanges for short-lived access tokens, or a legacy token)."""

    def __init__(self, url: str, token: str, timeout_s: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        # Label Studio waits up to 100 s for /predict inside one API call, so allow more than that.
        self.client = LabelStudio(base_url=self.url, api_key=token, timeout=timeout_s)
        _refresh_early(self.client)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw REST call with the user's credentials; raises on an HTTP error status."""
        # The SDK's own header: a fresh access token for a personal access token, else the legacy one.
        authorization = self.client._client_wrapper.get_headers()["Authorization"]
        headers = {"Authorization": authorization, **kwargs.pop("headers", {})}
        response = requests.request(
            method, f"{self.url}{path}", headers=headers, timeout=self.timeout_s, **kwargs
        )
        if response.status_code >= 400:
            raise requests.HTTPError(
                f"{method} {path} -> {response.status_code}: {response.text[:1000]}", response=response
            )
        return response

    # Projects and tasks

    def create_project(self, title: str, label_config: str) -> int:
        """Create a project with the label config; returns its id."""
        return int(self.client.projects.create(title=title, label_config=label_config).id)

    def import_tasks(self, project_id: int, tasks: Sequence[Mapping[str, Any]]) -> list[int]:
        """Import tasks, each ``{"data": {...}}`` (optionally with ``"annotations"``) or a bare data
        dict; returns the new task ids in import order."""
        response = self.client.projects.import_tasks(project_id, request=list(tasks), return_task_ids=True)
        return [int(task_id) for task_id in as_dict(response)["task_ids"]]

    def project_key(self, project_id: int) -> str:
        """``"<id>.<created_at seconds>"``: how Label Studio names the project to a backend."""
        created = self.request("GET", f"/api/projects/{project_id}/").json()["created_at"]
        seconds = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        return f"{project_id}.{int(seconds)}"

    def tasks(self, project_id: int) -> list[dict[str, Any]]:
        """Every task of the project with all fields (annotations and predictions included)."""
        return [as_dict(task) for task in self.client.tasks.list(project=project_id, fields="all")]

    def task_ids(self, project_id: int) -> list[int]:
        """Ids of every task of the project."""
        return [int(task["id"]) for task in self.tasks(project_id)]

    def open_task(self, task_id: int) -> dict[str, Any]:
        """What opening a task in the labeling UI loads; LS asks the backend if it has no prediction."""
        return self.request("GET", f"/api/tasks/{task_id}").json()

    # The ML backend (Settings → Model)

    def connect_backend(
        self, project_id: int, url: str, *, basic_auth: tuple[str, str] | None = None, title: str = "e2e"
    ) -> int:
        """Connect a backend to the project (non-interactive); returns the ML backend id."""
        extra: dict[str, Any] = {}
        if basic_auth is not None:
            extra = {
                "auth_method": "BASIC_AUTH",
                "basic_auth_user": basic_auth[0],
                "basic_auth_pass": basic_auth[1],
            }
        backend = self.client.ml.create(
            url=url, project=project_id, title=title, is_interactive=False, **extra
        )
        return int(backend.id)

    def backend(self, ml_id: int) -> dict[str, Any]:
        """The ML backend as Label Studio shows it (LS checks /health and /setup for this)."""
        return as_dict(self.client.ml.get(ml_id))

    def backend_state(self, ml_id: int) -> str:
        """``"CO"`` (connected), ``"ER"``, ``"DI"``, ``"TR"`` or ``"PR"``."""
        return str(self.backend(ml_id)["state"])

    def train(self, ml_id: int) -> None:
        """The "Start training" button."""
        self.client.ml.train(ml_id)

    def model_versions(self, ml_id: int) -> Any:
        """What the backend's ``/versions`` reports, through Label Studio."""
        return as_dict(self.client.ml.list_model_versions(ml_id))

    # Predictions

    def retrieve_predictions(self, project_id: int, task_ids: Iterable[int] | None = None) -> dict[str, Any]:
        """Data Manager → select tasks (all when ``task_ids`` is None) → "Retrieve Predictions"."""
        return self._action("retrieve_tasks_predictions", project_id, task_ids).json()

    def delete_predictions(self, project_id: int, task_ids: Iterable[int] | None = None) -> None:
        """Data Manager → "Delete Predictions" for the selected tasks."""
        self._action("delete_tasks_predictions", project_id, task_ids)

    def predictions(self, task_id: int) -> list[dict[str, Any]]:
        """The task's stored predictions (``result``, ``score``, ``model_version``, ...)."""
        return [as_dict(p) for p in self.client.predictions.list(task=task_id)]

    def predictions_by_task(self, project_id: int) -> dict[int, list[dict[str, Any]]]:
        """Every task id of the project mapped to its stored predictions."""
        return {task_id: self.predictions(task_id) for task_id in self.task_ids(project_id)}

    def _action(self, action: str, project_id: int, task_ids: Iterable[int] | None) -> requests.Response:
        if task_ids is None:
            selected: dict[str, Any] = {"all": True, "excluded": []}
        else:
            selected = {"all": False, "included": [int(t) for t in task_ids]}
        return self.request(
            "POST",
            "/api/dm/actions",
            params={"id": action, "project": project_id},
            json={"selectedItems": selected},
        )

    # Annotations (each one sends a webhook to the connected backend)

    def annotate(self, task_id: int, result: list[dict[str, Any]]) -> int:
        """Submit one annotation (ANNOTATION_CREATED); returns its id."""
        return int(self.client.annotations.create(task_id, result=result).id)

    def annotate_from_predictions(self, project_id: int, task_ids: Iterable[int] | None = None) -> int:
        """Bulk: Data Manager → "Create Annotations From Predictions" (one ANNOTATIONS_CREATED webhook
        listing every new annotation); returns how many were created."""
        detail = str(
            self._action("predictions_to_annotations", project_id, task_ids).json().get("detail", "")
        )
        words = detail.split()
        return int(words[1]) if len(words) > 1 and words[1].isdigit() else 0

    def update_annotation(self, annotation_id: int, result: list[dict[str, Any]]) -> None:
        """Change an annotation's result (ANNOTATION_UPDATED)."""
        self.client.annotations.update(annotation_id, result=result)

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete an annotation (ANNOTATIONS_DELETED)."""
        self.client.annotations.delete(annotation_id)

    # Webhooks (created by Label Studio when a backend is connected)

    def webhooks(self, project_id: int) -> list[dict[str, Any]]:
        """The project's webhooks."""
        return [as_dict(w) for w in self.client.webhooks.list(project=project_id)]

    def set_webhook_headers(self, webhook_id: int, headers: Mapping[str, str]) -> None:
        """Add headers (e.g. basic auth) to a webhook's calls."""
        webhook = as_dict(self.client.webhooks.get(webhook_id))
        self.client.webhooks.update(webhook_id, url=webhook["url"], headers=dict(headers))


def project_entry(projects: Mapping[str, Any], project: int) -> Any:
    """The backend's entry (in ``/metrics`` or ``/versions``) for Label Studio project ``project``: keys
    are ``"<id>.<created_at>"``, and one Label Studio has one project of each id."""
    found = [entry for key, entry in projects.items() if key.split(".", 1)[0] == str(project)]
    assert len(found) <= 1, f"several projects {project}: {sorted(projects)}"
    return found[0] if found else {}


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.5) -> Any:
    """Poll until ``condition()`` returns something truthy and return it; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)
