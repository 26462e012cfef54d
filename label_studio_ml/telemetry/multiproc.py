"""The directory gunicorn's workers keep their Prometheus values in (prometheus_client's multiprocess
mode): chosen before gunicorn starts, emptied when it starts, removed when it exits if it was ours.

prometheus_client reads ``PROMETHEUS_MULTIPROC_DIR`` when it is first imported, so it must be in the
environment gunicorn starts with (its docs: set it before start, never from Python in a worker).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: The name of a directory ``label-studio-ml start`` made (in the temporary directory) for one start.
OURS_PREFIX = "label-studio-ml-metrics-"


def choose_dir(env: MutableMapping[str, str]) -> str:
    """``env``'s ``PROMETHEUS_MULTIPROC_DIR``, set to a new private temporary directory if unset."""
    if not env.get(VARIABLE):
        env[VARIABLE] = tempfile.mkdtemp(prefix=OURS_PREFIX)  # unique per start, mode 0700
    return env[VARIABLE]


def reset_dir(path: str) -> None:
    """Create ``path`` if needed and drop the values an earlier run left there (its ``*.db`` files):
    a counter must start from zero with the server, or a restart would double it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def remove_if_ours(path: str) -> None:
    """Remove ``path`` when it is a directory ``choose_dir`` made; a directory the user chose stays."""
    folder = Path(path)
    if folder.name.startswith(OURS_PREFIX) and folder.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(folder, ignore_errors=True)


def current_dir() -> str | None:
    """This process's ``PROMETHEUS_MULTIPROC_DIR``, or ``None`` (then metrics live in this process)."""
    return os.environ.get(VARIABLE) or None
