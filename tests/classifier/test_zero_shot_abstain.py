"""Before any label, zero-shot pre-fills a choice only where the label words separate the project's
own texts (BBC News topics), and stays silent where they do not (tweet sentiment); a prediction
scored below ``PREDICTION_MIN_SCORE`` has an empty result. Real texts, the embedded MiniLM, the
model's own ``predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bert_classifier.light import abstain
from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.server.status import SERVED_KEY
from tests.support import bbc_news, tweets


@pytest.fixture(scope="module")
def bbc() -> list[tuple[str, str]]:
    return bbc_news.articles(per_label=10, skip=300, max_words=64)  # 50 articles


@pytest.fixture(scope="module")
def sentiment() -> list[tuple[str, str]]:
    return tweets.split(20)[1]  # 60 tweets


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def make(context: BackendContext, config: str, **settings: Any) -> BertClassifier:
    hf = HFSettings(max_length=128, **settings)
    return BertClassifier(project_id="1", label_config=config, context=context, hf_settings=hf)


def as_tasks(pairs: list[tuple[str, str]], first_id: int = 0) -> list[dict[str, Any]]:
    return [{"id": first_id + i, "data": {"text": text}} for i, (text, _) in enumerate(pairs)]


def chosen(items: list[dict[str, Any]]) -> list[str | None]:
    return [item["result"][0]["value"]["choices"][0] if item["result"] else None for item in items]


def test_zero_shot_serves_bbc_topics_whose_words_separate_the_projects_texts(context, bbc) -> None:
    model = make(context, bbc_news.LABEL_CONFIG)
    response = model.predict(as_tasks(bbc))  # "Retrieve predictions": every task at once
    items = response.serialize()
    assert response.model_version.startswith("zero-shot-") and model.model_version == response.model_version
    answers = [(p, label) for p, (_, label) in zip(chosen(items), bbc, strict=True) if p is not None]
    assert len(answers) >= 0.8 * len(bbc)
    assert sum(p == label for p, label in answers) >= 0.75 * len(answers)
    served = model.get(SERVED_KEY)
    assert served["layer"] == "zero-shot" and served["zero_shot"] == {"topic": "on"}
    measured = served["zero_shot_separation"]["topic"]
    assert measured["serves"] and measured["texts"] == 50
    assert measured["margin"] >= abstain.MIN_MARGIN and measured["agreement"] >= abstain.MIN_AGREEMENT


def test_zero_shot_abstains_on_tweet_sentiment_with_one_empty_prediction_per_task(context, sentiment) -> None:
    model = make(context, tweets.LABEL_CONFIG)
    items = model.predict(as_tasks(sentiment)).serialize()
    assert len(items) == len(sentiment) and all(item["result"] == [] for item in items)
    assert not model.model_version.startswith("zero-shot-")
    served = model.get(SERVED_KEY)
    assert served["layer"] == "none" and served["model_version"] is None
    why = served["zero_shot"]["sentiment"]
    assert "label words do not separate this project's texts" in why and "over 50 texts" in why, why
    assert served["zero_shot_separation"]["sentiment"]["serves"] is False
    # The config alone does not rule zero-shot out: its words are words, not codes.
    assert model.light_layers.zero_shot_reason(model.controls()[0]) is None
    # ZERO_SHOT=on forces it, as it does for codes.
    forced = make(context, tweets.LABEL_CONFIG, zero_shot="on", prediction_min_score=0.0)
    assert all(item["result"] for item in forced.predict(as_tasks(sentiment)).serialize())


def test_the_first_task_alone_stays_silent_until_enough_of_the_projects_texts_are_known(context, bbc) -> None:
    model = make(context, bbc_news.LABEL_CONFIG)
    [first] = model.predict(as_tasks(bbc[:1])).serialize()
    assert first["result"] == [] and not model.model_version.startswith("zero-shot-")
    assert "too few of this project's texts" in model.get(SERVED_KEY)["zero_shot"]["topic"]
    # Tasks opened one at a time: from MIN_TEXTS known texts zero-shot decides (and serves BBC).
    for index in range(1, abstain.MIN_TEXTS):
        model.predict(as_tasks(bbc[index : index + 1], first_id=index))
    assert model.model_version.startswith("zero-shot-")
    assert model.get(SERVED_KEY)["zero_shot_separation"]["topic"]["texts"] == abstain.MIN_TEXTS


def test_the_decision_is_measured_once_per_sample_of_texts_not_per_request(context, bbc, monkeypatch) -> None:
    measure, calls = abstain.measure, []
    monkeypatch.setattr(abstain, "measure", lambda *args: calls.append(len(args[1])) or measure(*args))
    model = make(context, bbc_news.LABEL_CONFIG)
    model.predict(as_tasks(bbc))
    for index in range(5):  # tasks already known: no new text, no new measurement
        model.predict(as_tasks(bbc[index : index + 1], first_id=index))
    assert calls == [50] and model.model_version.startswith("zero-shot-")


def test_a_prediction_scored_below_prediction_min_score_has_an_empty_result(context, bbc) -> None:
    every = make(context, bbc_news.LABEL_CONFIG, prediction_min_score=0.0).predict(as_tasks(bbc))
    shown = every.serialize()
    assert all(item["result"] for item in shown)
    strict = make(context, bbc_news.LABEL_CONFIG, prediction_min_score=0.6).predict(as_tasks(bbc))
    kept = strict.serialize()
    assert [item["score"] for item in kept] == [item["score"] for item in shown]  # scores still reported
    for before, after in zip(shown, kept, strict=True):
        assert (after["result"] == before["result"]) if before["score"] >= 0.6 else (after["result"] == [])
    assert any(item["score"] < 0.6 for item in shown) and any(item["score"] >= 0.6 for item in shown)


def test_prediction_min_score_is_validated_at_start_up() -> None:
    assert HFSettings.from_env({}).prediction_min_score == 0.4
    assert HFSettings.from_env({"PREDICTION_MIN_SCORE": "0"}).prediction_min_score == 0.0
    assert HFSettings.from_env({"PREDICTION_MIN_SCORE": "0.75"}).prediction_min_score == 0.75
    for wrong in ("1.5", "-0.1", "high"):
        with pytest.raises(ConfigurationError, match="PREDICTION_MIN_SCORE"):
            HFSettings.from_env({"PREDICTION_MIN_SCORE": wrong})
