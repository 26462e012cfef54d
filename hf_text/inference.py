"""Running a model over windows: token-budget batches, dynamic padding, ``torch.inference_mode``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hf_text.batching import map_batched
from hf_text.device import pad_multiple
from hf_text.loader import LoadedModel
from hf_text.windows import Window


def _forward(loaded: LoadedModel, windows: list[Window]) -> list[np.ndarray]:
    batch = loaded.tokenizer.pad(
        [window.features() for window in windows],
        padding=True,
        pad_to_multiple_of=pad_multiple(loaded.device),
        return_tensors="pt",
    )
    batch = {name: tensor.to(loaded.device) for name, tensor in batch.items()}
    with torch.inference_mode():
        logits = loaded.model(**batch).logits.float().cpu().numpy()
    # Token-level outputs are cut back to each window's own length (padding dropped).
    if logits.ndim == 3:
        return [logits[row, : len(window)] for row, window in enumerate(windows)]
    return [logits[row] for row in range(len(windows))]


def window_logits(loaded: LoadedModel, windows: Sequence[Window], token_budget: int) -> list[np.ndarray]:
    """The model's logits for every window, in the order given.

    Sequence classification gives one ``(num_labels,)`` vector per window; token
    classification one ``(window length, num_labels)`` matrix.
    """
    lengths = [len(window) for window in windows]
    return map_batched(
        list(windows),
        lengths,
        token_budget,
        lambda batch: _forward(loaded, batch),
        multiple=pad_multiple(loaded.device),
    )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis, computed stably."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Independent per-label probabilities."""
    return 1.0 / (1.0 + np.exp(-logits))
