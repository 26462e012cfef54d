"""A head published before position limits were known (its recorded ``max_length`` beyond the model's
position table) still reads a long text in windows its model can hold, without a retraining."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bert_classifier.model import BertClassifier
from huggingface_ner import HuggingFaceNER
from tests.classifier.test_fit import CONFIG as MOOD_CONFIG
from tests.classifier.test_fit import annotation, mood_tasks
from tests.hf_text.test_inference_backends import NER_CONFIG, _ner_tasks
from tests.hf_text.test_model_families_runtime import LONG, _fit, _predict_long, roberta
from tests.ner.test_model import _task as ner_task

__all__ = ["roberta"]  # the fixture: a RoBERTa whose position table holds 32 tokens


@pytest.mark.parametrize("model_class, config", [(BertClassifier, MOOD_CONFIG), (HuggingFaceNER, NER_CONFIG)])
def test_a_head_that_recorded_too_long_a_window_is_read_within_its_positions(
    roberta: Path, tmp_path: Path, model_class: type, config: str
) -> None:
    if model_class is BertClassifier:
        long = {"id": 99, "data": {"text": LONG}, "annotations": [annotation(99, ["sad"])]}
        tasks = [*mood_tasks()[::3], long]
    else:
        tasks = [*_ner_tasks(), ner_task(99, LONG, ("Angela Merkel", "PER"), ("Berlin", "LOC"))]
    model = _fit(model_class, config, tasks, roberta, tmp_path)
    meta_file = model.store.root / model.model_version / "meta.json"
    meta = json.loads(meta_file.read_text())
    assert meta["heads"][0]["max_length"] == 32
    meta["heads"][0]["max_length"] = 64  # as published before: past the 32 usable positions
    meta_file.write_text(json.dumps(meta))
    assert _predict_long(model, "torch")
