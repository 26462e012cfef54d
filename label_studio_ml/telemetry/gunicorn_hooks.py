"""gunicorn server hooks for prometheus_client's multiprocess mode (``gunicorn -c python:<this module>``,
as ``label-studio-ml start`` runs it); they run in gunicorn's master process.

gunicorn reads every module-level name of a config module that names one of its settings: only the
hooks are public here.
"""

from __future__ import annotations

from typing import Any

from label_studio_ml.telemetry import multiproc as _multiproc


def on_starting(server: Any) -> None:
    """Before the first worker starts: an empty directory for the workers' values."""
    path = _multiproc.current_dir()
    if path:
        _multiproc.reset_dir(path)


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: drop its live gauges (training slots); its counters keep counting."""
    path = _multiproc.current_dir()
    if path:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, path)


def on_exit(server: Any) -> None:
    """gunicorn stops: remove the directory if ``label-studio-ml start`` made it for this start."""
    path = _multiproc.current_dir()
    if path:
        _multiproc.remove_if_ours(path)
