"""An ML backend started the way a user starts it: ``label-studio-ml start DIR`` (real gunicorn)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import ManagedProcess, every_worker_healthy, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BERT_CLASSIFIER_DIR = REPO_ROOT / "bert_classifier"
HUGGINGFACE_NER_DIR = REPO_ROOT / "huggingface_ner"


def cli_path() -> Path:
    """The ``label-studio-ml`` console script of the interpreter running the tests."""
    return Path(sys.executable).parent / "label-studio-ml"


def cli_argv(backend_dir: Path, port: int, workers: int = 2, host: str = "127.0.0.1") -> list[str]:
    """``label-studio-ml start DIR --host H --port P --workers N``."""
    return [
        str(cli_path()), "start", str(backend_dir),
        "--host", host, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


@dataclass
class BackendServer:
    """One backend process (its gunicorn master and workers share a process group).

    ``command`` replaces the CLI (a stand-in server for testing the harness itself); ``env`` adds to
    or overrides the environment built here (MODEL_DIR, LOG_LEVEL, offline Hugging Face, basic auth).
    """

    backend_dir: Path
    model_dir: Path
    port: int = field(default_factory=free_port)
    workers: int = 2
    env: Mapping[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    command: Sequence[str] | None = None
    startup_timeout_s: float = 180.0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """The URL Label Studio connects to."""
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        """The command line that starts the backend."""
        if self.command is not None:
            return [part.format(port=self.port) for part in self.command]
        return cli_argv(self.backend_dir, self.port, self.workers)

    def environment(self) -> dict[str, str]:
        """The backend's environment: the test interpreter's, plus what makes it hermetic."""
        env = dict(os.environ)
        for name in ("BASIC_AUTH_USER", "BASIC_AUTH_PASS", "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
            env.pop(name, None)  # a developer's own settings must not leak into the test backend
        env.update(
            {
                "MODEL_DIR": str(self.model_dir),
                "LOG_LEVEL": "INFO",
                "HF_HUB_OFFLINE": "1",  # tests never reach the Hugging Face hub
                "TRANSFORMERS_OFFLINE": "1",
                # A proxy in the developer's shell would swallow calls back to Label Studio on loopback.
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.basic_auth is not None:
            env["BASIC_AUTH_USER"], env["BASIC_AUTH_PASS"] = self.basic_auth
        env.update(self.env)
        return env

    def start(self) -> float:
        """Start and wait until ``/health`` answers 200; returns the seconds that took."""
        self.model_dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            f"backend {self.backend_dir.name}", self.argv(), self.environment(), self.log_path
        )
        began = time.monotonic()
        self.process.start()
        try:
            self.process.wait_until(
                lambda: every_worker_healthy(self.url, self.workers, self.basic_auth),
                self.startup_timeout_s,
                "healthy",
            )
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - began

    def stop(self) -> None:
        """Stop master and workers (idempotent)."""
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> float:
        """Stop and start again on the same port with the same MODEL_DIR."""
        self.stop()
        return self.start()

    @property
    def log_path(self) -> Path:
        """Where the backend's output goes, kept after stop (for failure messages)."""
        return self.model_dir.parent / f"backend-{self.backend_dir.name}-{self.port}.log"


# The type of the ``start_backend`` fixture: ``start_backend(backend_dir, **options) -> BackendServer``.
StartBackend = Callable[..., BackendServer]
