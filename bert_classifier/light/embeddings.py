"""Sentence embeddings from the frozen baseline encoder, each text's embedding computed once.

The baseline (the embedded MiniLM is a sentence-transformers model) is run without any head; a
text's embedding is its tokens' mean (or ``[CLS]``, as the model's ``1_Pooling`` says), L2
normalised. A long text is read in the same overlapping windows as everywhere else and its windows'
embeddings are averaged, weighted by how many of its tokens each holds. Zero-shot predictions and
the instant head both work on these vectors; a process keeps the most recent ones (by text hash),
so predicting a task again under a new instant version costs a dot product, not a forward pass.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bert_classifier.light import encoder_check
from bert_classifier.light.encoder_onnx import int8_encoder
from hf_text.runtime.backends import ONNX_INT8, TORCH, OnnxRunner, inference_threads, open_onnx
from hf_text.runtime.device import default_token_budget, inference_dtype, pad_multiple
from hf_text.runtime.inference import FORWARD_LOCK
from hf_text.runtime.loader import load_tokenizer
from hf_text.text.batching import map_batched
from hf_text.text.windows import Window, split_windows, window_length
from label_studio_ml.caching import BoundedCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderInfo:
    """How a model folder turns into sentence embeddings.

    ``sentence_model``: the folder is a sentence-transformers model (``modules.json`` with a
    ``Pooling`` module), trained so that similar texts have close embeddings: zero-shot is only
    meaningful for such a model. ``pooling`` is ``mean`` or ``cls``; ``max_length`` the length it
    was trained for (``None``: unknown).
    """

    folder: Path
    sentence_model: bool
    pooling: str
    max_length: int | None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=8)
def encoder_info(folder: Path) -> EncoderInfo:
    """What ``folder``'s sentence-transformers files (if any) say about pooling."""
    modules = _read_json(folder / "modules.json")
    pooling_dir = None
    if isinstance(modules, list):
        for module in modules:
            if isinstance(module, dict) and str(module.get("type", "")).endswith("models.Pooling"):
                pooling_dir = folder / str(module.get("path") or "")
    config = _read_json(pooling_dir / "config.json") if pooling_dir is not None else None
    pooling = "cls" if isinstance(config, dict) and config.get("pooling_mode_cls_token") else "mean"
    st_config = _read_json(folder / "sentence_bert_config.json")
    max_length = st_config.get("max_seq_length") if isinstance(st_config, dict) else None
    return EncoderInfo(
        folder=folder,
        sentence_model=pooling_dir is not None,
        pooling=pooling,
        max_length=int(max_length) if isinstance(max_length, int) else None,
    )


