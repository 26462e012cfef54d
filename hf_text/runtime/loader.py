"""Loading tokenizers and models: bounded process-wide caches for inference, fresh copies for training.

A published version folder never changes, so its path is a safe model cache key. Tokenizers are
keyed by the content of their files instead: every version saves its own copy of the same
tokenizer, and all of them share one in memory. A model that fails to load answers
``ModelUnavailable`` (503) for its project only; the load is retried after a short back-off, or
at once when the folder changed (repaired or replaced). ``label_studio_ml.caching`` holds both
caches and the back-off, and says why the framework has a back-off of its own too.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hf_text.runtime.backends import INT8_FILE, ONNX_INT8, TORCH, LogitsRunner, TorchRunner, open_onnx
from hf_text.runtime.fingerprint import TokenizerFingerprints, folder_signature
from hf_text.runtime.load_report import expected_new_head
from hf_text.runtime.padding import pad_id_on_model, ready_to_pad
from label_studio_ml.caching import BackOff, BoundedCache
from label_studio_ml.errors import ConfigurationError, ModelUnavailable, error_line

logger = logging.getLogger(__name__)

SEQUENCE_CLASSIFICATION = "sequence-classification"
TOKEN_CLASSIFICATION = "token-classification"

#: Models one process keeps loaded unless told otherwise (``MODEL_CACHE_SIZE``).
DEFAULT_MODEL_CACHE_SIZE = 6
#: Distinct tokenizers (by content) one process keeps; versions of one baseline share one.
TOKENIZER_CACHE_SIZE = 4
#: A folder that failed to load is not tried again for this long unless its files change.
LOAD_RETRY_SECONDS = 30.0
_REASON_CHARS = 300
_REMEMBERED_FAILURES = 256


def model_class(kind: str) -> Any:
    """The transformers auto class for a task kind."""
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
    """A tokenizer and a model's runner (torch or ONNX Runtime), ready for ``hf_text.runtime.inference``.

    ``config`` is the model's transformers config (labels, window limits) whichever back end runs it.
    """

    tokenizer: Any
    runner: LogitsRunner
    config: Any
    folder: Path

    @classmethod
    def of_torch(cls, tokenizer: Any, model: Any, folder: Path) -> LoadedModel:
        """An in-memory torch model (e.g. one just trained), where it is."""
        device = next(model.parameters()).device
        runner = TorchRunner(model, device, tokenizer)
        return cls(tokenizer=tokenizer, runner=runner, config=model.config, folder=folder)

    @property
    def device(self) -> torch.device:
        """Where the model runs (where its inputs go)."""
        return self.runner.device

    @property
    def backend(self) -> str:
        """``torch`` or ``onnx-int8``."""
        return self.runner.backend

    @property
    def labels(self) -> list[str]:
        """The model's output labels, in output order (from its config's ``id2label``)."""
        id2label = self.config.id2label
        return [str(id2label[index]) for index in range(len(id2label))]


class ModelCache:
    """The most recently used inference models of this process, loaded once per key.

    Concurrent callers asking for the same model wait for one load instead of loading twice.
    """

    def __init__(
        self, retry_seconds: float = LOAD_RETRY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # Bounded by each call's ``keep`` instead (the settings' ``MODEL_CACHE_SIZE``).
        self._entries: BoundedCache[tuple[Any, ...], LoadedModel] = BoundedCache(math.inf, single_flight=True)
        self._failures: BackOff[tuple[Any, ...]] = BackOff(
            retry_seconds, remembered=_REMEMBERED_FAILURES, clock=clock
        )

    def get(
        self, key: tuple[Any, ...], folder: Path, load: Callable[[], LoadedModel], keep: int
    ) -> LoadedModel:
        """The cached model for ``key``, else ``load()``'s, keeping at most ``keep`` models."""
        found = self._entries.get(key)
        if found is not None:
            return found
        refusal = self._failures.refusal(key, lambda: folder_signature(folder))
        if refusal is not None:
            raise ModelUnavailable(f"cannot load the model in {folder}: {refusal}")
        loaded = self._entries.get_or_compute(key, lambda: self._load(key, folder, load))
        self._entries.trim(max(1, keep))
        return loaded

    def retire(self, root: Path, current: Path) -> int:
        """Forget models under ``root`` that are not under ``current`` (a project's replaced
        versions); returns how many were dropped."""
        self._failures.forget_where(lambda key: _superseded(Path(key[0]), root, current))
        return self._entries.forget_where(lambda key: _superseded(Path(key[0]), root, current))

    def folders(self) -> list[Path]:
        """The folders of the cached models, least recently used first."""
        return [Path(key[0]) for key in self._entries]

    def clear(self) -> None:
        """Forget every model and every remembered failure."""
        self._entries.clear()
        self._failures.clear()

    def _load(self, key: tuple[Any, ...], folder: Path, load: Callable[[], LoadedModel]) -> LoadedModel:
        try:
            loaded = load()
        except Exception as exc:  # any failure of one folder must not become a 500 or a crash
            reason = error_line(exc, _REASON_CHARS)
            logger.warning("cannot load the model in %s: %s", folder, reason)
            self._failures.failed(key, folder_signature(folder), reason)
            raise ModelUnavailable(f"cannot load the model in {folder}: {reason}") from exc
        self._failures.succeeded(key)
        return loaded


