"""Classification metrics over label sets (single- and multi-label)."""

from __future__ import annotations

import pytest

from bert_classifier.metrics import classification_metrics


def test_metrics_on_a_known_confusion() -> None:
    truth = [frozenset({label}) for label in ["a", "a", "b", "b", "c"]]
    predicted = [frozenset({label}) for label in ["a", "b", "b", "b", "a"]]
    metrics = classification_metrics(truth, predicted, ["a", "b", "c", "unused"])
    assert metrics["accuracy"] == pytest.approx(0.6)
    # a: tp1 fp1 fn1 → 0.5; b: tp2 fp1 fn0 → 0.8; c: tp0 fn1 → 0; "unused" never occurs.
    assert metrics["per_label_f1"] == {"a": 0.5, "b": 0.8, "c": 0.0, "unused": 0.0}
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3, abs=1e-4)
    assert metrics["support"] == {"a": 2, "b": 2, "c": 1, "unused": 0}


def test_multi_label_accuracy_is_exact_set_match() -> None:
    truth = [frozenset({"a", "b"}), frozenset({"b"})]
    predicted = [frozenset({"a"}), frozenset({"b"})]
    metrics = classification_metrics(truth, predicted, ["a", "b"])
    assert metrics["accuracy"] == 0.5
    assert metrics["per_label_f1"] == {"a": 1.0, "b": pytest.approx(0.6667, abs=1e-4)}


def test_micro_f1_pools_every_label_decision() -> None:
    truth = [frozenset({"a", "b"}), frozenset({"b"}), frozenset()]
    predicted = [frozenset({"a"}), frozenset({"b", "c"}), frozenset({"c"})]
    # tp: a, b = 2; fp: c, c = 2; fn: b = 1 → 2·2 / (2·2 + 2 + 1)
    metrics = classification_metrics(truth, predicted, ["a", "b", "c"])
    assert metrics["micro_f1"] == pytest.approx(4 / 7, abs=1e-4)
    assert classification_metrics([], [], ["a"])["micro_f1"] is None
