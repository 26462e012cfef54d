"""The ridge head: closed-form fit and cross-validation, and when it replaces logistic regression."""

from __future__ import annotations

import numpy as np
import pytest

from bert_classifier.light.instant_head import RIDGE_FROM, candidate_kinds, fit_head, folds
from bert_classifier.light.ridge import fit_ridge, out_of_fold_ridge
from tests.classifier.test_instant_head import LABELS, clusters


def multi_hot(targets: list[frozenset[str]]) -> np.ndarray:
    return np.array([[float(label in target) for label in LABELS] for target in targets])


@pytest.mark.parametrize("multiple", [False, True])
def test_out_of_fold_scores_equal_one_fit_per_fold_without_the_fold(multiple: bool) -> None:
    x, targets = clusters(30, spread=2.0)
    if multiple:  # some texts have two labels, some none
        changed = {i: targets[i] | {"c"} for i in range(0, len(targets), 4)}
        changed.update({i: frozenset() for i in range(1, len(targets), 7)})
        targets = [changed.get(i, t) for i, t in enumerate(targets)]
    y = multi_hot(targets)
    parts = folds(x, 5)
    scores = out_of_fold_ridge(x, y, multiple, parts)
    for held in parts:
        rest = np.setdiff1d(np.arange(len(y)), held)
        weights, bias = fit_ridge(x[rest], y[rest], multiple)
        assert np.allclose(scores[held], x[held] @ weights.T + bias, atol=1e-9)


def test_a_fold_that_holds_every_example_of_a_label_scores_that_label_as_never_seen() -> None:
    x, targets = clusters(6)
    y = multi_hot(targets)
    only_c = [np.flatnonzero(y[:, 2] > 0)]  # held out together: the rest never saw "c"
    scores = out_of_fold_ridge(x, y, False, only_c)
    assert (scores[only_c[0]].argmax(axis=1) != 2).all()
    weights, bias = fit_ridge(x[:6], y[:6], False)  # one label seen: it always wins
    assert (weights == 0).all() and bias[0] == 0 and (bias[1:] < -1e3).all()


def test_ridge_separates_clusters_and_replaces_logistic_regression_from_ridge_from_labels() -> None:
    assert candidate_kinds(RIDGE_FROM - 1, False) == ["prototypes", "logistic"]
    assert candidate_kinds(RIDGE_FROM, False) == ["prototypes", "ridge"]
    assert candidate_kinds(RIDGE_FROM, True) == ["ridge"] and candidate_kinds(50, True) == ["logistic"]
    x, targets = clusters(RIDGE_FROM // 3 + 1, spread=1.5)
    fit = fit_head(x, targets, LABELS, False, None)
    assert set(fit.candidates) == {"prototypes", "ridge"} and fit.candidates["ridge"] > 0.9
    test, truth = clusters(50, seed=3, spread=1.5)
    probabilities = fit_head(x, targets, LABELS, False, None, ["ridge"]).head.probabilities(test)
    right = [LABELS[i] in t for i, t in zip(probabilities.argmax(axis=1), truth, strict=True)]
    assert np.mean(right) > 0.9
    assert abs(probabilities.max(axis=1).mean() - np.mean(right)) < 0.1  # calibrated, not ±1 scores
