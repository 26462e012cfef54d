"""Fixtures shared by the whole suite."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import pytest

from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext

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
