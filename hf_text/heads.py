"""Training one head (one fine-tuned model per control) and summarising a fit's heads.

A head trains on every labeled example of its control: nothing is held out of the model that is
served. Its folder records which examples it learned from (``hf_text.trained_on``), so the next
training can score it on the ones it never saw (``hf_text.evaluation``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_text.controls import ControlSpec, Example
from hf_text.loader import load_for_training
from hf_text.trained_on import write_record
from hf_text.trainer import train_model
from hf_text.windows import window_length

if TYPE_CHECKING:
    from hf_text.base import HFTextModel

_SUMMARY_KEYS = ("train_size", "training_rows", "train_loss", "train_seconds", "steps")


def train_head(
    owner: HFTextModel,
    control: ControlSpec,
    examples: list[Example],
    baseline: Path,
    out: Path,
    learning_rate: float,
) -> dict[str, Any]:
    """Fine-tune a fresh copy of ``baseline`` for ``control`` on all ``examples``, save it in ``out``.

    ``owner`` supplies the task-specific hooks (labels, rows, collator). Returns the head's
    metadata: what it predicts and how it was trained.
    """
    from transformers import set_seed

    settings = owner.hf_settings
    labels = owner.model_labels(control)
    set_seed(settings.seed)  # the new head's initial weights depend on it
    tokenizer, model = load_for_training(baseline, owner.TASK_KIND, **owner.head_config(control, labels))
    max_length = window_length(tokenizer, model.config, settings.max_length)
    rows = owner.training_rows(tokenizer, examples, control, labels, max_length)

    def progress(**fields: Any) -> None:
        owner.report_progress(head=control.from_name, **fields)

    with tempfile.TemporaryDirectory(prefix="hf-text-trainer-") as scratch:
        stats = train_model(
            model, tokenizer, rows, owner.collator(tokenizer), settings, learning_rate, owner.device,
            Path(scratch), progress=progress,
        )  # fmt: skip
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_record(out, examples)
    return {
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
    }


def head_summary(head: dict[str, Any]) -> dict[str, Any]:
    """A head's training sizes and loss, the tasks it could not use, and the forward evaluation."""
    return {
        **{key: head[key] for key in _SUMMARY_KEYS},
        "skipped_tasks": head.get("skipped_tasks", {}),
        "evaluation": head.get("evaluation", {}),
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
