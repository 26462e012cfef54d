"""A project trained in-process through the backends' real ``fit``, as if Label Studio listed its tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.requests_ls import project_key
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext


def project_model(model_class: type, label_config: str, settings: HFSettings, model_dir: Path) -> Any:
    """The instance serving project 1 under ``model_dir``, as the server would build it (under the key
    the recorded requests name it by: ``"1.<created_at>"``)."""
    context = BackendContext.for_model(model_class, Settings(model_dir=model_dir))
    project = project_key(1)
    return model_class(project_id=project, label_config=label_config, context=context, hf_settings=settings)


def fit_project(
    model_class: type,
    label_config: str,
    settings: HFSettings,
    tasks: list[dict[str, Any]],
    model_dir: Path,
) -> tuple[Any, dict[str, Any]]:
    """Project 1 under ``model_dir`` trained on ``tasks``; the instance and what ``fit`` returned.

    Only ``labeled_tasks`` is replaced; the rest is the production path, store and state included,
    so a backend started on ``model_dir`` serves the version trained here.
    """
    model = project_model(model_class, label_config, settings, model_dir)
    model.labeled_tasks = lambda: tasks
    summary = model.fit("START_TRAINING", {})
    return model, summary
