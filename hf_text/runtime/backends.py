"""Inference back ends: what turns a batch of windows' token ids into each window's logits.

Two implementations of one small contract (``LogitsRunner``): torch (fp32 on a CPU, bf16/fp16 on
CUDA), which pads the batch into one tensor, and ONNX Runtime running a head's int8 artifact on the
CPU, which runs each window alone and unpadded. ``hf_text.runtime.inference`` batches the windows and calls
the runner; everything around it (windows, batching, decoding) is shared, so both back ends decode
identically. Which one serves a head is decided here (``serving_backend``) from
``INFERENCE_BACKEND``, the device and what the head's publication recorded about its int8 model.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from hf_text.runtime.device import pad_multiple

logger = logging.getLogger(__name__)

TORCH = "torch"
ONNX_INT8 = "onnx-int8"
#: The int8 artifact in a head's folder, written when the version is published.
INT8_FILE = "model.int8.onnx"


#: One window's model inputs, unpadded: token ids, attention mask (and token type ids) by name.
Row = Mapping[str, Sequence[int]]


class LogitsRunner(Protocol):
    """A model that maps windows' inputs to float32 logits, one array per window: ``(labels,)`` for
    sequence classification, ``(window length, labels)`` for token classification (no padding)."""

    backend: str
    device: torch.device

    def __call__(self, rows: Sequence[Row]) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class TorchRunner:
    """A transformers model on its device, in eval mode. A batch is padded to its longest row
    (rounded up to the device's multiple, ``pad_multiple``) with the model's own tokenizer."""

    model: Any
    device: torch.device
    tokenizer: Any
    backend: str = TORCH

    def __call__(self, rows: Sequence[Row]) -> list[np.ndarray]:
        features = self.tokenizer.pad(
            [dict(row) for row in rows], padding=True, pad_to_multiple_of=pad_multiple(self.device),
            return_tensors="pt",
        )  # fmt: skip
        batch = {name: tensor.to(self.device) for name, tensor in features.items()}
        with torch.inference_mode():
            logits = self.model(**batch).logits.float().cpu().numpy()
        if logits.ndim == 3:  # token logits: each window's own tokens, its padding dropped
            return [logits[index, : len(row["input_ids"])] for index, row in enumerate(rows)]
        return list(logits)


@dataclass(frozen=True)
class OnnxRunner:
    """An ONNX Runtime session on the CPU; inputs the graph does not take are not passed.

    Each row runs alone, without its padding: dynamic int8 quantization scales a tensor's
    activations by that tensor's range, so in a batch one text's logits would depend on the texts
    and the padding beside it (a task's prediction would change with what else Label Studio asked
    for). On a CPU batching gains little, and unpadded rows compute less.

    The rows of a call run side by side on ``threads`` threads, each row on one core (the session
    has one intra-op thread; ONNX Runtime releases the GIL while it runs). A window of a few
    dozen tokens is too small to split over cores: measured with the embedded MiniLM on 2 idle
    cores, two rows at a time ran 200 short texts 1.4x faster than one row on two intra-op threads,
    which was no faster than on one (``docs/encoder_int8.md``). A lone long row loses: it gets one
    core instead of every core.
    """

    session: Any
    input_names: tuple[str, ...]
    backend: str = ONNX_INT8
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    threads: int = 1

    def __call__(self, rows: Sequence[Row]) -> list[np.ndarray]:
        if self.threads < 2 or len(rows) < 2:
            return [self._run(row) for row in rows]
        return list(_row_pool(self.threads, os.getpid()).map(self._run, rows))

    def _run(self, row: Row) -> np.ndarray:
        feeds = {name: _int64(row, name) for name in self.input_names}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)[0]


@functools.cache
def _row_pool(threads: int, pid: int) -> ThreadPoolExecutor:
    """The threads that run rows side by side, one pool per size and process (keyed by ``pid``: a
    forked child has none of its parent's threads). One inference runs at a time per process
    (``hf_text.runtime.inference.FORWARD_LOCK``), so one pool is all it uses."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"onnx-rows-{pid}")


def _int64(row: Row, name: str) -> np.ndarray:
    """One input of one window as the ``(1, length)`` int64 array the graph takes."""
    if name in row:
        return np.asarray([row[name]], dtype=np.int64)
    # A graph exported with token type ids gets zeros from a tokenizer that has none (one segment).
    return np.zeros((1, len(row["input_ids"])), dtype=np.int64)


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def inference_threads(setting: int) -> int:
    """Threads for one inference (torch's intra-op threads, ONNX Runtime's rows side by side):
    ``INFERENCE_THREADS``, or the cores when it is 0."""
    return setting if setting > 0 else cpu_cores()


def open_onnx(path: Path, threads: int, backend: str = ONNX_INT8) -> OnnxRunner:
    """An ONNX Runtime session for ``path`` whose rows run on ``threads`` threads, one core each.

    One inference runs at a time per process (``hf_text.runtime.inference``), so ``threads`` cores
    are all the process ever uses: gunicorn's request threads queue instead of oversubscribing the
    cores. The session has no intra-op pool (``OnnxRunner`` says why), so no idle thread spins:
    the cores are shared with trainings and other processes, and spinning measured slower there
    (bench/README.md).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # rows run side by side instead (OnnxRunner)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = tuple(item.name for item in session.get_inputs())
    return OnnxRunner(session=session, input_names=names, backend=backend, threads=max(1, threads))


def serving_backend(setting: str, device: torch.device, head: Mapping[str, Any], folder: Path) -> str:
    """The back end that serves a head in ``folder`` whose metadata is ``head``.

    ``torch`` always serves with torch. ``auto`` serves the int8 artifact on a CPU when the head's
    publication accepted it (its metric within tolerance of fp32's, ``hf_text.training.quantization``).
    ``onnx`` serves the artifact on a CPU whenever there is one, even where that check rejected it.
    Everything else (a GPU, a head published without an artifact, a baseline) serves with torch.
    """
    if setting == TORCH:
        return TORCH
    quantization = head.get("quantization")
    if device.type != "cpu" or not (folder / INT8_FILE).is_file():
        if setting == "onnx":  # asked for by name: say why torch serves instead
            why = f"runs on {device}" if device.type != "cpu" else "has no int8 model"
            recorded = quantization.get("reason") if isinstance(quantization, Mapping) else None
            _torch_serves(str(folder), f"{why} ({recorded})" if recorded else why)
        return TORCH
    if setting == "onnx":
        return ONNX_INT8
    accepted = isinstance(quantization, Mapping) and quantization.get("serves") == ONNX_INT8
    return ONNX_INT8 if accepted else TORCH


@functools.lru_cache(maxsize=256)
def _torch_serves(folder: str, why: str) -> None:
    """Log once per head that ``INFERENCE_BACKEND=onnx`` is served by torch, and why."""
    logger.warning("INFERENCE_BACKEND=onnx: the head in %s %s; torch serves it", folder, why)
