"""A stand-in for the one Label Studio call training makes: listing a project's labeled tasks.

It answers ``GET /api/tasks/?project=N&page=P`` as Label Studio 1.23.2 does (``{"tasks": [...],
"total": ...}``, an empty page past the end) and checks the API token, so a backend under test can
train through its real ``label-studio-sdk`` code path without a real Label Studio.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import loopback_http

PAGE_SIZE = 100


#: What Label Studio 1.23.2 answers a legacy token when the organization has legacy tokens off.
LEGACY_TOKENS_DISABLED = (
    "Authentication token no longer valid: "
    "legacy token authentication has been disabled for this organization"
)


def _handler(
    tasks: list[dict[str, Any]], token: str, requests_seen: list[str], authorizations: list[str], refusal: str
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests_seen.append(self.path)
            authorizations.append(self.headers.get("Authorization") or "")
            url = urlparse(self.path)
            if self.headers.get("Authorization") != f"Token {token}":
                return self._send(401, {"detail": refusal})
            if url.path != "/api/tasks/":
                return self._send(404, {"detail": "Not found."})
            query = parse_qs(url.query)
            page = int(query.get("page", ["1"])[0])
            size = int(query.get("page_size", [str(PAGE_SIZE)])[0])
            chunk = tasks[(page - 1) * size : page * size]
            self._send(200, {"tasks": chunk, "total": len(tasks), "total_annotations": len(tasks)})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@contextmanager
def fake_label_studio(
    tasks: list[dict[str, Any]],
    token: str,
    authorizations: list[str] | None = None,
    refusal: str = "Authentication credentials were not provided.",
) -> Iterator[tuple[str, list[str]]]:
    """Serve ``tasks`` on a loopback port; yields the base URL and the list of paths requested.

    Every request's ``Authorization`` header is appended to ``authorizations`` when given; another
    token than ``token`` gets 401 with ``refusal`` as its detail (e.g. ``LEGACY_TOKENS_DISABLED``).
    """
    seen: list[str] = []
    headers = authorizations if authorizations is not None else []
    with loopback_http(_handler(tasks, token, seen, headers, refusal)) as url:
        yield url, seen
