"""Serve the Flask (WSGI) app from gunicorn's asyncio worker, so that slow clients cost no thread.

Under a threaded WSGI server a request holds a thread from its first byte to its last: eight
clients trickling their headers or bodies hold eight threads and nothing else is answered. Here
gunicorn's ``asgi`` worker reads every connection on one event loop; a request reaches the app's
thread pool (``THREADS`` threads) only once its body is complete. A body that does not arrive
within ``REQUEST_READ_TIMEOUT_SECONDS`` seconds is answered 408, one announced or grown past
``MAX_REQUEST_BYTES`` is answered 413 before it is read. While the app works, a client that hangs
up sets the request's ``client_gone`` event (``label_studio_ml.server.client_gone``), which the
model's loops check between batches.

Why not a library: asgiref's ``WsgiToAsgi`` buffers the body but has no deadline, no size limit
and no disconnect signal; a2wsgi reads the body from the app's thread on demand, which is the
thread-per-slow-client problem again.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from label_studio_ml.config import Settings
from label_studio_ml.server.client_gone import CLIENT_GONE_KEY

logger = logging.getLogger(__name__)

#: Carries an app's own reason phrase from the bridge to the worker (``asgi_worker``), which writes
#: it into the status line and drops the header. Label Studio shows a refused connection's reason
#: phrase to its user, and nothing of the body.
REASON_HEADER = "x-lsml-reason-phrase"

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Refused(Exception):
    """A request answered before the app sees it (408, 413)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class _ClientLeft(Exception):
    """The client hung up before its body was complete: nobody to answer."""


class BufferedWSGI:
    """An ASGI app running ``wsgi_app`` on whole requests in a pool of ``threads`` threads."""

    def __init__(self, wsgi_app: WSGIApp, threads: int, read_timeout: float, max_body_bytes: int) -> None:
        self.wsgi_app = wsgi_app
        self.read_timeout = read_timeout
        self.max_body_bytes = max_body_bytes
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # websockets: not part of the protocol; returning without accepting closes them

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await asyncio.wait_for(self._read_body(scope, receive), self.read_timeout)
        except _ClientLeft:
            return
        except TimeoutError:
            refusal = _Refused(408, "RequestTimeout", f"the request body took over {self.read_timeout:g} s")
            await _send_refusal(send, refusal)
            return
        except _Refused as refusal:
            await _send_refusal(send, refusal)
            return
        gone = threading.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            loop = asyncio.get_running_loop()
            environ = wsgi_environ(scope, body, gone)
            answer = loop.run_in_executor(self._pool, _run_wsgi, self.wsgi_app, environ)
            status, headers, chunks = await answer
        except asyncio.CancelledError:
            gone.set()  # gunicorn cancels a request whose client left; the thread may still be working
            raise
        finally:
            watcher.cancel()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            raise _too_large(self.max_body_bytes)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientLeft()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self._stop_services)
                self._pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _stop_services(self) -> None:
        """Hand this process's queued trainings on and end its threads (``Services.stop``)."""
        services = getattr(self.wsgi_app, "extensions", {}).get("label_studio_ml", {}).get("services")
        if services is not None:
            try:
                services.stop()
            except Exception:  # a failing stop must not keep the worker from exiting
                logger.exception("stopping the backend's services failed")


async def _watch_disconnect(receive: Receive, gone: threading.Event) -> None:
    """Set ``gone`` when the client hangs up while the app works on its request."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _run_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    """Call the app in a pool thread and read its whole answer there (the loop never runs app code)."""
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        code, _, phrase = status.partition(" ")
        answer["status"] = int(code)
        if phrase and phrase.lower() != _standard_phrase(int(code)).lower():
            headers = [*headers, (REASON_HEADER, phrase)]  # ASGI has no reason phrase: the worker writes it
        answer["headers"] = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]

    result = app(environ, start_response)
    try:
        chunks = [bytes(chunk) for chunk in result]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], chunks


def _standard_phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def wsgi_environ(scope: Scope, body: bytes, gone: threading.Event) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) for an ASGI HTTP ``scope`` and its whole ``body``."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        CLIENT_GONE_KEY: gone,
    }
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the body is whole: its real length is set above
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> _Refused:
    return _Refused(413, "PayloadTooLarge", f"request body exceeds MAX_REQUEST_BYTES ({limit} bytes)")


async def _send_refusal(send: Send, refusal: _Refused) -> None:
    body = json.dumps({"error": refusal.message, "error_type": refusal.error_type}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(app_spec: str) -> BufferedWSGI:
    """The ASGI app gunicorn loads (``label_studio_ml.server.asgi_bridge:serve('_wsgi:app')``): the
    WSGI app named ``module:attribute``, configured from the environment (``Settings``)."""
    module_name, _, attribute = app_spec.partition(":")
    wsgi_app = getattr(importlib.import_module(module_name), attribute or "app")
    settings = Settings.from_env()
    return BufferedWSGI(
        wsgi_app,
        threads=settings.threads,
        read_timeout=settings.request_read_timeout_seconds,
        max_body_bytes=settings.max_request_bytes,
    )
