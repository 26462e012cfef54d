"""Giving memory back to the operating system after a training run."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

import torch


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> object | None:
    """glibc's ``malloc_trim``, or ``None`` on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def release_memory() -> None:
    """Free what a finished training left behind: optimizer state, gradients, activations.

    Training runs in its own thread, so glibc serves it from a separate arena that keeps freed
    pages for reuse; without a trim the worker stays hundreds of MiB larger after every training.
    """
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]  # a ctypes function
