"""Start real backend servers (gunicorn through the CLI) for integration tests, and stop them."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import ManagedProcess, every_worker_healthy, free_port

ROOT = Path(__file__).resolve().parents[2]


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
        process.wait_until(lambda: every_worker_healthy(url, workers, auth), timeout, "healthy")
        yield url
    finally:
        process.stop()


def assert_every_worker_serves(
    url: str, predict_body: dict[str, Any], project: str, version: str, workers: int, timeout: float = 60
) -> list[dict[str, Any]]:
    """Predict until each of ``workers`` gunicorn workers has served ``version`` of ``project``.

    Sequential requests may all land on one worker, so requests go out in concurrent bursts and
    each worker's ``/metrics`` (which names its pid and the version its live instance serves) is
    read until every worker has been seen serving ``version``. Every prediction must carry
    ``version``. Returns the last predictions.
    """
    served_by: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(2 * workers) as pool:
        while True:
            answers = list(
                pool.map(lambda _: requests.post(f"{url}/predict", json=predict_body, timeout=60), range(4))
            )
            for answer in answers:
                assert answer.status_code == 200, answer.text
                assert {item["model_version"] for item in answer.json()["results"]} == {version}
            for report in pool.map(lambda _: requests.get(f"{url}/metrics", timeout=10), range(4)):
                worker = report.json()["worker"]
                served_by[worker["pid"]] = worker["loaded_projects"].get(project)
            if sum(1 for served in served_by.values() if served == version) >= workers:
                return answers[-1].json()["results"]
            assert time.monotonic() < deadline, f"workers seen serving: {served_by}"
