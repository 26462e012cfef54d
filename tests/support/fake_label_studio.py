"""A fake Label Studio on loopback that answers what a backend asks of 1.23.2, and records requests.

It answers ``GET /api/tasks/?project=N&page=P`` (``{"tasks": [...], "total": ...}``, an empty page
past the end), so a backend can train through its real ``label-studio-sdk`` code path; uploads
(``/data/upload/<project>/<file>``, ``/storage-data/uploaded/?filepath=``), Local Files
(``/data/local-files/?d=``) and cloud storage files through ``/projects/<id>/resolve/?fileuri=<base64>``
(200 with the bytes when the storage proxies, 303 to a presigned URL when it presigns, 404 when no
storage of the project holds the URI); 404 for anything else. Another token than its own gets 401.
Every request is recorded with its headers, so tests can check which host saw which credentials.
``Recorder`` is a plain host (a presigned-URL storage, an attacker) that records and answers every GET;
``fake_label_studio`` serves a list of labeled tasks in one line.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import loopback_http

PAGE_SIZE = 100
_RESOLVE = re.compile(r"^/projects/(\d+)/resolve/$")
_JSON = {"Content-Type": "application/json"}

#: What Label Studio answers a request without valid credentials.
NOT_AUTHENTICATED = "Authentication credentials were not provided."
#: What Label Studio 1.23.2 answers a legacy token when the organization has legacy tokens off.
LEGACY_TOKENS_DISABLED = (
    "Authentication token no longer valid: "
    "legacy token authentication has been disabled for this organization"
)


@dataclass(frozen=True)
class Seen:
    """One request a fake server received."""

    path: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str:
        """Its ``Authorization`` header (``""`` without one), whatever the client's spelling."""
        return next((value for name, value in self.headers.items() if name.lower() == "authorization"), "")


@dataclass
class Served:
    """A file body with its ``Content-Type`` (``None``: no such header)."""

    body: bytes
    content_type: str | None = "text/plain"


@dataclass
class FakeLabelStudio:
    """What the fake serves; fill ``files``/``storage``/``tasks`` before or while it runs.

    ``refusal`` is the 401's detail for another token (e.g. ``LEGACY_TOKENS_DISABLED``).
    """

    token: str
    files: dict[str, Served] = field(default_factory=dict)  # "/data/upload/1/a.txt" -> body
    storage: dict[str, Served | str] = field(default_factory=dict)  # "s3://b/k" -> body, or a redirect URL
    storage_projects: tuple[str, ...] = ("1",)
    #: False: uploads live in cloud-backed default storage, only /storage-data/uploaded/ serves them.
    uploads_on_disk: bool = True
    tasks: list[dict[str, Any]] = field(default_factory=list)
    refusal: str = NOT_AUTHENTICATED
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a GET of ``path`` (with query); ``headers`` match any case."""
        if headers.get("Authorization") != f"Token {self.token}":
            return 401, _JSON, json.dumps({"detail": self.refusal}).encode()
        url = urlparse(path)
        query = parse_qs(url.query)
        if url.path == "/api/tasks/":
            return 200, _JSON, json.dumps(self._page(query)).encode()
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

    @property
    def paths(self) -> Sequence[str]:
        """The paths requested so far, as a live view: it grows as requests arrive."""
        return _Paths(self.seen)

    def _page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("page_size", [str(PAGE_SIZE)])[0])
        chunk = self.tasks[(page - 1) * size : page * size]
        return {"tasks": chunk, "total": len(self.tasks), "total_annotations": len(self.tasks)}

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
        return 404, _JSON, b'{"detail": "Not found."}'
    headers = {"Content-Type": item.content_type} if item.content_type else {}
    return 200, headers, item.body


@dataclass(frozen=True)
class _Paths(Sequence[str]):
    """The paths of the requests in ``seen``, read at each use."""

    seen: list[Seen]

    def __getitem__(self, index: Any) -> Any:
        return [request.path for request in self.seen][index]

    def __len__(self) -> int:
        return len(self.seen)


@dataclass
class Recorder:
    """A host that answers every GET with ``body`` and records what it was sent."""

    body: bytes = b"stored text"
    content_type: str = "text/plain; charset=utf-8"
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Every GET gets ``body``."""
        return 200, {"Content-Type": self.content_type}, self.body


def _handler(target: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target.seen.append(Seen(self.path, dict(self.headers.items())))
            status, extra, body = target.answer(self.path, self.headers)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@contextmanager
def serving(target: Any) -> Iterator[Any]:
    """Run ``target`` (a ``FakeLabelStudio`` or ``Recorder``) on a loopback port; sets ``target.url``."""
    with loopback_http(_handler(target)) as url:
        target.url = url
        yield target


@contextmanager
def fake_label_studio(
    tasks: list[dict[str, Any]], token: str, refusal: str = NOT_AUTHENTICATED
) -> Iterator[tuple[str, Sequence[str]]]:
    """Serve ``tasks`` to ``token`` on a loopback port; yields the base URL and the paths requested."""
    with serving(FakeLabelStudio(token, tasks=tasks, refusal=refusal)) as label_studio:
        yield label_studio.url, label_studio.paths
