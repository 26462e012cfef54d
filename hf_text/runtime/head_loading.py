"""Loading a published head for inference with the back end that should serve it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hf_text.runtime.backends import inference_threads, serving_backend
from hf_text.runtime.device import inference_dtype
from hf_text.runtime.loader import LoadedModel, load_for_inference
from hf_text.settings import HFSettings


def load_head(
    folder: Path, head: Mapping[str, Any], kind: str, settings: HFSettings, device: torch.device
) -> LoadedModel:
    """The cached inference model of the head in ``folder`` (``head`` is its metadata): int8 ONNX
    or torch as ``hf_text.runtime.backends.serving_backend`` decides. ``ModelUnavailable`` when it cannot
    be loaded."""
    return load_for_inference(
        folder,
        kind,
        device,
        inference_dtype(device),
        keep=settings.model_cache_size,
        backend=serving_backend(settings.inference_backend, device, head, folder),
        threads=inference_threads(settings.inference_threads),
    )


def configure_threads(settings: HFSettings) -> int:
    """Give torch's intra-op pool ``INFERENCE_THREADS`` threads (one per core by default).

    ONNX Runtime sessions get the same count when they are opened (``hf_text.runtime.backends``); one
    forward pass runs at a time per process (``hf_text.runtime.inference``), so the process uses one pool
    of that size whatever gunicorn's thread count. Returns the count.
    """
    threads = inference_threads(settings.inference_threads)
    torch.set_num_threads(threads)
    return threads
