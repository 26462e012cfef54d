"""``DEVICE=cuda:N``: accepted as a setting, checked against the machine's GPUs at start-up.

No GPU here: CUDA's answers (available, how many devices, bf16 support) are stubbed, which is
exactly what the checks read.
"""

from __future__ import annotations

import contextlib

import pytest
import torch

from hf_text.runtime.device import choose_device, inference_dtype
from hf_text.runtime.startup import prepare_baseline
from hf_text.settings import HFSettings
from label_studio_ml.errors import ConfigurationError


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("value", ["cuda:1", "CUDA:1", "cuda:0", "cuda"])
def test_a_cuda_device_with_or_without_an_index_is_a_valid_setting(value: str) -> None:
    assert HFSettings.from_env({"DEVICE": value}).device == value.lower()


def test_an_index_below_the_gpu_count_picks_that_gpu(two_gpus: None) -> None:
    assert choose_device("cuda:1") == torch.device("cuda", 1)
    assert choose_device("cuda") == torch.device("cuda")


def test_an_index_past_the_last_gpu_stops_the_start_up_naming_the_gpus(
    monkeypatch: pytest.MonkeyPatch, two_gpus: None
) -> None:
    with pytest.raises(ConfigurationError, match=r"DEVICE=cuda:2 .* 2 CUDA device\(s\): cuda:0 to cuda:1"):
        choose_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigurationError, match="DEVICE=cuda:1"):
        prepare_baseline(HFSettings(device="cuda:1"))


def test_cuda_with_an_index_on_a_machine_without_cuda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigurationError, match="CUDA is not available"):
        choose_device("cuda:1")


def test_half_precision_is_chosen_by_the_gpu_the_model_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    current = {"index": 0}

    @contextlib.contextmanager
    def on_device(index: int):
        previous, current["index"] = current["index"], index
        try:
            yield
        finally:
            current["index"] = previous

    monkeypatch.setattr(torch.cuda, "device", on_device)
    # GPU 0 is an older card without bf16; GPU 1 has it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: current["index"] == 1)
    assert inference_dtype(torch.device("cuda", 1)) == torch.bfloat16
    assert inference_dtype(torch.device("cuda", 0)) == torch.float16
