"""Validation split rule and classification metrics."""

from __future__ import annotations

from collections import Counter

import pytest

from hf_text.metrics import classification_metrics
from hf_text.split import train_validation_split


def test_no_validation_below_the_minimum() -> None:
    items = list(range(19))
    assert train_validation_split(items, lambda item: item % 2, min_examples=20, seed=1) == (items, [])


def test_the_split_is_stratified_seeded_and_keeps_singletons_for_training() -> None:
    items = [("a", i) for i in range(50)] + [("b", i) for i in range(10)] + [("rare", 0)]
    train, validation = train_validation_split(items, lambda item: item[0], min_examples=20, seed=3)
    assert Counter(label for label, _ in validation) == {"a": 10, "b": 2}
    assert ("rare", 0) in train
    assert sorted(train + validation) == sorted(items)
    assert train_validation_split(items, lambda item: item[0], 20, seed=3) == (train, validation)


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
