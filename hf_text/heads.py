"""Training one head (one fine-tuned model per control) and summarising a fit's heads."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hf_text.controls import ControlSpec, Example
from hf_text.loader import LoadedModel, load_for_training
from hf_text.quantization import publish_int8
from hf_text.split import train_validation_split
from hf_text.trainer import train_model
from hf_text.windows import window_length

if TYPE_CHECKING:
    from hf_text.base import HFTextModel

_SUMMARY_KEYS = ("train_size", "validation_size", "training_rows", "train_loss", "train_seconds", "steps")


def train_head(
    owner: HFTextModel,
    control: ControlSpec,
    examples: list[Example],
    baseline: Path,
    out: Path,
    learning_rate: float,
) -> dict[str, Any]:
    """Fine-tune a fresh copy of ``baseline`` for ``control``, save it in ``out``, evaluate it.

    ``owner`` supplies the task-specific hooks (labels, rows, collator, evaluation). Returns the
    head's metadata: what it predicts, how it was trained, and its validation metrics.
    """
    from transformers import set_seed

    settings = owner.hf_settings
    train, validation = train_validation_split(
        examples, owner.stratify_key, settings.validation_min_examples, settings.seed
    )
    labels = owner.model_labels(control)
    set_seed(settings.seed)  # the new head's initial weights depend on it
    tokenizer, model = load_for_training(baseline, owner.TASK_KIND, **owner.head_config(control, labels))
    max_length = window_length(tokenizer, model.config, settings.max_length)
    rows = owner.training_rows(tokenizer, train, control, labels, max_length)

    def progress(**fields: Any) -> None:
        owner.report_progress(head=control.from_name, **fields)

    with tempfile.TemporaryDirectory(prefix="hf-text-trainer-") as scratch:
        stats = train_model(
            model, tokenizer, rows, owner.collator(tokenizer), settings, learning_rate, owner.device,
            Path(scratch), progress=progress,
        )  # fmt: skip
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    head = {
        "from_name": control.from_name,
        "to_name": control.to_name,
        "dir": out.name,
        "labels": labels,
        "multiple": control.multiple,
        "max_length": max_length,
        "window_stride": settings.window_stride,
        "train_size": len(train),
        "validation_size": len(validation),
        "training_rows": len(rows),
        "train_loss": round(stats.train_loss, 5),
        "train_seconds": stats.seconds,
        "steps": stats.steps,
    }
    # Validation runs the inference code path on the in-memory model, where training left it.
    trained = LoadedModel.of_torch(tokenizer, model, out)
    head["metrics"] = owner.evaluate(trained, validation, control, head) if validation else {}
    head["quantization"] = publish_int8(owner, control, head, out, train)
    return head


def head_summary(head: dict[str, Any]) -> dict[str, Any]:
    """A head's sizes, loss and validation metrics, flat."""
    return {
        **{key: head[key] for key in _SUMMARY_KEYS},
        **head["metrics"],
        "quantization": head.get("quantization", {}),
    }


def fit_summary(version: str, heads: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``fit`` returns: per-head summaries, flattened at the top level when there is one head."""
    summary: dict[str, Any] = {
        "model_version": version,
        "heads": {head["from_name"]: head_summary(head) for head in heads},
    }
    if len(heads) == 1:  # the usual case reads flat
        summary.update(head_summary(heads[0]))
    return summary
