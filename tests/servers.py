"""Start real backend servers (gunicorn through the CLI) for integration tests, and stop them."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.processes import ManagedProcess, free_port, http_ok

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def backend(
    directory: Path,
    env: Mapping[str, str],
    *,
    workers: int = 2,
    extra_args: Sequence[str] = (),
    command: Sequence[str] | None = None,
    timeout: float = 120,
    log: Path | None = None,
    auth: tuple[str, str] | None = None,
) -> Iterator[str]:
    """Run ``label-studio-ml start DIR`` on a free loopback port; yields its base URL."""
    port = free_port()
    argv = (
        list(command) if command else [sys.executable, "-m", "label_studio_ml.cli", "start", str(directory)]
    )
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *extra_args]
    log = log or Path(tempfile.mkdtemp()) / "backend.log"
    process = ManagedProcess(directory.name, argv, {**os.environ, **env}, log, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    process.start()
    try:
        process.wait_until(lambda: http_ok(f"{url}/health", auth=auth), timeout, "healthy")
        yield url
    finally:
        process.stop()
