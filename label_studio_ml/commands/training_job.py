"""The RQ job a training worker runs, enqueued by its dotted name (``runner_rq.TRAINING_JOB``).

It runs with the services of the job's model class in this process: those ``label-studio-ml
worker`` registered (``serve_jobs_with``), or, in a plain ``rq worker`` with the backend on
``sys.path``, services started here for the class in the worker role (no HTTP app).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from label_studio_ml.config import Role, Settings
from label_studio_ml.learning.runner_rq import model_path, run_claimed
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.services import Services

#: The services of this worker process, by model path.
_SERVICES: dict[str, Services] = {}


def serve_jobs_with(services: Services) -> None:
    """Run the jobs for ``services``' model class with ``services``."""
    _SERVICES[model_path(services.model_class)] = services


def services_for(path: str) -> Services:
    """The services jobs for the model ``path`` (``module:QualifiedName``) run with."""
    if path not in _SERVICES:
        module, _, name = path.partition(":")
        model_class: type[LabelStudioMLBase] = getattr(importlib.import_module(module), name)
        settings = dataclasses.replace(Settings.from_env(), role=Role.WORKER)
        serve_jobs_with(Services.start(model_class, settings))
    return _SERVICES[path]


def run_training(path: str, namespace: str, project: str, claimed_by: str, data: dict[str, Any]) -> str:
    """The RQ job: run the claimed training of ``project`` in this worker process."""
    services = services_for(path)
    if services.context.namespace != namespace:
        raise RuntimeError(
            f"job for namespace {namespace!r} reached a worker of {services.context.namespace!r}"
        )

    def make_model(name: str) -> LabelStudioMLBase:
        return services.registry.create(name, None)

    return run_claimed(services.queue, make_model, project, claimed_by, data)
