"""Training on exactly the configured device: HF ``TrainingArguments`` pinned to one GPU.

Left alone, ``TrainingArguments`` picks its device itself: with CUDA always ``cuda:0``, and
``torch.nn.DataParallel`` over every visible GPU when there are several, whatever ``DEVICE`` says.
A backend told ``DEVICE=cuda:1`` (say, because another service owns GPU 0) must train there, and
a small model gains nothing from splitting every batch over GPUs.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch


def _cuda_index(device: torch.device) -> int:
    # ``cuda`` without an index is the thread's current GPU, which is where inference runs too.
    return device.index if device.index is not None else torch.cuda.current_device()


def pinned_arguments(device: torch.device) -> Any:
    """A ``TrainingArguments`` class whose instances train on ``device``, one GPU, no DataParallel.

    On a CPU (or MPS) the stock class already does what ``DEVICE`` says. For CUDA the stock device
    setup still runs (it prepares accelerate's state), then the device is replaced by ``device``
    and made this thread's current GPU, where accelerate places the batches.
    """
    from transformers import TrainingArguments

    if device.type != "cuda":
        return TrainingArguments
    index = _cuda_index(device)

    class PinnedTrainingArguments(TrainingArguments):
        """``TrainingArguments`` on ``cuda:{index}`` only."""

        @cached_property
        def _setup_devices(self) -> torch.device:
            TrainingArguments._setup_devices.func(self)  # accelerate's state, set up as usual
            torch.cuda.set_device(index)
            self._n_gpu = 1
            return torch.device("cuda", index)

    return PinnedTrainingArguments
