"""Task data files on local disk: upstream's ``get_local_path`` and ``preload_task_data``.

Every file comes from the project's own Label Studio (see ``task_data``) and is cached under
``MODEL_DIR/<namespace>/task-files/<project>/``, named by a hash of the reference, so a second call
reads the disk. Paths on the backend's own disk are not read for a task: whoever can import tasks
could otherwise read the backend's files (its state holds the Label Studio token).
"""

from __future__ import annotations

import codecs
import hashlib
import locale
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from label_studio_ml.errors import DataAccessDenied
from label_studio_ml.studio.client import LabelStudioAccess
from label_studio_ml.studio.task_data import charset_of, decode_text, is_preload_needed

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class TaskFiles:
    """Download-and-cache of one project's task data files."""

    def __init__(self, root: Path, project_id: str, access: Callable[[], LabelStudioAccess]) -> None:
        self.root = root
        self.project_id = project_id
        self._access = access  # called only when a download is needed

    def local_path(self, url: str, ls_host: str | None = None) -> str:
        """A local file with the content ``url`` refers to (downloaded once, then cached)."""
        if self._is_cached_file(url):
            return url
        access = self._access()
        if ls_host and not access.is_own_url(ls_host):
            raise DataAccessDenied("task data is only read from the project's Label Studio")
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        target = self.root / self.project_id / f"{key}__{_file_name(url)}"
        if not target.is_file():
            content_type = access.download(url, target, project_id=self.project_id)
            _store_text_as_utf8(target, content_type)
        return str(target)

    def _is_cached_file(self, path: str) -> bool:
        try:
            resolved = Path(path).resolve()
        except (OSError, ValueError):
            return False
        return resolved.is_relative_to(self.root.resolve()) and resolved.is_file()


def _file_name(url: str) -> str:
    """A safe, recognisable file name (with its extension) for a cached reference."""
    tail = url.split("?d=")[-1].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return _SAFE_NAME.sub("_", tail)[-80:] or "file"


def _store_text_as_utf8(path: Path, content_type: str | None) -> None:
    """A text file served in a declared non-UTF-8 charset is re-encoded, so reading it as UTF-8 works."""
    charset = charset_of(content_type)
    if not charset or not (content_type or "").startswith("text/"):
        return
    try:
        if codecs.lookup(charset).name == "utf-8":
            return
    except LookupError:
        return
    path.write_text(decode_text(path.read_bytes(), content_type), encoding="utf-8")


def _utf8_locale() -> bool:
    return codecs.lookup(locale.getpreferredencoding(False)).name == "utf-8"


def read_text_file(path: str) -> str:
    """A downloaded task file's text, as UTF-8.

    Upstream reads with ``open(path, "r")`` and backends' own tests mock exactly that call; it is kept
    where the locale's encoding is UTF-8 (Linux, Docker) and UTF-8 is asked for explicitly elsewhere.
    """
    if _utf8_locale():
        with open(path, "r") as file:  # noqa: UP015 - the exact call upstream's tests expect
            return file.read()
    with open(path, encoding="utf-8") as file:
        return file.read()


def preload(value: Any, load: Callable[[str], str], read_file: bool) -> Any:
    """``value`` with every file reference in it replaced by the file's text (or its local path).

    Dicts are updated in place and returned, lists are rebuilt, as upstream does.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = preload(item, load, read_file)
        return value
    if isinstance(value, list):
        return [preload(item, load, read_file) for item in value]
    if isinstance(value, str) and is_preload_needed(value):
        path = load(value)
        return read_text_file(path) if read_file else path
    return value
