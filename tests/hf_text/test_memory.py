"""Releasing memory after training: what a training thread freed goes back to the system."""

from __future__ import annotations

import platform
import threading

import psutil
import pytest

from hf_text.training import memory

MIB = 1 << 20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is a glibc function")
def test_glibc_trim_is_found() -> None:
    assert memory._malloc_trim() is not None


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="arena trimming is glibc behaviour")
def test_memory_freed_by_a_training_thread_is_returned() -> None:
    process = psutil.Process()
    survivors: list[bytearray] = []

    def allocate_and_free() -> None:
        # Many small blocks, as a training step's temporaries are, from the thread's malloc
        # arena; a few outlive the rest (as the trained weights do), so the freed pages lie
        # between live blocks and glibc keeps them until it is asked to trim.
        blocks = [bytearray(64 * 1024) for _ in range(3200)]  # 200 MiB
        survivors.extend(blocks[::64])
        del blocks

    worker = threading.Thread(target=allocate_and_free)
    worker.start()
    worker.join()
    retained = process.memory_info().rss
    memory.release_memory()
    released = retained - process.memory_info().rss
    assert released > 100 * MIB, f"only {released / MIB:.0f} MiB returned"
