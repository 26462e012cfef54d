"""Redirects never carry the backend's credentials, or its requests, off the pinned Label Studio.

Two loopback servers: the pinned Label Studio, which answers some paths with a redirect, and another
host that records everything it receives. Task data follows Label Studio's redirects within itself and
from its storage resolve endpoint to a presigned URL; any other off-host redirect is ``DataAccessDenied``
before the other host sees a request. The SDK client (labeled tasks, the webhook ``PATCH``, a personal
access token's refresh) follows no redirect at all: ``LabelStudioUnavailable`` naming the redirect.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlparse

import jwt
import pytest

from label_studio_ml.errors import DataAccessDenied, LabelStudioUnavailable
from label_studio_ml.server.auth import basic_auth_header
from label_studio_ml.server.webhook_auth import configure_webhook_auth
from label_studio_ml.studio.client import LabelStudioAccess
from tests.support.loopback import loopback_http

TOKEN = "secret-token-1234"
BASIC = basic_auth_header("ls", "s3cret-pass")
BACKEND = "http://backend.example:9090"


@dataclass(frozen=True)
class Received:
    """One request a server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Host:
    """A loopback HTTP server: ``redirects`` maps a path, with or without its query, to
    ``(status, Location)``; ``pages`` maps a path to a body; anything else is a 200 JSON ``answer``."""

    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)
    pages: dict[str, bytes] = field(default_factory=dict)
    answer: Any = field(default_factory=dict)
    seen: list[Received] = field(default_factory=list)
    url: str = ""

    def respond(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        redirect = self.redirects.get(path) or self.redirects.get(urlparse(path).path)
        if redirect:
            return redirect[0], {"Location": redirect[1]}, b""
        if path in self.pages:
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, self.pages[path]
        return 200, {"Content-Type": "application/json"}, json.dumps(self.answer).encode()


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            host.seen.append(Received(self.command, self.path, dict(self.headers.items()), body))
            status, headers, payload = host.respond(self.command, self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = _any

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(host: Host) -> Iterator[Host]:
    """Run ``host`` on a loopback port and set its ``url``."""
    with loopback_http(_handler(host)) as url:
        host.url = url
        yield host


@pytest.fixture
def ls() -> Iterator[Host]:
    with serving(Host()) as host:
        yield host


@pytest.fixture
def other() -> Iterator[Host]:
    with serving(Host()) as host:
        yield host


def access(ls: Host, api_key: str = TOKEN) -> LabelStudioAccess:
    return LabelStudioAccess(url=ls.url, api_key=api_key, timeout_s=10)


def webhook_context(make_context: Any, ls: Host) -> Any:
    """A backend with basic auth on, pinned to ``ls``, whose one webhook points at ``BACKEND``."""
    ls.answer = [{"id": 5, "url": f"{BACKEND}/webhook", "headers": {}, "project": 1}]
    return make_context(
        basic_auth_user="ls",
        basic_auth_pass="s3cret-pass",
        label_studio_url=ls.url,
        label_studio_api_key=TOKEN,
    )


def resolve_path(uri: str) -> str:
    fileuri = base64.urlsafe_b64encode(uri.encode()).decode().replace("=", "%3D")
    return f"/projects/1/resolve/?fileuri={fileuri}"


# -- task data ---------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "reference,path",
    [
        ("/data/upload/1/x.txt", "/data/upload/1/x.txt"),
        ("/data/local-files/?d=dir/x.txt", "/data/local-files/?d=dir%2Fx.txt"),
    ],
)
def test_task_data_redirected_off_the_host_is_refused_before_the_other_host_is_asked(
    ls, other, status, reference, path
) -> None:
    ls.redirects[path] = (status, f"{other.url}/page.html")
    with pytest.raises(DataAccessDenied, match="another host"):
        access(ls).fetch_text(reference, project_id="1")
    assert [seen.path for seen in ls.seen] == [path]
    assert other.seen == []


def test_a_redirect_within_label_studio_is_followed_with_our_token(ls) -> None:
    ls.redirects["/data/upload/1/x.txt"] = (302, "/data/upload/1/moved.txt")
    ls.pages["/data/upload/1/moved.txt"] = b"moved text"
    assert access(ls).fetch_text("/data/upload/1/x.txt", project_id="1") == "moved text"
    assert [seen.headers["Authorization"] for seen in ls.seen] == [f"Token {TOKEN}"] * 2


def test_the_resolve_endpoint_may_hand_over_to_a_presigned_url_without_our_token(ls, other) -> None:
    ls.redirects[resolve_path("s3://bucket/doc.txt")] = (303, f"{other.url}/doc.txt?X-Amz-Signature=abc")
    other.pages["/doc.txt?X-Amz-Signature=abc"] = b"from storage"
    assert access(ls).fetch_text("s3://bucket/doc.txt", project_id="1") == "from storage"
    (at_storage,) = other.seen
    assert "Authorization" not in at_storage.headers


def test_the_storage_host_may_not_redirect_again(ls, other) -> None:
    # Exactly one off-host hop: a presigned URL serves its object, it does not send us on.
    with serving(Host()) as third:
        ls.redirects[resolve_path("s3://bucket/doc.txt")] = (303, f"{other.url}/doc.txt?sig=abc")
        other.redirects["/doc.txt?sig=abc"] = (302, f"{third.url}/elsewhere")
        with pytest.raises(DataAccessDenied, match="storage host"):
            access(ls).fetch_text("s3://bucket/doc.txt", project_id="1")
        assert third.seen == []


# -- the SDK client ----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_reading_labeled_tasks_follows_no_redirect(ls, other, status) -> None:
    ls.redirects["/api/tasks/"] = (status, f"{other.url}/api/tasks/")
    with pytest.raises(LabelStudioUnavailable, match="redirect") as caught:
        access(ls).labeled_tasks("1")
    assert other.url.split("//")[1] in caught.value.message
    assert TOKEN not in caught.value.message
    assert other.seen == []


@pytest.mark.parametrize("status", [307, 308])
def test_the_webhook_patch_is_not_resent_to_where_a_redirect_points(ls, other, status, make_context) -> None:
    ls.redirects["/api/webhooks/5/"] = (status, f"{other.url}/api/webhooks/5/")
    context = webhook_context(make_context, ls)
    refused = f"PATCH /api/webhooks/5/ with a redirect \\({status}\\)"
    with pytest.raises(LabelStudioUnavailable, match=refused):
        configure_webhook_auth(context, "1", BACKEND)
    (patch,) = [seen for seen in ls.seen if seen.method == "PATCH"]
    assert BASIC in patch.body.decode()  # the header was meant for Label Studio, and went only there
    assert other.seen == []


def test_the_background_webhook_setup_logs_the_refused_redirect(ls, other, make_context, caplog) -> None:
    from label_studio_ml.server.webhook_auth import ensure_webhook_auth_async

    ls.redirects["/api/webhooks/5/"] = (307, f"{other.url}/api/webhooks/5/")
    context = webhook_context(make_context, ls)
    with caplog.at_level(logging.WARNING, logger="label_studio_ml.server.webhook_auth"):
        ensure_webhook_auth_async(context, "1", BACKEND)
        deadline = time.monotonic() + 10
        while "could not configure webhook auth" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "redirects are not followed" in caplog.text
    assert other.seen == []


def test_a_personal_access_token_refresh_is_not_resent_to_where_a_redirect_points(ls, other) -> None:
    refresh = jwt.encode(
        {"token_type": "refresh", "exp": int(time.time()) + 3600}, "k" * 32, algorithm="HS256"
    )
    ls.redirects["/api/token/refresh/"] = (307, f"{other.url}/api/token/refresh/")
    with pytest.raises(LabelStudioUnavailable, match="POST /api/token/refresh/ with a redirect"):
        access(ls, api_key=refresh).access_token()
    (sent,) = ls.seen
    assert refresh in sent.body.decode()
    assert other.seen == []
