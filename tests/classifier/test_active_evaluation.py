"""Under active learning the layers are compared on an honest sample (``learning.active.random_slice``).

Tasks handed out for being uncertain are where the instant head is wrong most: compared on them, a
challenger (zero-shot, a fine-tuned version) looks better than it is. So the duels count only the
labels of the random slice and those made before the first round, and ``/metrics`` says so.
"""

from __future__ import annotations

import time
from pathlib import Path

from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.learning.active.random_slice import RANDOM_EVERY, random_pick, trusted
from label_studio_ml.learning.active.rounds import ACTIVE_KEY
from label_studio_ml.learning.active.selection import scored_tasks
from label_studio_ml.server.status import SERVED_KEY
from tests.classifier.test_instant import bbc_event
from tests.support import bbc_news


def duel_labels(model: BertClassifier) -> tuple[int, str]:
    served = model.get(SERVED_KEY)
    return served["duels"]["zero-shot"]["labels"], served["duels_on"]


def test_duels_count_only_the_random_slice_and_the_labels_before_active_learning(tmp_path: Path) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    model = BertClassifier(project_id="1", label_config=bbc_news.LABEL_CONFIG, context=context,
                           hf_settings=HFSettings(max_length=64))  # fmt: skip
    model.labeled_tasks = list  # Label Studio has nothing more to say
    articles = bbc_news.articles(per_label=3, max_words=64)
    events = [("ANNOTATION_CREATED", bbc_event(i, text, label)) for i, (text, label) in enumerate(articles)]
    model.learn_instantly_many(events[:6])
    assert duel_labels(model) == (6, "all labels")

    model.set(ACTIVE_KEY, {"started_at": time.time(), "random_slice": [7]})  # the first round
    model.learn_instantly_many(events[6:10])  # tasks 6-9: 7 was handed out at random
    assert duel_labels(model) == (7, "active learning's random slice and earlier labels")


def test_one_round_in_ten_hands_out_a_random_task_the_same_on_every_replica() -> None:
    tasks = [{"id": i, "data": {}} for i in range(50)]
    scored = scored_tasks(tasks, [{"score": i / 50} for i in range(50)])
    picks = [random_pick("3.1700000000", n, scored) for n in range(1, 3 * RANDOM_EVERY + 1)]
    assert [n for n, pick in enumerate(picks, start=1) if pick] == [10, 20, 30]
    assert picks[9] == random_pick("3.1700000000", 10, scored)
    assert len({pick.task_id for pick in picks if pick}) > 1  # drawn, not the lowest every time
    honest = trusted({"started_at": 100.0, "random_slice": [4]})
    assert honest is not None and honest(9, 99.0) and honest(4, 150.0) and not honest(9, 150.0)
    assert trusted({}) is None and trusted(None) is None
