"""A text's NER score (what active learning orders by, lowest first): how sure the model is of its
least sure word, a word the span dictionary names counting as certain (bench/ner_uncertainty.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_text.runtime.serving import ServingHead
from huggingface_ner import HuggingFaceNER
from huggingface_ner.bio import Span, WordTag, decode_spans, text_score
from huggingface_ner.labels import Tag
from huggingface_ner.propagation import Propagator
from tests.support.ner_conll import LABEL_CONFIG

# "Rain in Paris today": the model is unsure of "Paris" (tagged O at 0.35), sure of the rest.
TEXT = "Rain in Paris today"
WORDS = [
    WordTag(0, 4, Tag(None), 0.99),
    WordTag(5, 7, Tag(None), 0.98),
    WordTag(8, 13, Tag(None), 0.35),
    WordTag(14, 19, Tag(None), 0.97),
]


def test_the_score_is_the_least_sure_word_not_the_mean_of_the_spans() -> None:
    words = [
        WordTag(0, 3, Tag("PER", True), 0.9),
        WordTag(4, 7, Tag("PER"), 0.5),
        WordTag(8, 10, Tag(None), 0.4),  # an O the model doubts makes the text uncertain too
    ]
    assert text_score(decode_spans(words), words) == pytest.approx(0.4)


def test_a_word_inside_a_propagated_span_counts_as_certain() -> None:
    propagated = [Span(8, 13, "LOC", 0.6)]
    assert text_score(propagated, WORDS, certain=propagated) == pytest.approx(0.97)
    assert text_score([], WORDS) == pytest.approx(0.35)


def test_without_a_model_the_dictionary_spans_mean_score_is_kept() -> None:
    assert text_score([Span(0, 4, "LOC", 0.5), Span(8, 13, "LOC", 1.0)], []) == pytest.approx(0.75)
    assert text_score([], []) == 0.0


def test_served_combined_with_the_dictionary_a_known_name_is_certain(make_context, monkeypatch) -> None:
    model = HuggingFaceNER(project_id="1", label_config=LABEL_CONFIG, context=make_context())
    control = model.controls()[0]
    monkeypatch.setattr(model, "load_serving", lambda serving, version: None)
    monkeypatch.setattr(model.task, "predict_spans", lambda loaded, texts, control, head: [([], WORDS)])
    serving = ServingHead(control, {}, Path("."))
    layer = model.propagation

    [(regions, score)] = layer.combined([TEXT], control, serving, "v1", Propagator([("Paris", "LOC", 1.0)]))
    assert [region["value"]["labels"] for region in regions] == [["LOC"]]
    assert score == pytest.approx(0.97)
    [(regions, score)] = layer.combined([TEXT], control, serving, "v1", None)
    assert regions == [] and score == pytest.approx(0.35)
