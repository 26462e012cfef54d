"""Start real backend servers (gunicorn through the CLI) for integration tests, and stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float, auth=None) -> None:
    """Poll ``/health`` until 200; fail early if the server process died."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"backend exited with {process.returncode} before becoming healthy")
        try:
            if requests.get(f"{url}/health", timeout=2, auth=auth).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Stop the server's whole process group (gunicorn and its workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


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
    auth=None,
) -> Iterator[str]:
    """Run ``label-studio-ml start DIR`` on a free loopback port; yields its base URL."""
    port = free_port()
    argv = (
        list(command) if command else [sys.executable, "-m", "label_studio_ml.cli", "start", str(directory)]
    )
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *extra_args]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, timeout, auth=auth)
        yield url
    finally:
        stop(process)
        if log:
            out.close()