def _superseded(folder: Path, root: Path, current: Path) -> bool:
    return folder.is_relative_to(root) and not folder.is_relative_to(current)


class TokenizerCache:
    """Tokenizers keyed by the content of their files, the ``size`` most recently used kept."""

    def __init__(self, size: int = TOKENIZER_CACHE_SIZE) -> None:
        self.size = size
        self._fingerprints = TokenizerFingerprints()
        self._entries: BoundedCache[str, Any] = BoundedCache(size)

    def get(self, folder: Path) -> Any:
        """The (fast) tokenizer of ``folder``; tokenizers are read-only in use, so sharing is safe."""
        try:
            key = self._fingerprints.of(folder)
        except OSError as exc:
            raise ConfigurationError(f"cannot read a tokenizer from {folder}: {exc}") from exc
        return self._entries.get_or_compute(key, lambda: _read_tokenizer(folder))

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every tokenizer."""
        self._entries.clear()


def _read_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load a tokenizer from {folder}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        # Windows, word ids and spans all come from a fast tokenizer's character offsets.
        raise ConfigurationError(
            f"the tokenizer in {folder} ({type(tokenizer).__name__}) is a slow (Python) tokenizer "
            "without character offsets; save the model's fast tokenizer (tokenizer.json) there"
        )
    return ready_to_pad(tokenizer, folder)


#: This process's caches: models and tokenizers are process resources, shared by every project.
MODELS = ModelCache()
TOKENIZERS = TokenizerCache()


def load_tokenizer(folder: Path) -> Any:
    """``folder``'s tokenizer, shared with every folder whose tokenizer files are identical."""
    return TOKENIZERS.get(Path(folder))


def _load(
    folder: Path, kind: str, device: torch.device, dtype: torch.dtype, backend: str, threads: int,
    config: dict[str, Any],
) -> LoadedModel:  # fmt: skip
    from transformers import AutoConfig

    tokenizer = load_tokenizer(folder)
    if backend == ONNX_INT8:
        model_config = AutoConfig.from_pretrained(str(folder), **config)
        runner: LogitsRunner = open_onnx(folder / INT8_FILE, threads)
        logger.info("loaded %s model from %s: ONNX Runtime int8 on %d thread(s)", kind, folder, threads)
        return LoadedModel(tokenizer=tokenizer, runner=runner, config=model_config, folder=folder)
    model = model_class(kind).from_pretrained(str(folder), dtype=dtype, **config)
    pad_id_on_model(model.config, tokenizer)
    model.to(device)
    model.eval()
    logger.info("loaded %s model from %s on %s (%s)", kind, folder, device, dtype)
    runner = TorchRunner(model, device, tokenizer)
    return LoadedModel(tokenizer=tokenizer, runner=runner, config=model.config, folder=folder)


def load_for_inference(
    folder: Path,
    kind: str,
    device: torch.device,
    dtype: torch.dtype,
    *,
    keep: int = DEFAULT_MODEL_CACHE_SIZE,
    backend: str = TORCH,
    threads: int = 1,
    **config: Any,
) -> LoadedModel:
    """The cached model of ``folder`` for ``kind`` on ``device``, loaded on first use.

    ``backend`` ``onnx-int8`` runs the folder's int8 artifact with ONNX Runtime on ``threads``
    threads (``hf_text.runtime.backends.serving_backend`` decides); ``torch`` the model in ``dtype``.
    ``keep`` bounds how many models the cache holds (``MODEL_CACHE_SIZE``); ``config`` overrides
    the saved config (e.g. ``num_labels`` for a baseline without a head). Raises
    ``ModelUnavailable`` when the folder cannot be loaded.
    """
    overrides = tuple(sorted((k, repr(v)) for k, v in config.items()))
    key = (str(folder), kind, str(device), str(dtype), backend, overrides)
    path = Path(folder)
    return MODELS.get(key, path, lambda: _load(path, kind, device, dtype, backend, threads, config), keep)


def retire_versions(root: Path, current: Path) -> int:
    """Drop cached models of a project's versions other than ``current`` (all under ``root``)."""
    return MODELS.retire(Path(root), Path(current))


def load_for_training(folder: Path, kind: str, **config: Any) -> tuple[Any, Any]:
    """A fresh, trainable float32 copy of the model in ``folder`` with a new head from ``config``."""
    tokenizer = load_tokenizer(folder)
    try:
        # A baseline that already has a head of another size (say a 3-way sentiment model) gets a
        # fresh head of the right size instead of failing.
        with expected_new_head():  # its "MISSING ... consider training" report is what we asked for
            model = model_class(kind).from_pretrained(
                str(folder), dtype=torch.float32, ignore_mismatched_sizes=True, **config
            )
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load a {kind} model from {folder}: {exc}") from exc
    pad_id_on_model(model.config, tokenizer)  # saved with the head: its batches pad with this id
    return tokenizer, model


def clear_cache() -> None:
    """Forget every cached model and tokenizer (tests; freeing memory)."""
    MODELS.clear()
    TOKENIZERS.clear()
