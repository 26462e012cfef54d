"""Small file primitives the state on disk is built from: atomic writes, a folder lock, private files."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: Everything the backend writes under ``MODEL_DIR`` is its own: the state holds Label Studio tokens,
#: received webhooks hold project rows. Group and others get no access to new files and folders.
PRIVATE_UMASK = 0o077
#: A private file: read and write for its owner only.
PRIVATE_FILE_MODE = 0o600


def keep_new_files_private() -> None:
    """Give group and others no access to any file or folder this process creates from now on.

    A process-wide umask, set when a server or worker starts: libraries (SQLite's WAL files, torch,
    transformers) create files of their own, which no per-call mode would reach.
    """
    os.umask(PRIVATE_UMASK)


def create_private_file(path: Path) -> None:
    """Make sure ``path`` exists and only its owner can read it.

    A new file is created 0600 at once (not chmod-ed after: it would be readable in between); one
    an earlier release left readable by others is tightened, with a warning when it cannot be.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
        return
    except FileExistsError:
        pass
    tighten(path)


def tighten(path: Path) -> None:
    """Take group and others' access away from an existing ``path`` (absent: nothing to do)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
    except FileNotFoundError:
        return
    except OSError as exc:  # e.g. owned by another user: the operator has to fix it
        logger.warning("%s stays readable by others (%s); chmod go-rwx it", path, type(exc).__name__)


def safe_file_name(key: Any) -> str:
    """``key`` (a task or annotation id) as a JSON file's name; anything but a plain id is hashed, so
    no id a client sends can name a path."""
    name = str(key)
    if not _SAFE_NAME.match(name):
        name = "h" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{name}.json"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (readers never see half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{uuid.uuid4().hex}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@contextlib.contextmanager
def folder_lock(folder: Path, name: str = ".lock") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder/name`` (every worker and process of this machine)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
