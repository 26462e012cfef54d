"""``make run``: both backends side by side (classifier on 9090, NER on 9091) until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from label_studio_ml.config import Settings
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.server.auth import basic_auth_header

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = (("bert_classifier", 9090), ("huggingface_ner", 9091))


def listen_url(port: int, environ: dict[str, str]) -> str:
    """Where a backend started with ``environ`` answers (``localhost`` for a wildcard bind)."""
    host = environ.get("HOST") or "0.0.0.0"
    return f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}"


def ready_line(name: str, url: str, settings: Settings) -> str:
    """The one line ``make run`` prints when a backend answers ``/health``."""
    auth = "on" if settings.basic_auth_enabled else "off: anyone who reaches the port can use it"
    return f"{name} ready at {url}; status page {url}/status (basic auth {auth})"


def is_ready(url: str, settings: Settings) -> bool:
    """Whether ``url``'s ``/health`` answers 200 (loaded, state reachable); any failure is "not yet"."""
    request = urllib.request.Request(f"{url}/health")
    if settings.basic_auth_enabled:
        request.add_header(
            "Authorization", basic_auth_header(settings.basic_auth_user or "", settings.basic_auth_pass or "")
        )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:  # URLError, HTTPError: not listening yet, 503 while loading, a timeout
        return False


def _awaited() -> dict[str, tuple[str, Settings]]:
    """Each backend's URL and settings, to say when it is ready (none when the settings are invalid:
    each backend says what is wrong as it exits, as before)."""
    try:
        settings = Settings.from_env()
    except ConfigurationError:
        return {}
    return {name: (listen_url(port, dict(os.environ)), settings) for name, port in BACKENDS}


def _announce_ready(waiting: dict[str, tuple[str, Settings]]) -> None:
    """Print the ready line of each backend that answers now; forget it then."""
    for name, (url, settings) in list(waiting.items()):
        if is_ready(url, settings):  # the 4-5 minute first install ends in a plain answer
            print(ready_line(name, url, settings), flush=True)
            del waiting[name]


def main() -> int:
    """Start both, stop both when either exits or on SIGINT/SIGTERM."""
    base = Path(os.environ.get("MODEL_DIR") or ROOT / "models")
    children = []
    for name, port in BACKENDS:
        env = dict(os.environ, MODEL_DIR=str(base / name))
        command = [
            sys.executable,
            "-m",
            "label_studio_ml.cli",
            "start",
            str(ROOT / name),
            "--port",
            str(port),
        ]
        children.append(subprocess.Popen(command, env=env))
        print(f"{name}: http://localhost:{port} (MODEL_DIR={base / name})", flush=True)

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    waiting = _awaited()
    while all(child.poll() is None for child in children):
        _announce_ready(waiting)
        time.sleep(0.5)
    stop()
    codes = [child.wait() for child in children]
    return max(abs(code) for code in codes) if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())
