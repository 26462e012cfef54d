"""Start-up (``prepare``, ``warm_up``) and a first ``/predict`` build nothing for a project never trained."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from hf_text.runtime import backends, loader
from hf_text.runtime.backends import open_onnx
from hf_text.runtime.head_loading import load_head
from hf_text.training.onnx_export import export_fp32, quantize_int8
from huggingface_ner import HuggingFaceNER
from tests.conftest import load_fixture
from tests.hf_text.test_inference_backends import NER_CONFIG, TINY


def _record_calls(monkeypatch: pytest.MonkeyPatch, function: Any, calls: list[str]) -> None:
    """Record each call of ``function`` (then make it) from every backend module that imported it."""

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(function.__name__)
        return function(*args, **kwargs)

    # By file, not by name: every module of the two packages that holds the function.
    packages = [Path(backends.__file__).parents[2] / name for name in ("hf_text", "huggingface_ner")]
    for module in list(sys.modules.values()):
        if any(Path(getattr(module, "__file__", None) or "/").is_relative_to(root) for root in packages):
            for name, value in list(vars(module).items()):
                if value is function:
                    monkeypatch.setattr(module, name, recording)


def test_start_up_builds_nothing_for_a_project_before_its_first_training(make_context, monkeypatch) -> None:
    # Recorded, not refused: start-up logs a model it cannot load and goes on, and publishing
    # falls back to torch when an ONNX export raises.
    calls: list[str] = []
    for function in (load_head, loader.load_for_inference, open_onnx, export_fp32, quantize_int8):
        _record_calls(monkeypatch, function, calls)
    loader.clear_cache()
    model = HuggingFaceNER(project_id="9", label_config=NER_CONFIG, context=make_context(), hf_settings=TINY)
    assert model.context.state.projects() == ["9"]  # the warm-up goes through this project
    HuggingFaceNER.prepare(model.context)
    HuggingFaceNER.warm_up(model.context)
    predictions = model.predict(load_fixture("ner_predict.json")["tasks"]).serialize()
    results = [item["result"] for item in predictions]
    assert results and all(result == [] for result in results)
    assert calls == [] and not model.store.root.exists()
