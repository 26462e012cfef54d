"""gunicorn's asyncio (``asgi``) worker, plus a deadline for a connection's first request headers.

gunicorn 27's ``asgi`` worker closes a kept-alive connection whose next request's headers do not
arrive within ``--keep-alive`` seconds, but waits forever for the headers of a connection's first
request: a client that connects and trickles header lines holds a connection (a socket, no
thread) as long as it likes, and enough of them exhaust the process's file descriptors. Here those
headers must be complete within ``REQUEST_READ_TIMEOUT_SECONDS`` seconds; the body's deadline is the
bridge's (``asgi_bridge``).

It also writes an app's own reason phrase into the status line (the bridge passes it in a private
header; ASGI has none), which is what Label Studio shows when it refuses a connection.

This hooks four methods of gunicorn's protocol (``connection_made``, ``_on_headers_complete``,
``connection_lost``, ``_send_response_start``) and its response buffer, and replaces the protocol
class its worker module builds connections from; ``gunicorn`` is pinned, and
``tests/framework/test_slow_clients.py`` and ``tests/classifier/test_refusals.py`` fail if an
upgrade moves them.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi
from gunicorn.workers.gasgi import ASGIWorker

from label_studio_ml.config import Settings
from label_studio_ml.server.asgi_bridge import REASON_HEADER

_REASON_HEADER = REASON_HEADER.encode("latin-1")

_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _HeaderDeadlineProtocol(ASGIProtocol):
    """``ASGIProtocol`` that closes a connection whose first request's headers are late."""

    def __init__(self, worker: Any, header_timeout: float) -> None:
        super().__init__(worker)
        self._header_timeout = header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._header_deadline = self.worker.loop.call_later(self._header_timeout, self._headers_late)

    def _on_headers_complete(self) -> Any:
        self._cancel_header_deadline()
        return super()._on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _send_response_start(self, status: int, headers: Any, request: Any, close: bool = False) -> None:
        """gunicorn's status line, with the app's own reason phrase where the bridge passed one."""
        reason = None
        kept = []
        for name, value in headers:
            if name.lower() == _REASON_HEADER:
                reason = value
            else:
                kept.append((name, value))
        super()._send_response_start(status, kept, request, close=close)
        if reason is not None:
            head = self._response_buffer  # the status line and headers, not sent yet
            version = f"HTTP/{request.version[0]}.{request.version[1]}".encode("latin-1")
            self._response_buffer = b"%s %d %s%s" % (version, status, reason, head[head.index(b"\r\n") :])

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(_TIMEOUT_RESPONSE)
        self._keepalive_timeout()  # gunicorn's own close of an idle connection: closes and wakes its loop


class Worker(ASGIWorker):
    """The worker ``label-studio-ml start`` runs (``--worker-class``): one event loop per process."""

    def init_process(self) -> None:
        timeout = float(Settings.from_env().request_read_timeout_seconds)
        # gunicorn builds each connection's protocol as ``ASGIProtocol(worker)`` from its module's
        # global; this process serves only through this worker, so the global is ours to replace.
        gasgi.ASGIProtocol = partial(_HeaderDeadlineProtocol, header_timeout=timeout)
        super().init_process()
