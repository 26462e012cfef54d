"""The classifier learns real topics: BBC News, the embedded model, the real ``fit`` code path.

200 labeled tasks (40 per topic; headline and first words of each article) train the embedded
MiniLM through ``BertClassifier.fit``; Label Studio is replaced only by the instance's
``labeled_tasks``. 200 other articles are then predicted through ``predict``.

Measured on the 2-core CPU machine (seed 42), when fit still held 40 of the 200 out for
validation: held-out macro-F1 0.893 (accuracy 0.895); fit 22 s on an idle machine, 160 s with
the cores shared by three other jobs. Chance is 0.2. The threshold leaves 0.09 for numeric
differences across machines (BLAS, GPU) while still failing a model that learned little.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bert_classifier.metrics import classification_metrics
from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support.bbc_news import LABEL_CONFIG, LABELS, articles, to_task

WORDS = 40
# Every decision is scored, however sure (PREDICTION_MIN_SCORE only hides unsure ones from annotators).
TRAINING = dict(num_train_epochs=3.0, max_length=64, window_stride=16, learning_rate=1e-4, batch_size=16,
                prediction_min_score=0.0)  # fmt: skip
#: Measured 0.893 with these settings (module docstring).
THRESHOLD = 0.80


@pytest.mark.slow
def test_fit_on_bbc_news_then_predict_held_out_articles(tmp_path: Path) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    model = BertClassifier(
        project_id="42", label_config=LABEL_CONFIG, context=context, hf_settings=HFSettings(**TRAINING)
    )
    train = articles(per_label=40, skip=0, max_words=WORDS)
    held_out = articles(per_label=40, skip=100, max_words=WORDS)
    model.labeled_tasks = lambda: [to_task(text, label, index) for index, (text, label) in enumerate(train)]

    started = time.monotonic()
    metrics = model.fit("START_TRAINING", {})
    fit_seconds = time.monotonic() - started
    # BBC News repeats a few articles; each distinct text is one example, and all of them train.
    assert metrics["train_size"] == len({text for text, _ in train})

    served = BertClassifier(
        project_id="42", label_config=LABEL_CONFIG, context=context, hf_settings=HFSettings(**TRAINING)
    )
    assert served.model_version == metrics["model_version"]
    items = served.predict(
        [{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(held_out)]
    ).serialize()
    predicted = [frozenset(item["result"][0]["value"]["choices"]) for item in items]
    report = classification_metrics([frozenset({label}) for _, label in held_out], predicted, list(LABELS))
    print(f"BBC held-out macro-F1 {report['macro_f1']} accuracy {report['accuracy']} fit {fit_seconds:.0f}s")
    assert report["macro_f1"] >= THRESHOLD, report
