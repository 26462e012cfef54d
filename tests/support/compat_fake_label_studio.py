"""A fake Label Studio on loopback that serves task data files the way 1.23.2 does, and records requests.

It answers what a backend asks Label Studio for: ``/api/tasks/`` (labeled tasks), uploads
(``/data/upload/<project>/<file>``, ``/storage-data/uploaded/?filepath=``), Local Files
(``/data/local-files/?d=``) and cloud storage files through ``/projects/<id>/resolve/?fileuri=<base64>``
(200 with the bytes when the storage proxies, 303 to a presigned URL when it presigns, 404 when no
storage of the project holds the URI). Every request is recorded with its headers, so tests can check
which host saw which credentials. ``Recorder`` is a plain host (a presigned-URL storage, an attacker)
that records and answers every GET.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import loopback_http

_RESOLVE = re.compile(r"^/projects/(\d+)/resolve/$")


@dataclass(frozen=True)
class Seen:
    """One request a fake server received."""

    path: str
    headers: dict[str, str]


@dataclass
class Served:
    """A file body with its ``Content-Type`` (``None``: no such header)."""

    body: bytes
    content_type: str | None = "text/plain"


@dataclass
class FakeLabelStudio:
    """What the fake serves; fill ``files``/``storage``/``tasks`` before or while it runs."""

    token: str
    files: dict[str, Served] = field(default_factory=dict)  # "/data/upload/1/a.txt" -> body
    storage: dict[str, Served | str] = field(default_factory=dict)  # "s3://b/k" -> body, or a redirect URL
    storage_projects: tuple[str, ...] = ("1",)
    #: False: uploads live in cloud-backed default storage, only /storage-data/uploaded/ serves them.
    uploads_on_disk: bool = True
    tasks: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a GET of ``path`` (with query)."""
        if headers.get("Authorization") != f"Token {self.token}":
            return 401, {"Content-Type": "application/json"}, b'{"detail": "not authenticated"}'
        url = urlparse(path)
        query = parse_qs(url.query)
        if url.path == "/api/tasks/":
            page, size = int(query.get("page", ["1"])[0]), int(query.get("page_size", ["100"])[0])
            chunk = self.tasks[(page - 1) * size : page * size]
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps({"tasks": chunk, "total": len(self.tasks)}).encode(),
            )
        match = _RESOLVE.match(url.path)
        if match:
            return self._resolve(match.group(1), query)
        key = url.path
        if url.path.startswith("/data/upload/") and not self.uploads_on_disk:
            return _served(None)
        if url.path == "/storage-data/uploaded/":
            key = "/data/" + query.get("filepath", [""])[0]
        elif url.path == "/data/local-files/":
            key = "local:" + query.get("d", [""])[0]
        return _served(self.files.get(key))

    def _resolve(self, project: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if "fileuri" not in query:
            return 400, {}, b""
        uri = base64.urlsafe_b64decode(query["fileuri"][0].encode()).decode()
        found = self.storage.get(uri) if project in self.storage_projects else None
        if isinstance(found, str):
            return 303, {"Location": found}, b""
        return _served(found)


def _served(item: Served | None) -> tuple[int, dict[str, str], bytes]:
    if item is None:
        return 404, {"Content-Type": "application/json"}, b'{"detail": "Not found."}'
    headers = {"Content-Type": item.content_type} if item.content_type else {}
    return 200, headers, item.body


@dataclass
class Recorder:
    """A host that answers every GET with ``body`` and records what it was sent."""

    body: bytes = b"stored text"
    content_type: str = "text/plain; charset=utf-8"
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": self.content_type}, self.body


def _handler(target: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = dict(self.headers.items())
            target.seen.append(Seen(self.path, headers))
            status, extra, body = target.answer(self.path, headers)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(target: Any) -> Iterator[Any]:
    """Run ``target`` (a ``FakeLabelStudio`` or ``Recorder``) on a loopback port; sets ``target.url``."""
    with loopback_http(_handler(target)) as url:
        target.url = url
        yield target
