"""The background threads the framework starts for one backend (instant updates, training slots,
training maintenance, warm-up, webhook auth), kept together so that stopping the backend joins them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class BackgroundThreads:
    """Starts daemon threads and stops them together.

    A long-lived thread ends when ``stopping`` is set; one that blocks waiting for work registers a
    ``waker`` that unblocks it (e.g. puts a sentinel in its queue). One-shot threads just end.
    """

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wakers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def start(
        self, target: Callable[[], None], name: str, waker: Callable[[], None] | None = None
    ) -> threading.Thread:
        """Start ``target`` in a daemon thread named ``name``; ``waker`` unblocks it on ``stop``."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._threads = [known for known in self._threads if known.is_alive()]
            self._threads.append(thread)
            if waker is not None:
                self._wakers.append(waker)
        thread.start()
        if waker is not None and self.stopping.is_set():
            waker()  # started after ``stop``: it must not wait for work forever
        return thread

    def alive(self) -> list[threading.Thread]:
        """The threads started here that still run."""
        with self._lock:
            return [thread for thread in self._threads if thread.is_alive()]

    def stop(self, timeout: float | None = None) -> bool:
        """Ask every thread to end and join them; whether all ended within ``timeout`` seconds.

        A thread in the middle of a training or an update finishes it first (``fit`` cannot be
        interrupted); none takes new work.
        """
        self.stopping.set()
        with self._lock:
            threads, wakers = list(self._threads), list(self._wakers)
        for wake in wakers:
            wake()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            if thread is threading.current_thread():
                continue  # a thread that stops its own backend cannot wait for itself
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads if thread is not threading.current_thread())
