"""A saved head as ONNX: fp32 export with ``torch.onnx.export``, then ONNX Runtime's int8 quantization.

Measured on this project's CPU (bench/README.md), with the embedded MiniLM: the model exported
with eager attention and quantized dynamically (int8 weights, activations quantized per batch)
runs 3-5x faster than torch fp32 on the same batches; the same graph exported with PyTorch's
SDPA attention is a third slower, since ONNX Runtime fuses eager attention into its own kernel.
The TorchScript-based exporter is used: the dynamo exporter needs two more packages (onnxscript,
onnx-ir) and gave the same graph quality at twice the export time.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

import torch

from hf_text.runtime.loader import TOKEN_CLASSIFICATION, load_tokenizer, model_class
from hf_text.runtime.padding import pad_id_on_model
from hf_text.text.windows import window_length

logger = logging.getLogger(__name__)

#: Inputs a text classifier may take, in the order the exported graph lists them.
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17
#: Two texts of different lengths, so the traced graph sees padding.
_SAMPLE_TEXTS = ("A short text.", "A somewhat longer text, so that the first one is padded.")
_SAMPLE_TOKENS = 32


def _parameters(model: Any) -> set[str]:
    return set(inspect.signature(model.forward).parameters)


def input_names(tokenizer: Any, model: Any) -> list[str]:
    """The graph's inputs: those of ``MODEL_INPUTS`` the tokenizer gives and the model's forward
    names (DistilBERT and ModernBERT take no ``token_type_ids``, whatever their tokenizer gives)."""
    given = set(getattr(tokenizer, "model_input_names", MODEL_INPUTS))
    names = [name for name in MODEL_INPUTS if name in given and name in _parameters(model)]
    if "input_ids" not in names:
        raise ValueError(f"{type(model).__name__}.forward takes no input_ids")
    return names


class _Logits(torch.nn.Module):
    """The model's logits, its inputs passed by name.

    Passed by position, a decoder's inputs land elsewhere: GPT-2's second parameter is
    ``past_key_values``, which then received the attention mask. One forward over the whole window,
    as served: no key/value cache (``use_cache=False``), so the graph has one output.
    """

    def __init__(self, model: Any, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names
        self.options = {"use_cache": False} if "use_cache" in _parameters(model) else {}

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True)), **self.options).logits


def check_graph_inputs(path: Path, names: list[str]) -> list[str]:
    """The exported graph's inputs; ``ValueError`` unless they are ``input_ids`` and some of ``names``
    (the exporter drops an input the model never reads)."""
    import onnx

    taken = [item.name for item in onnx.load(str(path), load_external_data=False).graph.input]
    if "input_ids" not in taken or not set(taken) <= set(names):
        raise ValueError(f"the exported graph takes {taken}, expected {names}")
    return taken


def check_logits(path: Path, logits: _Logits, tokenizer: Any, length: int) -> float:
    """The largest difference between the graph's logits and torch's, each text alone (as
    ``OnnxRunner`` serves) and longer than the traced sample: ``ValueError`` above 1e-3 of their
    scale. A graph traced with a shape baked in, or its inputs wired to the wrong parameters,
    serves other logits than the model it came from, and int8 is only ever compared with it."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    taken = [item.name for item in session.get_inputs()]
    worst = 0.0
    for text in (_SAMPLE_TEXTS[0], " ".join(_SAMPLE_TEXTS * 4)):
        encoded = tokenizer(text, truncation=True, max_length=length, return_tensors="pt")
        with torch.inference_mode():
            expected = logits(*(encoded[name] for name in logits.names)).numpy()
        found = session.run(None, {name: encoded[name].numpy() for name in taken})[0]
        scale = max(1.0, float(np.abs(expected).max()))
        worst = max(worst, float(np.abs(found - expected).max()) / scale)
    if worst > 1e-3:
        raise ValueError(f"the exported graph's logits differ from torch's by {worst:.3g} of their scale")
    return worst


def export_fp32(folder: Path, kind: str, out: Path) -> Path:
    """Export the model saved in ``folder`` (a ``kind`` head) to ``out`` as fp32 ONNX, checked:
    its inputs by name (``check_graph_inputs``) and its logits against torch's (``check_logits``).

    Batch and sequence length are dynamic; the model is loaded afresh on the CPU, whatever device
    trained it, so a GPU training job builds the same artifact a CPU one does.
    """
    tokenizer = load_tokenizer(folder)
    model = model_class(kind).from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager")
    pad_id_on_model(model.config, tokenizer)
    # Exporting restores the modes it found: a wrapper left in training mode would put the model's
    # dropout back on for the check that follows.
    logits = _Logits(model, input_names(tokenizer, model)).eval()
    length = window_length(tokenizer, model.config, _SAMPLE_TOKENS)
    sample = tokenizer(list(_SAMPLE_TEXTS), padding=True, truncation=True, max_length=length,
                       return_tensors="pt")  # fmt: skip
    axes = {name: {0: "batch", 1: "sequence"} for name in logits.names}
    axes["logits"] = {0: "batch", 1: "sequence"} if kind == TOKEN_CLASSIFICATION else {0: "batch"}
    with warnings.catch_warnings(), torch.inference_mode():
        # The exporter warns about its own deprecation and about traced branches on shapes that
        # do not depend on the input (``check_logits`` checks other lengths than the traced one).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            logits,
            tuple(sample[name] for name in logits.names),
            str(out),
            input_names=logits.names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )
    check_graph_inputs(out, logits.names)
    check_logits(out, logits, tokenizer, window_length(tokenizer, model.config, 4 * _SAMPLE_TOKENS))
    return out


class _NoPreprocessAdvice(logging.Filter):
    """ONNX Runtime's quantizer advises its shape-inference pre-processing on the root logger at
    every call; that step fails on these graphs ("incomplete symbolic shape inference")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantize_int8(source: Path, out: Path, **options: Any) -> Path:
    """``source`` with its MatMul weights in int8 (one scale per output channel) and activations
    quantized per batch; ``options`` go to ``quantize_dynamic`` (which nodes, for instance).

    Signed int8 weights with unsigned activations is the combination that VNNI (AVX-512 and AVX)
    instructions run natively; per-channel scales cost no measurable speed and keep more precision.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    advice = _NoPreprocessAdvice()
    logging.getLogger().addFilter(advice)
    try:
        quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, per_channel=True, **options)
    finally:
        logging.getLogger().removeFilter(advice)
    return out
