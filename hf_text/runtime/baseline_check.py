"""Refusing, at start-up, a baseline model folder this backend could neither train nor serve.

Without this check such a folder started a healthy-looking server whose every training failed (an
architecture without the head) or whose every prediction was a 500 (a slow tokenizer, torn
weights). Each refusal names the folder and what to do about it. Cheap: the config, the tokenizer
(cached for the warm-up) and the weights' headers are read; no weights are loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION, load_tokenizer
from label_studio_ml.errors import ConfigurationError, error_line

#: Characters of an error's first line a refusal quotes.
_REASON_CHARS = 300


def check_baseline(folder: Path, kind: str) -> None:
    """``ConfigurationError`` naming ``folder`` and the reason unless it holds a model config with a
    ``kind`` head in transformers, a fast tokenizer that can pad, and readable weights."""
    config = _config(folder)
    _require_head(config, kind, folder)
    load_tokenizer(folder)  # refuses a slow tokenizer, or one with nothing to pad with
    _require_weights(folder)


def _config(folder: Path) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(folder))
    except Exception as exc:  # unreadable JSON, an unknown model_type: all mean "not usable"
        reason = error_line(exc, _REASON_CHARS)
        raise ConfigurationError(f"cannot read the model config in {folder}: {reason}") from exc


def _require_head(config: Any, kind: str, folder: Path) -> None:
    from transformers.models.auto import modeling_auto

    supported = {
        SEQUENCE_CLASSIFICATION: modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES,
        TOKEN_CLASSIFICATION: modeling_auto.MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES,
    }[kind]
    model_type = getattr(config, "model_type", None)
    if model_type not in supported:
        raise ConfigurationError(
            f"the model in {folder} is a {model_type!r} model, and transformers has no {kind} head "
            f"for that architecture; choose a model that AutoModelFor{_auto_suffix(kind)} can load"
        )


def _auto_suffix(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def _require_weights(folder: Path) -> None:
    from transformers import utils

    safe_name, pickle_name = utils.SAFE_WEIGHTS_NAME, utils.WEIGHTS_NAME
    names = (safe_name, utils.SAFE_WEIGHTS_INDEX_NAME, pickle_name, utils.WEIGHTS_INDEX_NAME)
    found = [folder / name for name in names if (folder / name).is_file()]
    if not found:
        raise ConfigurationError(f"the model folder {folder} holds no weights (none of {', '.join(names)})")
    if found[0].name == safe_name:
        from safetensors import safe_open

        try:
            with safe_open(str(found[0]), framework="pt") as weights:
                weights.keys()
        except Exception as exc:  # a torn copy or another file under that name
            reason = error_line(exc, _REASON_CHARS)
            raise ConfigurationError(f"cannot read the weights {found[0]}: {reason}") from exc
