"""A backend app in-process with instant learning, connected to a fake Label Studio, for the tests that
teach it one annotation through ``/webhook`` and read what ``/predict`` then answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import wait_healthy
from tests.support.fake_label_studio import fake_label_studio


class ConnectedApp:
    """The app's test client, its instant updates and the project ``/setup`` connected."""

    def __init__(self, client: Any, instant: Any, project: str, config: str) -> None:
        self.client = client
        self.instant = instant
        self.project = project
        self.config = config

    def learn(self, body: dict[str, Any], project_id: int) -> None:
        """Send one ``ANNOTATION_CREATED`` body (its project given ``project_id``); wait until learned."""
        body["project"].update({"id": project_id, "created_at": "2023-11-14T22:13:20Z"})
        self.client.post("/webhook", json=body)
        assert self.instant.wait(self.project, timeout=60)

    def predict(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``/predict``'s items for ``tasks``."""
        body = {"tasks": tasks, "project": self.project, "label_config": self.config}
        return self.client.post("/predict", json=body).get_json()["results"]


@contextmanager
def connected_app(model_class: type, model_dir: Path, project: str, config: str) -> Iterator[ConnectedApp]:
    """``model_class`` served by ``create_app`` on ``model_dir`` (trainings only on demand), healthy,
    with ``project`` connected through ``/setup`` to a fake Label Studio that has no labeled task."""
    settings = Settings(model_dir=model_dir, start_training_each_n_updates=0)
    app = create_app(model_class, context=BackendContext.from_settings(settings))
    client = app.test_client()
    wait_healthy(client, timeout=120)
    with fake_label_studio([], token="ls-token") as (url, _):
        setup = {"project": project, "schema": config, "hostname": url, "access_token": "ls-token"}
        assert client.post("/setup", json=setup).status_code == 200
        yield ConnectedApp(client, app.extensions["label_studio_ml"]["instant"], project, config)