def text_key(text: str) -> str:
    """The cache key of a text: a hash, so no text is kept twice in memory."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SentenceEncoder:
    """The frozen baseline encoder of one folder on one device, with its embedding cache.

    On a CPU (``backend`` ``auto`` or ``onnx``) it runs the int8 ONNX model of the same encoder
    (``light.encoder_onnx``), each window alone and unpadded, once its embeddings agree with fp32's
    (``light.encoder_check``); otherwise, or when that fails, fp32 torch. ``served`` says which
    and why (``/metrics``' ``served`` shows it). Windows, pooling and normalisation are the same.
    """

    def __init__(self, folder: Path, device: torch.device, max_length: int, stride: int, cache_size: int,
                 backend: str = TORCH, threads: int = 0, cache_root: Path | None = None) -> None:  # fmt: skip
        from transformers import AutoModel

        self.info = encoder_info(folder)
        self.device = device
        self.tokenizer = load_tokenizer(folder)
        self.model = AutoModel.from_pretrained(str(folder), dtype=inference_dtype(device))
        self.model.to(device)
        self.model.eval()
        trained_for = self.info.max_length or max_length
        self.max_length = window_length(self.tokenizer, self.model.config, min(max_length, trained_for))
        self.stride = min(stride, self.max_length // 4)
        self.cache: BoundedCache[str, np.ndarray] = BoundedCache(cache_size)  # by text hash
        self.dimension = int(self.model.config.hidden_size)
        self.setting = backend
        self.int8: OnnxRunner | None = None
        self.served: dict[str, Any] = {"backend": TORCH, "why": f"INFERENCE_BACKEND={backend}"}
        self._first_texts_checked = True
        self._check_lock = threading.Lock()
        if backend != TORCH:
            self._open_int8(folder, threads, cache_root)
        logger.info("sentence encoder %s on %s (%s pooling, %s: %s)", folder, device, self.info.pooling,
                    self.served["backend"], self.served["why"])  # fmt: skip

    def _open_int8(self, folder: Path, threads: int, cache_root: Path | None) -> None:
        """Serve the int8 model when it can be had and agrees with fp32 on the fixed sample."""
        if self.device.type != "cpu":
            self.served = {"backend": TORCH, "why": f"runs on {self.device}: int8 ONNX serves on a CPU only"}
            return
        try:
            self.int8 = open_onnx(int8_encoder(folder, cache_root), inference_threads(threads))
        except Exception as exc:  # a failed export must never stop serving: fp32 serves
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            self._fall_back(f"no int8 encoder: {type(exc).__name__}: {first}")
            return
        self.served = {"backend": ONNX_INT8, "why": "int8 embeddings agree with fp32's"}
        self._check(list(encoder_check.SAMPLE_TEXTS), default_token_budget(self.device))
        self._first_texts_checked = self.int8 is None

    def _check(self, texts: list[str], token_budget: int) -> None:
        """Compare int8 with fp32 on ``texts``; fp32 serves from now on unless every text agrees."""
        fp32 = self._compute(texts, token_budget, self._forward_torch)
        int8 = self._compute(texts, token_budget, self._forward_int8)
        found = encoder_check.agreement(texts, fp32, int8)
        checked = self.served.get("checked_texts", 0) + found.texts
        worst = min(found.min_cosine, self.served.get("min_cosine", 1.0))
        self.served = {**self.served, "checked_texts": checked, "min_cosine": round(worst, 5)}
        if not found.passed:
            self._fall_back(found.why_not())

    def _fall_back(self, why: str) -> None:
        if self.setting == "onnx" and self.int8 is not None:  # asked for by name: int8 serves anyway
            logger.warning("INFERENCE_BACKEND=onnx: the sentence encoder serves int8 although %s", why)
            self.served = {**self.served, "why": f"INFERENCE_BACKEND=onnx, although {why}"}
            return
        logger.warning("the sentence encoder serves fp32 torch: %s", why)
        self.int8 = None
        self.served = {**self.served, "backend": TORCH, "why": why}

    def embed(self, texts: list[str], token_budget: int) -> np.ndarray:
        """``(len(texts), dimension)`` unit vectors, cached ones reused."""
        keys = [text_key(text) for text in texts]
        found = {key: self.cache.get(key) for key in keys}
        todo = [key for key, vector in found.items() if vector is None]
        if todo:
            text_of = dict(zip(keys, texts, strict=True))
            computed = self._embed_new([text_of[key] for key in todo], token_budget)
            for key, vector in zip(todo, computed, strict=True):
                found[key] = vector
                self.cache.put(key, vector)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[key] for key in keys])

    def _embed_new(self, texts: list[str], token_budget: int) -> np.ndarray:
        """``texts`` embedded by the back end that serves; the first ones int8 sees are checked first."""
        if not self._first_texts_checked:
            with self._check_lock:
                if not self._first_texts_checked:
                    self._check(texts[: encoder_check.FIRST_TEXTS], token_budget)
                    self._first_texts_checked = True
        forward = self._forward_int8 if self.int8 is not None else self._forward_torch
        return self._compute(texts, token_budget, forward)

    def _compute(self, texts: list[str], token_budget: int, forward: Any) -> np.ndarray:
        windows = split_windows(self.tokenizer, texts, self.max_length, self.stride)
        lengths = [len(window) for window in windows]
        multiple = pad_multiple(self.device)
        pooled = map_batched(windows, lengths, token_budget, forward, multiple=multiple)
        totals = np.zeros((len(texts), self.dimension), dtype=np.float64)
        for window, vector in zip(windows, pooled, strict=True):
            totals[window.text_index] += max(window.content_length, 1) * vector
        norms = np.linalg.norm(totals, axis=1, keepdims=True)
        return (totals / np.maximum(norms, 1e-12)).astype(np.float32)

    def _forward_int8(self, windows: list[Window]) -> list[np.ndarray]:
        """Each window alone, unpadded (``OnnxRunner``): its mean is over its own tokens only."""
        runner = self.int8
        assert runner is not None
        with FORWARD_LOCK:  # one inference at a time per process, as for every ONNX Runtime head
            hidden = runner([window.features() for window in windows])
        pooled = [states[0] if self.info.pooling == "cls" else states.mean(axis=0) for states in hidden]
        return [vector / max(float(np.linalg.norm(vector)), 1e-12) for vector in pooled]

    def _forward_torch(self, windows: list[Window]) -> list[np.ndarray]:
        batch = self.tokenizer.pad(
            [window.features() for window in windows],
            padding=True,
            pad_to_multiple_of=pad_multiple(self.device),
            return_tensors="pt",
        )
        batch = {name: tensor.to(self.device) for name, tensor in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state.float()
        if self.info.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return list(pooled.cpu().numpy())


_ENCODERS: dict[tuple[Any, ...], SentenceEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def sentence_encoder(
    folder: Path,
    device: torch.device,
    max_length: int,
    stride: int,
    cache_size: int,
    backend: str = TORCH,
    threads: int = 0,
) -> SentenceEncoder:
    """This process's encoder for ``folder`` on ``device`` (loaded once; a process resource like
    the model cache, shared by every project); ``backend`` is ``INFERENCE_BACKEND``."""
    key = (str(folder), str(device), max_length, stride, cache_size, backend, threads)
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = SentenceEncoder(folder, device, max_length, stride, cache_size, backend, threads)
            _ENCODERS[key] = encoder
        return encoder
