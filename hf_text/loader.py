"""Loading tokenizers and models: a process-wide cache for inference, fresh copies for training.

A published version folder never changes, so its folder path is a safe cache key; the cache
keeps the few most recently used models, which evicts a project's old version soon after a
training publishes the next one.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from label_studio_ml.errors import ConfigurationError

logger = logging.getLogger(__name__)

SEQUENCE_CLASSIFICATION = "sequence-classification"
TOKEN_CLASSIFICATION = "token-classification"

#: How many (tokenizer, model) pairs one process keeps in memory.
CACHE_SIZE = 6


def _model_class(kind: str) -> Any:
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    classes = {
        SEQUENCE_CLASSIFICATION: AutoModelForSequenceClassification,
        TOKEN_CLASSIFICATION: AutoModelForTokenClassification,
    }
    if kind not in classes:
        raise ValueError(f"unknown task kind {kind!r}; expected one of {sorted(classes)}")
    return classes[kind]


@dataclass(frozen=True)
class LoadedModel:
    """A tokenizer and a model on its device, in eval mode, ready for ``hf_text.inference``."""

    tokenizer: Any
    model: Any
    device: torch.device
    folder: Path

    @property
    def labels(self) -> list[str]:
        """The model's output labels, in output order (from its config's ``id2label``)."""
        id2label = self.model.config.id2label
        return [str(id2label[index]) for index in range(len(id2label))]


_cache: OrderedDict[tuple[Any, ...], LoadedModel] = OrderedDict()
_cache_lock = threading.Lock()
_key_locks: dict[tuple[Any, ...], threading.Lock] = {}
_tokenizers: dict[str, Any] = {}


def load_tokenizer(folder: Path) -> Any:
    """The folder's (fast) tokenizer, loaded once per process; tokenizers are read-only in use."""
    key = str(folder)
    with _cache_lock:
        if key in _tokenizers:
            return _tokenizers[key]
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(key)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load a tokenizer from {folder}: {exc}") from exc
    with _cache_lock:
        return _tokenizers.setdefault(key, tokenizer)


def _load(
    folder: Path, kind: str, device: torch.device, dtype: torch.dtype, config: dict[str, Any]
) -> LoadedModel:
    tokenizer = load_tokenizer(folder)
    try:
        model = _model_class(kind).from_pretrained(str(folder), dtype=dtype, **config)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load a {kind} model from {folder}: {exc}") from exc
    model.to(device)
    model.eval()
    logger.info("loaded %s model from %s on %s (%s)", kind, folder, device, dtype)
    return LoadedModel(tokenizer=tokenizer, model=model, device=device, folder=folder)


def load_for_inference(
    folder: Path, kind: str, device: torch.device, dtype: torch.dtype, **config: Any
) -> LoadedModel:
    """The cached model of ``folder`` for ``kind`` on ``device``; loaded on first use.

    ``config`` overrides the saved config (e.g. ``num_labels`` for a baseline without a head).
    Concurrent callers asking for the same model wait for one load instead of loading twice.
    """
    key = (str(folder), kind, str(device), str(dtype), tuple(sorted((k, repr(v)) for k, v in config.items())))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        loaded = _load(folder, kind, device, dtype, config)
        with _cache_lock:
            _cache[key] = loaded
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
            _key_locks.pop(key, None)
    return loaded


def load_for_training(folder: Path, kind: str, **config: Any) -> tuple[Any, Any]:
    """A fresh, trainable float32 copy of the model in ``folder`` with a new head from ``config``."""
    tokenizer = load_tokenizer(folder)
    try:
        # A baseline that already has a head of another size (say a 3-way sentiment model) gets a
        # fresh head of the right size instead of failing.
        model = _model_class(kind).from_pretrained(
            str(folder), dtype=torch.float32, ignore_mismatched_sizes=True, **config
        )
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load a {kind} model from {folder}: {exc}") from exc
    return tokenizer, model


def clear_cache() -> None:
    """Forget every cached model and tokenizer (tests; freeing memory)."""
    with _cache_lock:
        _cache.clear()
        _tokenizers.clear()
