"""A backend served by ``create_app`` on a family's model folder, driven as Label Studio drives it:
``/setup``, a ``START_TRAINING`` webhook (labeled tasks read from a fake Label Studio), ``/predict``
and ``/metrics`` through the Flask test client."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_text.runtime.backends import INT8_FILE
from hf_text.settings import HFSettings
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support.fake_label_studio import fake_label_studio

TOKEN = "ls-token"
TRAINING_TIMEOUT_S = 300
#: "int8 export failed: AttributeError" names an exception, not what a user can do about it.
_BARE_REASON = re.compile(r"^int8 export failed: \w+$")


@dataclass
class ServedBackend:
    """One project of a backend served over HTTP, with its label config."""

    app: Any
    project: str
    label_config: str
    model_dir: Path

    @property
    def client(self) -> Any:
        """A Flask test client of the app."""
        return self.app.test_client()

    def setup(self, hostname: str = "http://127.0.0.1:9") -> str:
        """``/setup`` the project; returns the model version Label Studio would see."""
        body = {"project": self.project, "schema": self.label_config, "hostname": hostname,
                "access_token": TOKEN, "extra_params": None}  # fmt: skip
        answer = self.client.post("/setup", json=body)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()["model_version"]

    def post_predict(self, texts: list[str]) -> Any:
        """The answer to ``/predict`` with one task per text."""
        tasks = [{"id": index + 1, "data": {"text": text}} for index, text in enumerate(texts)]
        body = {"tasks": tasks, "project": self.project, "label_config": self.label_config, "params": {}}
        return self.client.post("/predict", json=body)

    def predict(self, texts: list[str]) -> list[dict[str, Any]]:
        """``/predict`` one task per text; fails with the server's answer unless it is 200."""
        answer = self.post_predict(texts)
        assert answer.status_code == 200, f"/predict answered {answer.status_code}: {answer.get_json()}"
        results = answer.get_json()["results"]
        assert len(results) == len(texts)
        return results

    def stop(self) -> None:
        """Stop the app's services (training queue, instant updates, warm-up)."""
        self.app.extensions["label_studio_ml"]["services"].stop()

    def metrics(self) -> dict[str, Any]:
        """This project's part of ``/metrics``."""
        return self.client.get("/metrics").get_json()["projects"].get(self.project, {})

    def has_int8(self, report: dict[str, Any]) -> bool:
        """Whether the version a training ``report`` names has its int8 model; without one, fails
        unless the report's ``quantization`` says why in words."""
        version = report["metrics"]["model_version"]
        if list(self.model_dir.rglob(f"{version}/*/{INT8_FILE}")):
            return True
        quantization = report["metrics"].get("quantization", {})
        reason = str(quantization.get("reason", ""))
        assert reason and not _BARE_REASON.match(reason), (
            f"no int8 model and no reason in words: {quantization}"
        )
        return False

    def train(self, tasks: list[dict[str, Any]], webhook: dict[str, Any]) -> dict[str, Any]:
        """Set the project up against a fake Label Studio serving ``tasks``, send the ``START_TRAINING``
        ``webhook`` and wait for the training; returns what ``/metrics`` says of it."""
        with fake_label_studio(tasks, token=TOKEN) as (url, _seen):
            self.setup(url)
            answer = self.client.post("/webhook", json=webhook)
            assert answer.status_code == 201, answer.get_json()
            assert self.app.extensions["label_studio_ml"]["queue"].wait(
                self.project, timeout=TRAINING_TIMEOUT_S
            )
        return self.metrics()["training"]


def published_version(report: dict[str, Any]) -> str:
    """The version a training ``report`` (``/metrics``) published; fails with the training's error
    when there is none."""
    version = (report.get("metrics") or {}).get("model_version")
    assert version, f"no version was trained: {report.get('error') or report}"
    return version


@contextmanager
def serving(
    model_class: type, model_dir: Path, label_config: str, project: str, **settings: Any
) -> Iterator[ServedBackend]:
    """``serve``, stopped on leaving."""
    served = serve(model_class, model_dir, label_config, project, **settings)
    try:
        yield served
    finally:
        served.stop()


def serve(
    model_class: type, model_dir: Path, label_config: str, project: str, **settings: Any
) -> ServedBackend:
    """``model_class`` served by ``create_app`` with ``MODEL_DIR=model_dir`` and ``settings`` (HFSettings
    fields: ``baseline_model_name`` names the family's folder), healthy."""
    model_settings = HFSettings(**settings)
    context = BackendContext.from_settings(
        Settings(model_dir=model_dir, start_training_each_n_updates=0), model_settings=model_settings
    )
    app = create_app(model_class, context=context)
    deadline = time.monotonic() + 60
    while (health := app.test_client().get("/health")).status_code != 200:
        assert time.monotonic() < deadline, f"never healthy: {health.get_json()}"
        time.sleep(0.05)
    return ServedBackend(app, project, label_config, model_dir)
