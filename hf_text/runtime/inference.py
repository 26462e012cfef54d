"""Running a model over windows: token-budget batches, one forward at a time.

The back end (torch or ONNX Runtime int8, ``hf_text.runtime.backends``) maps a batch of windows to each
window's logits (torch pads the batch, ONNX Runtime runs each window unpadded); windows, batching
and everything decoded from the logits are the same for both.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from hf_text.runtime.device import pad_multiple
from hf_text.runtime.loader import LoadedModel
from hf_text.text.batching import map_batched
from hf_text.text.windows import Window

#: One forward pass at a time per process. Each pass already uses every core (its intra-op
#: threads, ``INFERENCE_THREADS``); gunicorn's request threads running passes side by side would
#: only oversubscribe the cores. Requests queue here batch by batch, so a one-task request waits
#: for at most one batch of a large one.
FORWARD_LOCK = threading.Lock()


def _forward(loaded: LoadedModel, windows: list[Window]) -> list[np.ndarray]:
    rows = [window.features() for window in windows]
    with FORWARD_LOCK:
        return loaded.runner(rows)


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
