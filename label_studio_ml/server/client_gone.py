"""Whether the client of the request being served is still there, for work that can stop early.

The ASGI bridge (``asgi_bridge``) puts a ``threading.Event`` in each request's WSGI environ under
``CLIENT_GONE_KEY`` and sets it when the client hangs up; ``watching`` makes it the current
thread's, and long loops (a model's batches) call ``stop_if_client_gone`` between steps. Outside a
request (background trainings, instant refits) or under a server without the bridge, nothing is
watched and nothing stops.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from label_studio_ml.errors import ClientGone

#: The WSGI environ key of the request's "client gone" event.
CLIENT_GONE_KEY = "label_studio_ml.client_gone"

_watched: ContextVar[threading.Event | None] = ContextVar("label_studio_ml_client_gone", default=None)


@contextmanager
def watching(event: threading.Event | None) -> Iterator[None]:
    """Make ``event`` the one ``stop_if_client_gone`` checks while the block runs."""
    token = _watched.set(event)
    try:
        yield
    finally:
        _watched.reset(token)


def client_gone() -> bool:
    """Whether the client of the request this thread serves has hung up."""
    event = _watched.get()
    return event is not None and event.is_set()


def stop_if_client_gone() -> None:
    """Raise ``ClientGone`` when nobody waits for the current request's answer any more."""
    if client_gone():
        raise ClientGone("the client hung up; the rest of its request was not computed")
