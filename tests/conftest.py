"""Fixtures shared by the whole suite."""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.state.contract import StateStore
from label_studio_ml.state.redis_store import RedisStateStore
from label_studio_ml.state.sqlite_store import SqliteStateStore
from tests.support.redis_server import redis_server

FIXTURES = Path(__file__).parent / "fixtures"
BACKENDS = Path(__file__).parent / "backends"


def load_fixture(name: str) -> Any:
    """A real request body captured from Label Studio 1.23.2."""
    return json.loads((FIXTURES / name).read_text())


def load_keyword_model() -> type:
    """The upstream-style test model, imported from its directory under a unique name."""
    spec = importlib.util.spec_from_file_location("keyword_backend_model", BACKENDS / "keyword" / "model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.KeywordModel


def wait_healthy(client: Any, timeout: float = 30.0) -> None:
    """Poll a Flask test client's ``/health`` until it answers 200; fail loudly after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/health")
        if response.status_code == 200:
            return
        if time.monotonic() > deadline:
            status, body = response.status_code, response.get_json()
            raise AssertionError(f"/health still {status} after {timeout:.0f} s: {body}")
        time.sleep(0.01)


@pytest.fixture
def make_context(tmp_path: Path):
    """Build a ``BackendContext`` on a fresh MODEL_DIR, with settings overrides."""

    def build(**overrides: Any) -> BackendContext:
        settings = Settings(model_dir=tmp_path / "models", **overrides)
        return BackendContext.from_settings(settings)

    return build


@pytest.fixture
def keyword_app(make_context: Any) -> Any:
    """The upstream-style keyword model served by ``create_app`` (trainings only on demand), healthy."""
    from label_studio_ml.api import create_app

    app = create_app(load_keyword_model(), context=make_context(start_training_each_n_updates=0))
    wait_healthy(app.test_client())
    return app


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One real Redis server for the whole test session (each test uses its own namespace)."""
    with redis_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def state_store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    """Each implementation of the state contract in turn: the same test runs on both."""
    if request.param == "sqlite":
        return SqliteStateStore(tmp_path / "state.sqlite3")
    return RedisStateStore(request.getfixturevalue("redis_url"), f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def model_families(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Tiny random models of each tokenizer family, each built on first use (``tests.support.families``)."""
    from tests.support.families.build import FamilyModels

    return FamilyModels(tmp_path_factory.mktemp("families"))
