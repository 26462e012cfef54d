"""The sentence encoder as an int8 ONNX model on disk: exported once per baseline, shared by processes.

The graph is the encoder's last hidden state (pooling stays in ``light.embeddings``, as for torch),
exported with eager attention and quantized like a fine-tuned head's artifact
(``hf_text.training.onnx_export.quantize_int8``). It is cached next to the baseline folder when that
is writable (one export for every worker, project and ``MODEL_DIR`` on the machine), else under
``MODEL_STORE`` (or ``MODEL_DIR``). Processes that start together wait on one file lock; the model
is written in a temporary folder and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

#: The quantized graph in a cache folder.
INT8_FILE = "encoder.int8.onnx"
#: Bump when the exported graph changes: older caches are then exported again.
EXPORT_FORMAT = 1
_OPSET = 17
#: Seconds a process waits for another one's export before serving fp32 itself.
LOCK_TIMEOUT = 900.0
_SAMPLE = ("A short text.", "A somewhat longer text, so that the first one is padded.")

logger = logging.getLogger(__name__)


class _LastHidden(torch.nn.Module):
    """The encoder's last hidden state, its inputs passed by name."""

    def __init__(self, model: Any, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True))).last_hidden_state


def cache_key(folder: Path) -> str:
    """Which export a cache folder holds: the baseline's files (name, size), the export format and
    the versions of what exports and quantizes (a newer ONNX Runtime quantizes anew)."""
    import onnxruntime

    files = sorted((p.name, p.stat().st_size) for p in Path(folder).iterdir() if p.is_file())
    described = json.dumps([str(Path(folder).resolve()), files, EXPORT_FORMAT, torch.__version__,
                            onnxruntime.__version__])  # fmt: skip
    return f"{Path(folder).name}-{hashlib.sha256(described.encode()).hexdigest()[:16]}"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def cache_root(folder: Path) -> Path | None:
    """Where int8 encoders are cached: beside the baseline folder, else ``MODEL_STORE``/``MODEL_DIR``
    (``None``: nowhere writable)."""
    from label_studio_ml.config import Settings

    beside = Path(folder).resolve().parent / ".sentence-encoders-int8"
    if _writable(beside):
        return beside
    try:
        settings = Settings.from_env()
    except Exception:  # the server validated them at start; a bad variable here only costs int8
        return None
    store = (settings.model_store or settings.model_dir) / ".sentence-encoders-int8"
    return store if _writable(store) else None


def export_last_hidden(folder: Path, out: Path) -> Path:
    """``folder``'s encoder (no head) as an fp32 ONNX graph of its last hidden state, batch and
    sequence length dynamic, loaded afresh on the CPU."""
    from transformers import AutoModel

    from hf_text.runtime.loader import load_tokenizer
    from hf_text.training.onnx_export import check_graph_inputs, input_names

    tokenizer = load_tokenizer(folder)
    model = AutoModel.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager").eval()
    names = input_names(tokenizer, model)
    wrapper = _LastHidden(model, names).eval()
    sample = tokenizer(list(_SAMPLE), padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the exporter's own deprecation, traced shape branches
        torch.onnx.export(wrapper, tuple(sample[name] for name in names), str(out), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=_OPSET,
                          dynamo=False)  # fmt: skip
    check_graph_inputs(out, names)
    return out


def square_matmuls(path: Path) -> list[str]:
    """The MatMuls whose weight is a square matrix: an encoder's attention projections (query, key,
    value, output), not its feed-forward layers (hidden to 4x hidden and back).

    Only these are quantized. Measured with the embedded MiniLM on 300 tweets and label prompts
    (docs/encoder_int8.md): every MatMul in int8 gave embeddings at cosine 0.981-0.999 of fp32's
    (80 texts below 0.99); the attention projections alone gave 0.996 or more for every text."""
    import onnx

    graph = onnx.load(str(path), load_external_data=True).graph
    shapes = {item.name: tuple(item.dims) for item in graph.initializer}
    names = []
    for node in graph.node:
        shape = shapes.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) > 1 else None
        if shape is not None and len(shape) == 2 and shape[0] == shape[1]:
            names.append(node.name)
    return names


def build(folder: Path, target: Path) -> Path:
    """Export and quantize ``folder``'s encoder into ``target`` (a new folder), atomically: written in
    a temporary sibling, then renamed. A folder another process renamed first wins."""
    from hf_text.training.onnx_export import quantize_int8

    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fp32 = export_last_hidden(folder, work / "encoder.onnx")
        chosen = {"nodes_to_quantize": square_matmuls(fp32), "op_types_to_quantize": ["MatMul"]}
        quantize_int8(fp32, work / INT8_FILE, **chosen)
        fp32.unlink()
        (work / "meta.json").write_text(json.dumps({"baseline": str(folder), "format": EXPORT_FORMAT}))
        try:
            os.rename(work, target)
        except OSError:
            if not (target / INT8_FILE).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / INT8_FILE


def int8_encoder(folder: Path, root: Path | None = None) -> Path:
    """The cached int8 model of ``folder``'s encoder, exported first when there is none.

    Raises (``OSError``, ``RuntimeError``, an exporter's error...) when none can be had; the caller
    then serves fp32."""
    from filelock import FileLock

    root = root if root is not None else cache_root(folder)
    if root is None:
        raise OSError(f"no writable folder to cache the int8 encoder of {folder} in")
    root.mkdir(parents=True, exist_ok=True)
    target = root / cache_key(folder)
    if (target / INT8_FILE).is_file():
        return target / INT8_FILE
    with FileLock(str(target) + ".lock", timeout=LOCK_TIMEOUT):
        if (target / INT8_FILE).is_file():  # another process exported it while this one waited
            return target / INT8_FILE
        logger.info("exporting the sentence encoder %s to int8 ONNX in %s", folder, target)
        return build(folder, target)
