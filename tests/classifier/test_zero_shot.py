"""Zero-shot predictions before any annotation, from each choice's own words, on real BBC News."""

from __future__ import annotations

from pathlib import Path

import pytest

from bert_classifier.light.zero_shot import why_not
from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import ConfigurationError
from tests.support import bbc_news

CODED = bbc_news.LABEL_CONFIG
for _letter, _label in zip("ABCDE", bbc_news.LABELS, strict=True):
    CODED = CODED.replace(f'value="{_label}"', f'value="{_letter}"')


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def make(context: BackendContext, config: str, **settings) -> BertClassifier:
    hf = HFSettings(max_length=128, **settings)
    return BertClassifier(project_id="1", label_config=config, context=context, hf_settings=hf)


def test_a_fresh_project_predicts_bbc_topics_from_the_choice_names_with_honest_scores(context) -> None:
    pairs = bbc_news.articles(per_label=4, skip=300, max_words=64)
    # Every prediction shown (PREDICTION_MIN_SCORE=0): this checks the scores themselves.
    model = make(context, bbc_news.LABEL_CONFIG, prediction_min_score=0.0)
    response = model.predict([{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(pairs)])
    items = response.serialize()
    assert response.model_version.startswith("zero-shot-")
    predicted = [item["result"][0]["value"]["choices"][0] for item in items]
    accuracy = sum(p == label for p, (_, label) in zip(predicted, pairs, strict=True)) / len(pairs)
    assert accuracy >= 0.6, list(zip(predicted, [label for _, label in pairs], strict=True))
    scores = [item["score"] for item in items]
    assert all(0.2 < score < 1.0 for score in scores)  # a probability over 5 topics, never certainty
    assert sum(scores) / len(scores) < 0.9


def test_choices_named_by_codes_get_no_zero_shot_unless_forced(context) -> None:
    model = make(context, CODED)
    assert model.model_version == "0.0.1"
    [item] = model.predict([{"id": 1, "data": {"text": "Shares fell sharply on Wall Street."}}]).serialize()
    assert item["result"] == []
    assert "codes" in model.light_layers.zero_shot_reason(model.controls()[0])
    forced = make(context, CODED, zero_shot="on", prediction_min_score=0.0)  # near chance: low scores
    assert forced.model_version.startswith("zero-shot-")
    [item] = forced.predict([{"id": 1, "data": {"text": "Shares fell sharply on Wall Street."}}]).serialize()
    assert item["result"][0]["value"]["choices"][0] in "ABCDE"


def test_the_zero_shot_version_follows_the_labels_and_their_hints(context) -> None:
    # The project's texts, which show that topic words separate them (bert_classifier.light.abstain).
    articles = bbc_news.articles(per_label=4, skip=300, max_words=64)
    make(context, bbc_news.LABEL_CONFIG).predict(
        [{"id": i, "data": {"text": t}} for i, (t, _) in enumerate(articles)]
    )
    plain = make(context, bbc_news.LABEL_CONFIG).model_version
    hint = 'value="tech" hint="computers and the internet"/>'
    hinted = bbc_news.LABEL_CONFIG.replace('value="tech"/>', hint)
    assert make(context, hinted).model_version not in {plain, "0.0.1"}
    assert make(context, bbc_news.LABEL_CONFIG, zero_shot="off").model_version == "0.0.1"


def test_zero_shot_is_off_for_multi_label_choices_and_for_a_model_that_is_not_a_sentence_encoder(
    context,
) -> None:
    multiple = bbc_news.LABEL_CONFIG.replace('choice="single"', 'choice="multiple"')
    assert make(context, multiple).model_version == "0.0.1"
    control = make(context, bbc_news.LABEL_CONFIG).controls()[0]
    assert "not a sentence encoder" in why_not(control, sentence_model=False, mode="auto")
    assert why_not(control, sentence_model=True, mode="auto") is None


def test_zero_shot_and_instant_learning_settings_are_validated_at_start_up() -> None:
    env = {"ZERO_SHOT": "ON", "INSTANT_LEARNING": "false", "EMBEDDING_CACHE_SIZE": "5"}
    settings = HFSettings.from_env(env)
    assert (settings.zero_shot, settings.instant_learning, settings.embedding_cache_size) == ("on", False, 5)
    with pytest.raises(ConfigurationError, match="ZERO_SHOT must be auto, on or off"):
        HFSettings.from_env({"ZERO_SHOT": "maybe"})
    with pytest.raises(ConfigurationError, match="INSTANT_LEARNING"):
        HFSettings.from_env({"INSTANT_LEARNING": "sometimes"})
