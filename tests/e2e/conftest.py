"""Fixtures for end-to-end tests against a real Label Studio: one server per test session, backends per
test, everything stopped by PID at teardown (also when a test fails)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.backend_server import BackendServer, StartBackend
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    """A running Label Studio 1.23.2 on 127.0.0.1 with a fresh data directory (installs it once per
    machine, ≈2 min; a fresh start with migrations takes 25-45 s)."""
    server = LabelStudioServer(data_dir=tmp_path_factory.mktemp("label-studio"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ls_user(label_studio: LabelStudioServer) -> LabelStudioUser:
    """The Label Studio user, driving the API as the UI would, with a personal access token (legacy
    tokens are off, as in a default install)."""
    return LabelStudioUser(label_studio.url, label_studio.personal_access_token())


@pytest.fixture
def legacy_tokens_on(label_studio: LabelStudioServer) -> Iterator[None]:
    """The organization's legacy API tokens switched on (as ``--enable-legacy-api-token`` would) for
    one test: the token ``/setup`` sends then reads Label Studio. Off again afterwards, as installed."""
    label_studio.set_legacy_tokens(True)
    try:
        yield
    finally:
        label_studio.set_legacy_tokens(False)


@pytest.fixture
def start_backend(tmp_path: Path) -> Iterator[StartBackend]:
    """Factory: ``start_backend(backend_dir, *, model_dir=None, env=None, basic_auth=None, workers=2,
    command=None, port=None)`` starts a backend through ``label-studio-ml start`` and waits for
    ``/health``; every backend it started is stopped when the test ends."""
    started: list[BackendServer] = []

    def start(
        backend_dir: Path,
        *,
        model_dir: Path | None = None,
        env: dict[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        workers: int = 2,
        command: list[str] | None = None,
        port: int | None = None,
    ) -> BackendServer:
        options: dict[str, Any] = {"port": port} if port is not None else {}
        server = BackendServer(
            backend_dir=Path(backend_dir),
            model_dir=model_dir or tmp_path / f"models-{Path(backend_dir).name}-{len(started)}",
            workers=workers,
            env=env or {},
            basic_auth=basic_auth,
            command=command,
            **options,
        )
        started.append(server)  # before start(): a backend that fails to come up is still stopped
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
