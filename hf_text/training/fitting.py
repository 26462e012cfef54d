"""One training of a project: a head per control on every labeled example, published as a version.

A head warm-starts from the newest fine-tuned version's (served, or waiting behind the instant
layer) when only examples were added or changed (``hf_text.training.warm_start``). Before training, that
version is scored on the examples it never saw (``hf_text.training.evaluation``); that evaluation travels
in the new version's metadata and in the returned summary, next to how many examples the new
version learned from. The int8 model of each head is checked on the project's unlabeled texts too
(``hf_text.training.quantization``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_text.data.collect import unlabeled_tasks
from hf_text.data.controls import ControlSpec, Example
from hf_text.runtime.backends import TORCH
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.training.evaluation import forward_evaluation
from hf_text.training.heads import fit_summary, plan_head, train_head
from hf_text.training.memory import release_memory

if TYPE_CHECKING:
    from hf_text.base import HFTextModel

logger = logging.getLogger(__name__)


def fit_model(model: HFTextModel, event: str) -> dict[str, Any]:
    """Train, publish and serve a new version of ``model``'s project for ``event``; its summary."""
    tasks = model.labeled_tasks()
    settings = model.hf_settings
    learning_rate = settings.learning_rate_or(model.DEFAULT_LEARNING_RATE)
    store = model.store
    store.clean_leftovers()
    served = store.latest() or model.model_version
    # Texts no version trained on, for the int8 check (none when no int8 model is built).
    checked = settings.quantization_check_examples if settings.inference_backend != TORCH else 0
    unlabeled = unlabeled_tasks(model, checked)
    heads, skipped = [], {}
    with store.staging() as staging:
        for index, control in enumerate(model.controls()):
            collected = model.gather_examples(tasks, control)
            skipped[control.from_name] = collected.skipped.as_dict()
            if not collected.examples:
                logger.info("project %s: no usable annotations for %s", model.project_id, control.from_name)
                continue
            unseen = [text for text in (model.task_text(task, control) for task in unlabeled) if text]
            out, examples = staging / f"head-{index}", collected.examples
            head = _train_control(model, event, control, examples, served, out, learning_rate, unseen)
            heads.append({**head, "skipped_tasks": skipped[control.from_name]})
        if not heads:
            return {
                "skipped": f"no usable annotations among {len(tasks)} labeled task(s)",
                "skipped_tasks": skipped,
                "model_version": model.model_version,
            }
        meta = {
            "task_kind": model.TASK_KIND,
            "model_class": type(model).__name__,
            "heads": heads,
            "hyper_parameters": settings.hyper_parameters(learning_rate),
            "event": event,
            "train_size": sum(head["train_size"] for head in heads),
        }
        version = store.publish(staging, meta)
    model.publish_fine_tuned(version)
    store.prune(settings.keep_versions, protect={version})
    release_memory()  # the trainable copies of the heads are garbage now
    return fit_summary(version, heads)


def _train_control(
    model: HFTextModel, event: str, control: ControlSpec, examples: list[Example], served: str | None,
    out: Path, learning_rate: float, unlabeled: list[str],
) -> dict[str, Any]:  # fmt: skip
    """Score the served version on what it never saw, plan, train and save ``control``'s head."""
    settings = model.hf_settings
    limit = settings.evaluation_max_examples
    evaluation = forward_evaluation(model, model.store, served, control, examples, limit)
    baseline = resolve_model_folder(settings.baseline_model_name)
    plan = plan_head(model, event, control, examples, baseline, model.store, served)
    head = train_head(model, control, plan, examples, out, learning_rate, evaluation, unlabeled)
    return {**head, "evaluation": evaluation}
