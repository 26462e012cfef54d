"""The one bounded cache and back-off every process-wide cache uses (``label_studio_ml.caching``)."""

from __future__ import annotations

import threading
import time

import pytest

from label_studio_ml.caching import BackOff, BoundedCache


def test_the_least_recently_used_entries_go_beyond_a_count() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now the most recent
    cache.put("c", 3)
    assert "b" not in cache
    assert cache.get("a") == 1
    assert list(cache) == ["c", "a"] and cache.items() == [("c", 3), ("a", 1)]  # least recent first
    cache.trim(1)
    assert list(cache) == ["a"]
    cache.clear()
    assert len(cache) == 0


def test_a_size_bound_counts_what_getsizeof_says() -> None:
    cache: BoundedCache[str, str] = BoundedCache(10, getsizeof=len)
    cache.put("short", "12345")
    cache.put("longer", "1234567")
    assert list(cache) == ["longer"] and cache.currsize == 7
    cache.put("huge", "x" * 11)  # larger than the whole bound: not kept, nothing else lost
    assert list(cache) == ["longer"]


def test_a_stamp_that_changed_is_a_miss_and_is_replaced() -> None:
    cache: BoundedCache[str, str] = BoundedCache(4)
    reads: list[int] = []

    def read(mtime: int) -> str:
        reads.append(mtime)
        return f"content at {mtime}"

    assert cache.get_or_compute("file", lambda: read(1), stamp=1) == "content at 1"
    assert cache.get_or_compute("file", lambda: read(1), stamp=1) == "content at 1"
    assert cache.get_or_compute("file", lambda: read(2), stamp=2) == "content at 2"
    assert reads == [1, 2] and len(cache) == 1 and cache.get("file", stamp=1) is None


def test_get_or_compute_does_not_hold_the_lock_while_computing() -> None:
    cache: BoundedCache[str, str] = BoundedCache(4)
    cache.put("ready", "hit")
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "slow"

    worker = threading.Thread(target=cache.get_or_compute, args=("slow", slow))
    worker.start()
    assert started.wait(5)
    begun = time.monotonic()
    assert cache.get("ready") == "hit"  # another key's hit does not wait for the computation
    assert time.monotonic() - begun < 1.0
    release.set()
    worker.join(5)
    assert cache.get("slow") == "slow"


@pytest.mark.parametrize("single_flight", [False, True])
def test_concurrent_callers_share_one_value_and_single_flight_computes_once(single_flight: bool) -> None:
    cache: BoundedCache[str, object] = BoundedCache(4, single_flight=single_flight)
    calls: list[object] = []
    barrier = threading.Barrier(8)
    results: list[object] = []

    def compute() -> object:
        value = object()
        calls.append(value)
        time.sleep(0.05)  # long enough that every thread arrives while the first computes
        return value

    def call() -> None:
        barrier.wait(5)
        results.append(cache.get_or_compute("key", compute))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 8 and len({id(result) for result in results}) == 1  # the first stored wins
    assert len(calls) == 1 if single_flight else len(calls) >= 1


def test_a_failed_compute_stores_nothing_and_frees_the_key() -> None:
    cache: BoundedCache[str, int] = BoundedCache(4, single_flight=True)
    with pytest.raises(OSError):
        cache.get_or_compute("key", lambda: (_ for _ in ()).throw(OSError("broken")))
    assert "key" not in cache and cache.get_or_compute("key", lambda: 7) == 7


def test_a_back_off_refuses_until_its_time_passes_or_the_stamp_changes() -> None:
    now = [0.0]
    back_off: BackOff[str] = BackOff(5.0, clock=lambda: now[0])
    back_off.failed("project", "config v1", "OSError: truncated")
    assert back_off.refusal("project", lambda: "config v1") == "OSError: truncated"
    assert back_off.refusal("project", lambda: "config v2") is None  # repaired: tried at once
    now[0] = 4.9
    assert back_off.refusal("project", lambda: "config v1") == "OSError: truncated"
    now[0] = 5.0
    assert back_off.refusal("project", lambda: "config v1") is None
    back_off.failed("a/1", 1, "x")
    back_off.failed("b/1", 1, "y")
    back_off.forget_where(lambda key: key.startswith("a/"))
    assert back_off.refusal("a/1", lambda: 1) is None and back_off.refusal("b/1", lambda: 1) == "y"
    back_off.succeeded("b/1")
    assert back_off.refusal("b/1", lambda: 1) is None
