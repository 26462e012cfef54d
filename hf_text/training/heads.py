"""Training one head (one fine-tuned model per control) and summarising a fit's heads.

A head learns every labeled example of its control: nothing is held out of the model that is
served. A full training fits a fresh copy of the base model to all of them; a warm-started one
continues the served head on the examples it never saw plus a replay sample of older ones
(``hf_text.training.warm_start``), so its cost follows what changed, not the project's size. Either way the
folder records every example the head has learned (``hf_text.data.trained_on``), so the next training
can score it on the ones it never saw (``hf_text.training.evaluation``), and holds its int8 model
(``hf_text.training.quantization``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hf_text.data.controls import ControlSpec, Example
from hf_text.data.trained_on import example_key, read_record, write_record
from hf_text.runtime.loader import load_for_training
from hf_text.task import TextTask, TrainingRun
from hf_text.text.windows import window_length
from hf_text.training.evaluation import served_head
from hf_text.training.quantization import publish_int8
from hf_text.training.trainer import train_model
from hf_text.training.warm_start import ServedHead, TrainingPlan, plan_training

_SUMMARY_KEYS = ("train_size", "training_rows", "train_loss", "train_seconds", "steps")


def plan_head(
    task: TextTask,
    run: TrainingRun,
    control: ControlSpec,
    examples: list[Example],
    baseline: Path,
    served: str,
) -> TrainingPlan:
    """Whether ``control``'s next head warm-starts from the ``served`` version's, and on what."""
    store = run.store
    meta = store.meta(served)
    head = served_head(meta, control, task) if meta is not None else None
    current = None
    if meta is not None and head is not None:
        folder = store.root / served / head["dir"]
        hyper = meta.get("hyper_parameters") or {}
        current = ServedHead(served, folder, head, hyper, read_record(folder))
    labels = task.model_labels(control)
    return plan_training(run.event, run.settings, baseline, current, examples, labels, example_key)


def train_head(
    task: TextTask,
    run: TrainingRun,
    control: ControlSpec,
    plan: TrainingPlan,
    examples: list[Example],
    out: Path,
    held_out: dict[str, Any] | None = None,
    unlabeled: list[str] | None = None,
) -> dict[str, Any]:
    """Train a head for ``control`` as ``plan`` says, save it and its int8 model in ``out``.

    ``examples`` are all of the control's current examples: the head has learned them all when
    it is saved (the served head knew those a warm start does not train on again). ``held_out``
    is the forward evaluation of the served version, which the int8 check takes into account, as it
    does ``unlabeled`` texts of the project (never trained on).
    ``task`` supplies the task-specific pieces (labels, rows, collator), ``run`` the settings,
    device, learning rate and progress callback. Returns the head's metadata: what it predicts and
    how it was trained.
    """
    from transformers import set_seed

    settings = run.settings
    labels = task.model_labels(control)
    set_seed(settings.seed)  # a new head's initial weights and the batch order depend on it
    tokenizer, model = load_for_training(plan.start_from, task.TASK_KIND, **task.head_config(control, labels))
    max_length = window_length(tokenizer, model.config, settings.max_length)
    rows = task.training_rows(tokenizer, plan.train, control, labels, max_length)

    def progress(**fields: Any) -> None:
        run.progress(head=control.from_name, **fields)

    with tempfile.TemporaryDirectory(prefix="hf-text-trainer-") as scratch:
        stats = train_model(
            model, tokenizer, rows, task.collator(tokenizer), settings, run.learning_rate, run.device,
            Path(scratch), progress=progress, warm=plan.warm,
        )  # fmt: skip
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_record(out, examples)
    head = {
        "from_name": control.from_name,
        "to_name": control.to_name,
        "dir": out.name,
        "labels": labels,
        "multiple": control.multiple,
        "max_length": max_length,
        "window_stride": settings.window_stride,
        "train_size": len(examples),
        "training_rows": len(rows),
        "train_loss": round(stats.train_loss, 5),
        "train_seconds": stats.seconds,
        "steps": stats.steps,
        "training": {**plan.record(), "learning_rate": stats.learning_rate},
    }
    unseen = unlabeled or []
    head["quantization"] = publish_int8(task, settings, control, head, out, examples, held_out, unseen)
    return head


def head_summary(head: dict[str, Any]) -> dict[str, Any]:
    """A head's training sizes and loss, the tasks it could not use, and the forward evaluation."""
    return {
        **{key: head[key] for key in _SUMMARY_KEYS},
        "skipped_tasks": head.get("skipped_tasks", {}),
        "evaluation": head.get("evaluation", {}),
        "training": head.get("training", {}),
        "quantization": head.get("quantization", {}),
    }


def fit_summary(version: str, heads: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``fit`` returns (``/metrics`` shows it): per-head summaries, flat when there is one head.

    ``model_version`` and ``train_size`` describe the version just published; ``evaluation``
    describes the version it replaces (named in it), scored on examples that one never saw.
    """
    summary: dict[str, Any] = {
        "model_version": version,
        "train_size": sum(head["train_size"] for head in heads),
        "heads": {head["from_name"]: head_summary(head) for head in heads},
    }
    if len(heads) == 1:  # the usual case reads flat
        summary.update(head_summary(heads[0]))
    return summary
