"""One training of a project: a head per control on every labeled example, published as a version.

A head warm-starts from the newest fine-tuned version's (served, or waiting behind the instant
layer) when only examples were added or changed (``hf_text.training.warm_start``). Before training, that
version is scored on the examples it never saw (``hf_text.training.evaluation``); that evaluation travels
in the new version's metadata and in the returned summary, next to how many examples the new
version learned from. The int8 model of each head is checked on the project's unlabeled texts too
(``hf_text.training.quantization``).

The model gathers what a training learns from (``ControlData``: examples per control, and texts
no version trained on) and hands it over with its task description and a ``TrainingRun``
(``hf_text.task``). A training publishes its version in the store and returns it: which version
then serves (at once, or as the instant layer decides) is the model's call, so training never
reaches the instant layer (``hf_text.instant.learning`` says which way that dependency points).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_text.data.collect import Collected
from hf_text.data.controls import ControlSpec
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.task import TextTask, TrainingRun
from hf_text.training.evaluation import forward_evaluation
from hf_text.training.heads import fit_summary, plan_head, train_head
from hf_text.training.memory import release_memory

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlData:
    """One control's share of a training: its examples (and the labeled tasks that gave none), and
    texts of the project no version trained on, for the int8 check."""

    control: ControlSpec
    collected: Collected
    unlabeled: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fitted:
    """What a training did: the version it published (``None``: nothing to learn) and its summary."""

    version: str | None
    summary: dict[str, Any]


def fit_model(
    task: TextTask, run: TrainingRun, controls: Sequence[ControlData], labeled: int, current: str
) -> Fitted:
    """Train a head per control of ``controls`` (from ``labeled`` labeled tasks) and publish them as
    a new version of ``run.store``. ``current`` is the version served now, scored when the store
    has no newer one."""
    store = run.store
    store.clean_leftovers()
    served = store.latest() or current
    heads, skipped = [], {}
    with store.staging() as staging:
        for index, data in enumerate(controls):
            control = data.control
            skipped[control.from_name] = data.collected.skipped.as_dict()
            if not data.collected.examples:
                logger.info("project %s: no usable annotations for %s", run.project, control.from_name)
                continue
            head = _train_control(task, run, data, served, staging / f"head-{index}")
            heads.append({**head, "skipped_tasks": skipped[control.from_name]})
        if not heads:
            summary = {
                "skipped": f"no usable annotations among {labeled} labeled task(s)",
                "skipped_tasks": skipped,
                "model_version": current,
            }
            return Fitted(None, summary)
        meta = {
            "task_kind": task.TASK_KIND,
            "model_class": run.model_class,
            "heads": heads,
            "hyper_parameters": run.settings.hyper_parameters(run.learning_rate),
            "event": run.event,
            "train_size": sum(head["train_size"] for head in heads),
        }
        version = store.publish(staging, meta)
    return Fitted(version, fit_summary(version, heads))


def prune_versions(run: TrainingRun, version: str) -> None:
    """After ``version`` serves: delete the store's versions beyond ``KEEP_VERSIONS`` (never it)."""
    run.store.prune(run.settings.keep_versions, protect={version})
    release_memory()  # the trainable copies of the heads are garbage now


def _train_control(
    task: TextTask, run: TrainingRun, data: ControlData, served: str | None, out: Path
) -> dict[str, Any]:
    """Score the served version on what it never saw, plan, train and save the control's head."""
    control, examples = data.control, data.collected.examples
    evaluation = forward_evaluation(task, run, served, control, examples)
    baseline = resolve_model_folder(run.settings.baseline_model_name)
    plan = plan_head(task, run, control, examples, baseline, served)
    head = train_head(task, run, control, plan, examples, out, evaluation, data.unlabeled)
    return {**head, "evaluation": evaluation}
