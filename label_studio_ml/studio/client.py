"""Access to Label Studio for training and task data, through label-studio-sdk 2.x.

The SDK's ``LabelStudio`` client accepts legacy tokens and personal access tokens alike. Task data
files (uploads, Local Files, cloud storage) are read only through the project's own Label Studio;
``task_data`` decides which of its URLs serves a reference.

Redirects: nothing we send with credentials follows a redirect off the pinned Label Studio. The
SDK's client follows none at all (``redirects.no_redirect_client``); task data follows Label
Studio's redirects within itself, and off it only from its storage resolve endpoint to a presigned
storage URL, without our token (``LabelStudioAccess._next_url``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import requests

from label_studio_ml.errors import (
    DataAccessDenied,
    LabelStudioRefused,
    LabelStudioUnavailable,
    TaskDataUnreadable,
)
from label_studio_ml.studio.redirects import no_redirect_client, redirect_target
from label_studio_ml.studio.task_data import (
    decode_text,
    is_cloud_uri,
    label_studio_paths,
    names_storage_uri,
    parse_reference,
    url_origin,
)

logger = logging.getLogger(__name__)

MAX_TEXT_BYTES = 10 * 1024 * 1024
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_REDIRECTS = 5
#: Unlabeled tasks read per request (active learning reads pools of thousands: few round trips).
UNLABELED_PAGE = 1000
_CHUNK = 256 * 1024


def _completed_filter(labeled: bool) -> str:
    """A Data Manager filter on whether a task was completed (labeled). Label Studio 1.23.2 ignores
    ``only_annotated``; this filter returns exactly the labeled tasks, or exactly the others."""
    item = {"filter": "filter:tasks:completed_at", "operator": "empty", "value": not labeled,
            "type": "Datetime"}  # fmt: skip
    return json.dumps({"filters": {"conjunction": "and", "items": [item]}})


_LABELED_FILTER = _completed_filter(labeled=True)
_UNLABELED_FILTER = _completed_filter(labeled=False)


@dataclass(frozen=True)
class LabelStudioAccess:
    """Where a project's Label Studio lives and the token to call it with."""

    url: str
    api_key: str = field(repr=False)
    timeout_s: float = 60.0

    def client(self) -> Any:
        """A label-studio-sdk 2.x client that follows no redirect: one is ``LabelStudioUnavailable``.

        The SDK's default httpx client follows redirects, and a 307/308 makes httpx send the same
        method and body to wherever Label Studio points: the webhook ``PATCH`` carries our basic-auth
        header in its body, a token refresh the refresh token. Its token refresh uses this client too.
        """
        from label_studio_sdk import LabelStudio

        http = no_redirect_client(self.timeout_s)
        return LabelStudio(base_url=self.url, api_key=self.api_key, timeout=self.timeout_s, httpx_client=http)

    def labeled_tasks(self, project_id: str | int) -> list[dict[str, Any]]:
        """Every labeled task of the project (all pages), as plain dicts with annotations."""
        try:
            pager = self.client().tasks.list(project=int(project_id), fields="all", query=_LABELED_FILTER)
            tasks = [as_dict(task) for task in pager]
        except Exception as exc:  # the SDK raises many types; all mean "could not read"
            reason = f"could not read labeled tasks of project {project_id} from {self.url}"
            raise read_failure(exc, reason) from exc
        return [task for task in tasks if task.get("annotations")]

    def unlabeled_tasks(self, project_id: str | int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` tasks of the project that nobody has labeled, with their data, in pages of
        at most ``UNLABELED_PAGE``."""
        try:
            pager = self.client().tasks.list(
                project=int(project_id), fields="all", query=_UNLABELED_FILTER,
                page_size=min(limit, UNLABELED_PAGE),
            )  # fmt: skip
            tasks = [as_dict(task) for _, task in zip(range(limit), pager, strict=False)]
        except Exception as exc:  # the SDK raises many types; all mean "could not read"
            reason = f"could not read unlabeled tasks of project {project_id} from {self.url}"
            raise read_failure(exc, reason) from exc
        return [task for task in tasks if not task.get("annotations")]

    def is_own_url(self, url: str) -> bool:
        """Whether ``url`` points at this Label Studio (scheme, host and port all match).

        ``DataAccessDenied`` when ``url`` (task data, a redirect) has a malformed host or port.
        """
        return url_origin(self.url) == url_origin(url)

    # -- task data -------------------------------------------------------------------------
    def data_urls(self, reference: str, project_id: str | None) -> list[str]:
        """Absolute URLs on this Label Studio that serve a task data reference, to try in order.

        Raises ``DataAccessDenied`` for a reference that is not a Label Studio file of ``project_id``,
        or that names another host (except a storage resolve URL, of which only the storage URI is used).
        """
        parsed = parse_reference(reference)
        if parsed.scheme and not is_cloud_uri(reference):
            if parsed.scheme not in ("http", "https"):
                raise DataAccessDenied(f"task data URLs must be http(s) or cloud URIs, not {parsed.scheme}")
            if not self.is_own_url(reference) and not names_storage_uri(reference):
                raise DataAccessDenied("task data URLs are only fetched from the project's Label Studio")
        paths = label_studio_paths(reference, project_id, base_path=urlparse(self.url).path)
        return [self.url + path for path in paths]

    def fetch_bytes(
        self, reference: str, *, project_id: str | None, max_bytes: int = MAX_TEXT_BYTES
    ) -> tuple[bytes, str | None]:
        """A task data file's bytes and its ``Content-Type``, read through this Label Studio."""
        buffer = io.BytesIO()
        content_type = self._download(reference, project_id, buffer, max_bytes)
        return buffer.getvalue(), content_type

    def fetch_text(
        self, reference: str, max_bytes: int = MAX_TEXT_BYTES, *, project_id: str | None = None
    ) -> str:
        """A task's text by URL: UTF-8 unless Label Studio declares another charset."""
        body, content_type = self.fetch_bytes(reference, project_id=project_id, max_bytes=max_bytes)
        return decode_text(body, content_type)

    def download(
        self, reference: str, destination: Path, *, project_id: str | None, max_bytes: int = MAX_FILE_BYTES
    ) -> str | None:
        """Save a task data file to ``destination`` (atomically); returns its ``Content-Type``."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.part")
        try:
            with partial.open("wb") as sink:
                content_type = self._download(reference, project_id, sink, max_bytes)
            os.replace(partial, destination)
        finally:
            partial.unlink(missing_ok=True)
        return content_type

    def _download(self, reference: str, project_id: str | None, sink: BinaryIO, max_bytes: int) -> str | None:
        urls = self.data_urls(reference, project_id)
        for index, url in enumerate(urls):
            try:
                response = self._get(url)
            except TaskDataUnreadable:
                if index + 1 < len(urls):
                    continue  # e.g. /data/upload/ on a Label Studio that keeps uploads in cloud storage
                raise
            with response:
                try:
                    _copy(response, sink, max_bytes)
                except requests.RequestException as exc:
                    raise LabelStudioUnavailable(f"download failed: {type(exc).__name__}") from exc
                return response.headers.get("Content-Type")
        raise AssertionError("data_urls never returns an empty list")

    def _get(self, url: str) -> requests.Response:
        """GET a URL on this Label Studio with our token; follows only the redirects ``_next_url`` allows."""
        headers = self._auth_header()
        try:
            for _ in range(MAX_REDIRECTS):
                response = requests.get(url, headers=headers, timeout=30, stream=True, allow_redirects=False)
                if not response.is_redirect:
                    break
                response.close()
                url = self._next_url(url, response.headers["Location"])
                if not self.is_own_url(url):
                    headers = {}  # the presigned URL is the storage's own credential; ours stay home
            else:
                raise LabelStudioUnavailable("too many redirects while fetching task data")
        except requests.RequestException as exc:
            raise LabelStudioUnavailable(f"could not fetch task data: {type(exc).__name__}") from exc
        _raise_for_status(response, urlparse(url).path if self.is_own_url(url) else "storage")
        return response

    def _next_url(self, url: str, location: str) -> str:
        """Where a redirect from ``url`` may lead; ``DataAccessDenied`` (before any request) elsewhere.

        Followed: a redirect from this Label Studio to itself (with our token), and one from its storage
        resolve endpoint to another host (without it). Label Studio answers a file of a storage that
        presigns with a redirect to a presigned URL on the storage host (S3's default): refusing that
        would break those storages, and it carries nothing of ours, since the signature in the URL is
        the storage's own credential for that one object, for minutes. Label Studio chose the storage
        among the project's own (the project is the one our token reads). Anything else off the
        host is refused: uploads and Local Files never redirect off it, so a Label Studio (or a proxy
        in front of it) doing so would make us fetch, and classify, a page of its choosing; and the
        storage host's own redirects are refused too, so exactly one off-host hop is ever made.
        """
        target = redirect_target(url, location)
        if not self.is_own_url(url):
            raise DataAccessDenied("the storage host redirected task data again; not followed")
        if self.is_own_url(target) or self._is_resolve_url(url):
            return target
        raise DataAccessDenied(
            f"Label Studio redirected task data {urlparse(url).path[:100]} to another host; only its "
            "storage resolve endpoint may (to a presigned URL)"
        )

    def _is_resolve_url(self, url: str) -> bool:
        """Whether ``url`` is this Label Studio's storage resolve endpoint (under its base path, if any)."""
        base = urlparse(self.url).path.rstrip("/")
        path = urlparse(url).path
        return self.is_own_url(url) and path.startswith(base + "/") and names_storage_uri(path[len(base) :])

    def access_token(self) -> str:
        """The token to send: the legacy token itself, or a personal access token's fresh access token."""
        return self._auth_header()["Authorization"].split(" ", 1)[1]

    def _auth_header(self) -> dict[str, str]:
        # Personal access tokens are JWTs (three dot-separated parts); the SDK exchanges them.
        if self.api_key.count(".") == 2:
            token = self.client()._client_wrapper.get_headers().get("Authorization", "")
            return {"Authorization": token}
        return {"Authorization": f"Token {self.api_key}"}


def as_refusal(exc: Exception, doing: str) -> LabelStudioRefused | None:
    """``exc`` as a refusal of our token (an SDK ``ApiError`` with 401/403), else ``None``."""
    status = getattr(exc, "status_code", None)
    if status not in (401, 403):
        return None
    body = getattr(exc, "body", None)
    detail = body.get("detail") if isinstance(body, dict) else None
    reason = str(detail or "")[:300] or ("unauthorized" if status == 401 else "forbidden")
    return LabelStudioRefused(f"{doing}: Label Studio answered {status} ({reason})", status, reason)


def read_failure(exc: Exception, doing: str) -> LabelStudioUnavailable:
    """A refusal of our token, or Label Studio unavailable, for what the SDK raised while ``doing``."""
    if isinstance(exc, LabelStudioUnavailable):  # our own reason (a refused redirect) says more
        return LabelStudioUnavailable(f"{doing}: {exc.message}")
    return as_refusal(exc, doing) or LabelStudioUnavailable(f"{doing}: {type(exc).__name__}")


def _copy(response: requests.Response, sink: BinaryIO, max_bytes: int) -> None:
    written = 0
    for chunk in response.iter_content(_CHUNK):
        written += len(chunk)
        if written > max_bytes:
            raise DataAccessDenied(f"task data larger than {max_bytes} bytes")
        sink.write(chunk)


def _raise_for_status(response: requests.Response, where: str) -> None:
    """Typed errors: a missing file is the task's problem, refused credentials or a 5xx are Label Studio's."""
    status = response.status_code
    if status < 400:
        return
    response.close()
    if status == 401:
        raise LabelStudioUnavailable(f"Label Studio refused our credentials for task data {where[:200]}")
    if status == 403:  # e.g. a file of a project the token's user may not see, Local Files switched off
        raise TaskDataUnreadable(f"Label Studio refused access to task data {where[:200]} (403)")
    if status < 500:
        raise TaskDataUnreadable(f"Label Studio has no task data at {where[:200]} ({status})")
    raise LabelStudioUnavailable(f"Label Studio failed serving task data {where[:200]} ({status})")


def as_dict(item: Any) -> dict[str, Any]:
    """An SDK object (a pydantic model) or a mapping as a plain dict."""
    if isinstance(item, dict):
        return item
    if hasattr(item, "model_dump"):
        return item.model_dump(mode="json")
    return dict(item)


def load_sdk() -> None:
    """Load label-studio-sdk's client now. The package imports its 1,200 modules lazily, at the first
    client: about 1.1 s and 57 MiB (measured on a 2-core machine) with the interpreter held. A
    process that will read Label Studio anyway pays it while it warms up rather than in the middle
    of serving (the first annotation's update paid it: that version came 1.4 s after the webhook,
    and the worker's requests shared the interpreter with the import meanwhile)."""
    LabelStudioAccess("http://localhost", "unused").client()  # builds (imports) its sub-clients
