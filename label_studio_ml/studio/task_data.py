"""Where a task's data reference is read from: always the project's own Label Studio.

Task data names files in several forms: uploads (``upload/1/a.txt``, ``/data/upload/1/a.txt``),
Local Files storage (``/data/local-files/?d=dir/a.txt``), cloud storage URIs (``s3://``, ``gs://``,
``azure-blob://``) and the proxy URLs Label Studio writes for those when it lists tasks
(``/tasks/7/resolve/?fileuri=<base64>``). Each becomes a path on the project's Label Studio, which
checks its own permissions and proxies or presigns storage files. Anything else is refused: a
backend holding a Label Studio token must not fetch URLs of the task author's choosing.

Nothing here touches the network; ``LabelStudioAccess`` does the fetching.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from email.message import Message
from urllib.parse import ParseResult, parse_qs, quote, unquote, urlencode, urlparse

from label_studio_ml.errors import DataAccessDenied

#: The URI schemes Label Studio 1.23.2's import storages write into task data
#: (``url_scheme`` of its S3, GCS and Azure Blob storages; Local Files storage writes ``/data/local-files``).
CLOUD_SCHEMES = ("s3", "gs", "azure-blob")

_UPLOAD = re.compile(r"^/data/upload/(?P<project>[^/]+)/[^/].*$")
_RESOLVE = re.compile(r"^/(?:tasks|projects)/\d+/(?:resolve|presign)/?$")


def is_cloud_uri(value: object) -> bool:
    """Whether ``value`` is a cloud storage URI Label Studio can resolve (``s3://bucket/key``, ...)."""
    return isinstance(value, str) and value.startswith(tuple(f"{scheme}://" for scheme in CLOUD_SCHEMES))


def parse_reference(reference: str) -> ParseResult:
    """``urlparse`` of a task data value; one it cannot split (``http://[::1/``) is ``DataAccessDenied``.

    Task data is written by whoever imports tasks: a malformed URL must fail that task alone, as a
    typed error, never as a ``ValueError`` that fails the whole request.
    """
    try:
        return urlparse(reference)
    except ValueError as exc:
        raise DataAccessDenied(f"task data URL is malformed: {str(exc)[:100]}") from None


def url_origin(url: str) -> tuple[str, str | None, int | None]:
    """``(scheme, host, port)`` of ``url``; a malformed host or port (``:99999``, ``:1.evil``) is
    ``DataAccessDenied`` (``urlparse`` only checks the port when ``.port`` is read)."""
    parsed = parse_reference(url)
    try:
        return parsed.scheme, parsed.hostname, parsed.port
    except ValueError as exc:
        raise DataAccessDenied(f"task data URL is malformed: {str(exc)[:100]}") from None


def names_storage_uri(reference: str) -> bool:
    """Whether ``reference`` is a Label Studio storage resolve URL (``/tasks/7/resolve/?fileuri=...``).

    Label Studio writes these, with its own ``HOSTNAME``, into tasks it lists; only the storage URI in
    them matters, and it is resolved again through the project we hold a token for.
    """
    try:
        return bool(_RESOLVE.match(urlparse(reference).path))
    except ValueError:  # not a URL at all, so not one Label Studio wrote
        return False


def resolve_path(project_id: str, cloud_uri: str) -> str:
    """Label Studio's endpoint that proxies or presigns ``cloud_uri`` among ``project_id``'s storages.

    The project-level endpoint is used even when a task id is known: it only searches the storages of
    the project whose token we hold, whatever task id a request claims.
    """
    fileuri = base64.urlsafe_b64encode(cloud_uri.encode()).decode()
    return f"/projects/{project_id}/resolve/?{urlencode({'fileuri': fileuri})}"


def label_studio_paths(reference: str, project_id: str | None, base_path: str = "") -> list[str]:
    """Paths (with query) on Label Studio that serve ``reference``, to try in order.

    ``reference`` is a task data value: an upload path, a cloud URI, or a URL whose path is one of
    Label Studio's data endpoints (relative, or absolute with any host: only its path is used, so
    the caller must check the host). ``base_path`` is the path Label Studio is served under, if any.
    Raises ``DataAccessDenied`` for anything else, and for uploads of another project.
    """
    if is_cloud_uri(reference):
        return [resolve_path(_numeric(project_id), reference)]
    if reference.startswith(("upload/", "/upload/")):
        reference = "/data/" + reference.lstrip("/")
    parsed = parse_reference(reference)
    path = unquote(parsed.path)
    if base_path and path.startswith(base_path.rstrip("/") + "/"):
        path = path[len(base_path.rstrip("/")) :]
    if any(segment in ("..", ".") for segment in path.split("/")) or "//" in path:
        raise DataAccessDenied("task data path must not contain '.', '..' or empty segments")
    query = parse_qs(parsed.query)
    match = _UPLOAD.match(path)
    if match:
        _same_project(match["project"], project_id)
        relative = path[len("/data/") :]
        # Label Studio serves uploads from disk at /data/upload/, or from cloud-backed default storage
        # through /storage-data/uploaded/; which one works depends on its configuration.
        return [quote(path), f"/storage-data/uploaded/?{urlencode({'filepath': relative})}"]
    if path.rstrip("/") == "/storage-data/uploaded":
        filepath = (query.get("filepath") or [""])[-1]
        return label_studio_paths(filepath, project_id) if filepath.startswith("upload/") else _refuse(path)
    if path.rstrip("/") == "/data/local-files" and (query.get("d") or [""])[-1]:
        return [f"/data/local-files/?{urlencode({'d': query['d'][-1]})}"]
    if _RESOLVE.match(path):
        return [resolve_path(_numeric(project_id), _cloud_uri_of(query))]
    return _refuse(path)


def _refuse(path: str) -> list[str]:
    raise DataAccessDenied(
        f"task data {path[:100]!r} is not a Label Studio file (upload, local files or cloud storage)"
    )


def _numeric(project_id: str | None) -> str:
    if project_id is None or not str(project_id).isdigit():
        raise DataAccessDenied("files in Label Studio storage can only be read for a Label Studio project")
    return str(project_id)


def _same_project(owner: str, project_id: str | None) -> None:
    if owner != _numeric(project_id):
        raise DataAccessDenied(f"upload belongs to project {owner[:20]}, not to project {project_id}")


def _cloud_uri_of(query: dict[str, list[str]]) -> str:
    """The cloud URI a ``resolve``/``presign`` URL names: base64 (Label Studio 1.23) or URL-quoted (older)."""
    raw = (query.get("fileuri") or [""])[-1]
    try:
        decoded = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = unquote(raw)
    if not is_cloud_uri(decoded):
        decoded = unquote(raw)
    if not is_cloud_uri(decoded):
        raise DataAccessDenied("a storage resolve URL must name a cloud storage URI in 'fileuri'")
    return decoded


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` a ``Content-Type`` header declares, if any."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    return message.get_content_charset()


def decode_text(body: bytes, content_type: str | None) -> str:
    """Text of a downloaded file: UTF-8 unless the response declares another charset.

    A UTF-8 byte-order mark is dropped, as browsers (and so Label Studio's editor, whose span offsets
    we must match) drop it. An unknown declared charset falls back to UTF-8.
    """
    charset = charset_of(content_type)
    if charset and charset.replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass
    return body.decode("utf-8-sig", errors="replace")


def is_valid_url(path: str) -> bool:
    """Whether ``path`` is an absolute URL (it has a scheme and a host)."""
    try:
        parsed = urlparse(path)
    except ValueError:
        return False
    return bool(parsed.scheme and parsed.netloc)


def is_preload_needed(url: str) -> bool:
    """Whether a task data value refers to a file rather than being the data itself.

    True for uploads, Local Files and cloud storage references, absolute URLs and existing paths.
    """
    if url.startswith(("upload", "/upload")):
        url = "/data/" + url.lstrip("/")
    return (
        url.startswith("/data/upload")
        or (url.startswith("/data/") and "?d=" in url)
        or url.startswith(tuple(f"{scheme}:" for scheme in CLOUD_SCHEMES))
        or is_valid_url(url)
        or os.path.exists(url)
    )
