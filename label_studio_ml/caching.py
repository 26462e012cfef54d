"""Bounded, thread-safe caches and load-failure back-offs: the one mechanism every process-wide cache uses.

cachetools supplies the bounded maps: the least recently used entries go first beyond a count, or
beyond a total of ``getsizeof`` (tokens, bytes), and with ``ttl`` entries also expire. cachetools
is not thread-safe, so ``BoundedCache`` takes one lock around each map operation, and never while
a value is computed: a slow load (a model, a tokenizer, a file) must not stall every other key.

Read once: ``get_or_compute(key, compute, stamp=...)`` is how a file or folder is read once and
remembered, keyed by its path. A published version folder never changes, so it needs no stamp;
anything that may change gives one (its time, its size, a listing's signature), and an entry with
another stamp counts as missing and is replaced.

Back-offs: ``BackOff`` remembers failed loads for a while (a ``TTLCache`` of failures), so a broken
model is not loaded again on every request; one whose stamp changed (repaired, replaced, another
config) is tried again at once. Two layers use it, each with its own duration, and neither makes
the other redundant:

* ``label_studio_ml.projects`` (5 s), per project and (label config, model version): creating a
  project's model instance, i.e. any backend's ``__init__``/``setup``. The framework cannot see
  what a backend loads, so this is the only guard for a backend that fails while being created.
* ``hf_text.runtime.loader`` (30 s), per model folder and device: loading a folder for inference
  at predict time, long after the instance was created, shared by every project serving that
  folder; its stamp is the folder's file signature. Its ``ModelUnavailable`` is a ``BackendError``,
  which the project layer passes on untouched, so the two never stack on one failure.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING: Any = object()


class _LRU(cachetools.LRUCache):
    def __iter__(self) -> Any:
        # cachetools iterates in insertion order; callers list entries least recently used first.
        return iter(list(self._LRUCache__order))  # type: ignore[attr-defined]


class BoundedCache(Generic[K, V]):
    """A thread-safe map that stays within ``maxsize`` entries, or ``maxsize`` of ``getsizeof(value)``.

    The least recently used entries go first; with ``ttl``, an entry also expires ``ttl`` seconds
    (of ``timer``) after it was stored. With ``single_flight``, concurrent ``get_or_compute`` calls
    for one missing key compute it once and the others wait for that. A value larger than the whole
    bound is not kept.
    """

    def __init__(
        self,
        maxsize: float,
        *,
        getsizeof: Callable[[V], float] | None = None,
        ttl: float | None = None,
        timer: Callable[[], float] = time.monotonic,
        single_flight: bool = False,
    ) -> None:
        # Entries are (stamp, value) pairs; the size is the value's.
        sizer = None if getsizeof is None else (lambda entry: getsizeof(entry[1]))
        if ttl is None:
            self._map: Any = _LRU(maxsize, sizer)
        else:
            self._map = cachetools.TTLCache(maxsize, ttl, timer, sizer)
        self._single_flight = single_flight
        self._flights: dict[K, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> float:
        """The bound: entries, or the total size with ``getsizeof``."""
        return self._map.maxsize

    @property
    def currsize(self) -> float:
        """Entries held, or the total size of their values with ``getsizeof``."""
        with self._lock:
            return self._map.currsize

    def get(self, key: K, stamp: Hashable = None) -> V | None:
        """The value of ``key`` stored with ``stamp`` (now the most recently used), else ``None``."""
        found = self._find(key, stamp)
        return None if found is _MISSING else found

    def put(self, key: K, value: V, stamp: Hashable = None) -> V:
        """Store ``value`` for ``key``, replacing any; returns ``value``."""
        with self._lock:
            self._set(key, value, stamp)
        return value

    def setdefault(self, key: K, value: V, stamp: Hashable = None) -> V:
        """The value stored for ``key`` with ``stamp``; else ``value``, stored now (the first wins)."""
        with self._lock:
            found = self._lookup(key, stamp)
            if found is _MISSING:
                self._set(key, value, stamp)
                found = value
        return found

    def get_or_compute(self, key: K, compute: Callable[[], V], stamp: Hashable = None) -> V:
        """The value of ``key`` for ``stamp``, else ``compute()``'s, stored (read once, remembered).

        The lock is not held while computing; an exception from ``compute`` stores nothing.
        """
        found = self._find(key, stamp)
        if found is not _MISSING:
            return found
        if not self._single_flight:
            return self.setdefault(key, compute(), stamp)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        try:
            with flight:
                found = self._find(key, stamp)  # the flight we waited for may have stored it
                return self.put(key, compute(), stamp) if found is _MISSING else found
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]

    def pop(self, key: K) -> V | None:
        """Forget ``key``; returns its value, or ``None``."""
        with self._lock:
            entry = self._map.get(key)
            self._remove(key)
        return None if entry is None else entry[1]

    def forget_where(self, predicate: Callable[[K], bool]) -> int:
        """Forget every key ``predicate`` accepts; returns how many."""
        with self._lock:
            keys = [key for key in self._map if predicate(key)]
            for key in keys:
                self._remove(key)
        return len(keys)

    def trim(self, count: int) -> None:
        """Drop the least recently used entries beyond ``count`` (a bound a caller passes each time)."""
        with self._lock:
            while len(self._map) > count:
                self._map.popitem()

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._map.clear()

    def __iter__(self) -> Iterator[K]:
        """The keys now (a copy), least recently used first."""
        with self._lock:
            return iter(list(self._map))

    def items(self) -> list[tuple[K, V]]:
        """``(key, value)`` pairs, least recently used first (reading them uses none)."""
        with self._lock:
            return [(key, cachetools.Cache.__getitem__(self._map, key)[1]) for key in self._map]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._map

    def __len__(self) -> int:
        with self._lock:
            return len(self._map)

    def _find(self, key: K, stamp: Hashable) -> Any:
        with self._lock:
            return self._lookup(key, stamp)

    def _lookup(self, key: K, stamp: Hashable) -> Any:
        entry = self._map.get(key, _MISSING)
        if entry is _MISSING or entry[0] != stamp:
            return _MISSING
        return entry[1]

    def _set(self, key: K, value: V, stamp: Hashable) -> None:
        try:
            self._map[key] = (stamp, value)
        except ValueError:  # larger than the whole bound on its own: not kept
            self._remove(key)

    def _remove(self, key: K) -> None:
        with contextlib.suppress(KeyError):  # absent, or expired meanwhile (a TTLCache still removes it)
            del self._map[key]


@dataclass(frozen=True)
class _Failure:
    stamp: Hashable
    reason: str


class BackOff(Generic[K]):
    """Keys whose load failed, refused for ``seconds`` unless their stamp changed (see the module).

    At most ``remembered`` failures are kept (the least recently used forgotten first).
    """

    def __init__(
        self, seconds: float, *, remembered: float = 256, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._failures: BoundedCache[K, _Failure] = BoundedCache(remembered, ttl=seconds, timer=clock)

    def refusal(self, key: K, stamp: Callable[[], Hashable]) -> str | None:
        """Why ``key`` last failed, while it backs off and ``stamp()`` (only then read) is unchanged."""
        failure = self._failures.get(key)
        if failure is not None and failure.stamp == stamp():
            return failure.reason
        return None

    def failed(self, key: K, stamp: Hashable, reason: str) -> None:
        """Remember that ``key`` failed now, as it was at ``stamp``, and why."""
        self._failures.put(key, _Failure(stamp, reason))

    def succeeded(self, key: K) -> None:
        """Forget ``key``'s failure."""
        self._failures.pop(key)

    def forget_where(self, predicate: Callable[[K], bool]) -> None:
        """Forget the failures of every key ``predicate`` accepts."""
        self._failures.forget_where(predicate)

    def clear(self) -> None:
        """Forget every failure."""
        self._failures.clear()
