"""Where models run and in which precision: CUDA (bf16/fp16) when available, else CPU."""

from __future__ import annotations

import torch

from label_studio_ml.errors import ConfigurationError


def choose_device(setting: str = "auto") -> torch.device:
    """The device for ``DEVICE``: ``auto`` picks CUDA when present, then CPU; ``cuda:N`` one GPU.

    An explicit device that this machine lacks (no CUDA, or fewer GPUs than ``N + 1``) is a
    configuration error, reported at start-up.
    """
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except (RuntimeError, ValueError) as exc:
        raise ConfigurationError(f"DEVICE={setting} is not a device: {exc}") from None
    if device.type == "cuda":
        _check_cuda(setting, device.index)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigurationError(f"DEVICE={setting} but MPS is not available on this machine")
    return device


def _check_cuda(setting: str, index: int | None) -> None:
    if not torch.cuda.is_available():
        raise ConfigurationError(f"DEVICE={setting} but CUDA is not available on this machine")
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        raise ConfigurationError(
            f"DEVICE={setting} but this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}"
        )


def _bf16_ok(device: torch.device) -> bool:
    if device.type != "cuda":
        return False
    if device.index is None:
        return torch.cuda.is_bf16_supported()
    # Ask the GPU the model runs on, not the process's current one: GPUs of a machine can differ.
    with torch.cuda.device(device.index):
        return torch.cuda.is_bf16_supported()


def inference_dtype(device: torch.device) -> torch.dtype:
    """Half precision on CUDA (bf16 where supported, else fp16); float32 elsewhere."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if _bf16_ok(device) else torch.float16


def mixed_precision_flags(device: torch.device) -> dict[str, bool]:
    """``TrainingArguments`` flags for mixed-precision training on ``device``."""
    on_cuda = device.type == "cuda"
    bf16 = _bf16_ok(device)
    return {"bf16": bf16, "fp16": on_cuda and not bf16}


def pad_multiple(device: torch.device) -> int | None:
    """Pad to a multiple of 8 on CUDA (tensor cores); exact lengths on CPU, where padding only costs."""
    return 8 if device.type == "cuda" else None


def default_token_budget(device: torch.device) -> int:
    """Tokens per inference batch (padding included) when ``TOKEN_BUDGET`` is not set.

    A GPU wants large batches. On a CPU smaller ones are faster: measured with the embedded
    MiniLM on 2 cores (bench/predict_speed.py texts), 25.8 texts/s at 4,096 against 19.7 at
    16,384, whose activations no longer fit in the caches.
    """
    return 16384 if device.type == "cuda" else 4096
