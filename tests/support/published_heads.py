"""Versions published through the real model store without training: the embedded encoder with a
fresh (seeded) head, optionally biased so that one output always wins. Enough to check how
versions are served, cached, lost and repaired, in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hf_text.runtime.loader import load_for_training
from hf_text.runtime.resolve import resolve_model_folder

#: The file a saved head keeps its weights in.
WEIGHTS = "model.safetensors"


def publish_head(model: Any, head_labels: list[str], winner: int | None = None, **head: Any) -> str:
    """Publish a head for ``model``'s first control as its current version; returns the version.

    ``head_labels`` are the names the head's metadata and config record (what training saw);
    output ``winner``, when given, gets a bias no text can overcome.
    """
    control = model.controls()[0]
    torch.manual_seed(0)
    config = model.task.head_config(control, head_labels)
    tokenizer, network = load_for_training(resolve_model_folder(""), model.TASK_KIND, **config)
    if winner is not None:
        with torch.no_grad():
            network.classifier.bias.zero_()
            network.classifier.bias[winner] = 30.0
    with model.store.staging() as staging:
        network.save_pretrained(staging / "head-0")
        tokenizer.save_pretrained(staging / "head-0")
        meta = {
            "from_name": control.from_name,
            "to_name": control.to_name,
            "dir": "head-0",
            "labels": head_labels,
            "multiple": control.multiple,
            "max_length": 64,
            "window_stride": 16,
            **head,
        }
        version = model.store.publish(staging, {"task_kind": model.TASK_KIND, "heads": [meta]})
    model.set_model_version(version)
    return version


def head_folder(model: Any, version: str | None = None) -> Path:
    """The folder of the (current) version's only head."""
    return model.store.root / (version or model.model_version) / "head-0"


def corrupt(folder: Path) -> bytes:
    """Overwrite the head's weights with garbage (a torn copy, a bad disk); returns the original."""
    path = folder / WEIGHTS
    original = path.read_bytes()
    path.write_bytes(b"not a safetensors file" * 8)
    return original
