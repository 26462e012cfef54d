"""The NER backend learns real entities: CoNLL-2003 sentences through ``fit`` and ``predict``.

Only ``labeled_tasks`` is replaced (by Label Studio-shaped tasks built from CoNLL tokens); the
rest is the production path: annotation choice, UTF-16 → code points, alignment, windows, the
HF Trainer, the versioned store, inference and UTF-16 regions. Default hyper-parameters
(learning rate included), except 3 epochs spelled out so the cost stays fixed.
"""

from __future__ import annotations

import time

import pytest

from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from tests.conftest import load_fixture
from tests.support.ner_conll import conll_dir, entity_f1, read_conll, sentence_spans, to_task

TRAIN_SENTENCES = 1000  # 959 distinct, all trained on
TEST_SENTENCES = 500  # from CoNLL's test file, never seen in training
# Measured (default learning rate 3e-4, 2 CPU cores) when fit still held 200 of them out: test F1
# 0.794; the learning-rate sweep's 1,000-sentence run gave 0.821. 0.70 leaves room for run-to-run
# noise and still fails on any real regression (an untrained head, misaligned labels or offsets
# give ~0).
MIN_F1 = 0.70


@pytest.mark.slow
def test_fit_on_conll_then_predict_held_out_sentences(make_context, monkeypatch):
    folder = conll_dir()
    train = [to_task(s, i) for i, s in enumerate(read_conll(folder / "train.txt")[:TRAIN_SENTENCES])]
    test = read_conll(folder / "test.txt")[:TEST_SENTENCES]
    model = HuggingFaceNER(
        project_id="3",
        label_config=load_fixture("ner_setup.json")["schema"],
        context=make_context(),
        hf_settings=HFSettings(num_train_epochs=3.0),
    )
    monkeypatch.setattr(model, "labeled_tasks", lambda: train)

    started = time.monotonic()
    metrics = model.fit("START_TRAINING", {})
    fit_seconds = time.monotonic() - started

    distinct = len({task["data"]["text"] for task in train})  # fit keeps one example per text
    assert metrics["train_size"] == distinct  # and trains on every one of them
    texts_and_spans = [sentence_spans(sentence) for sentence in test]
    started = time.monotonic()
    response = model.predict(
        [{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(texts_and_spans)]
    )
    predict_seconds = time.monotonic() - started
    predicted = [
        {(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in item["result"]}
        for item in response.serialize()
    ]
    test_f1 = entity_f1([set(spans) for _, spans in texts_and_spans], predicted)
    print(
        f"\nNER learning: fit {fit_seconds:.0f} s, "
        f"test F1 {test_f1:.3f} on {TEST_SENTENCES} sentences in {predict_seconds:.1f} s"
    )
    assert test_f1 > MIN_F1
