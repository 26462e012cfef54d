"""The prototype head's closed-form leave-one-out equals refitting it without each example."""

from __future__ import annotations

import numpy as np
import pytest

from bert_classifier.light.prototypes import REFINED_SHRINK, SHRINK, fit_prototypes, leave_one_out_logits


def refit_without_each(
    x: np.ndarray, y: np.ndarray, prior: np.ndarray | None, shrink: float = SHRINK
) -> np.ndarray:
    """The definition: one fit per example, on all the others."""
    logits = np.zeros(y.shape)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        weights, bias = fit_prototypes(x[keep], y[keep], prior, shrink)
        logits[i] = x[i] @ weights.T + bias
    return logits


def unit_rows(rng: np.random.Generator, rows: int, columns: int = 16) -> np.ndarray:
    x = rng.normal(size=(rows, columns))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("with_prior", [True, False])
@pytest.mark.parametrize("multiple", [False, True])
def test_leave_one_out_in_closed_form_equals_one_refit_per_example(with_prior: bool, multiple: bool) -> None:
    rng = np.random.default_rng(3)
    x = unit_rows(rng, 23).astype(np.float32)
    # single-label: label 3 is never annotated
    y = (rng.random((23, 4)) < 0.4).astype(float) if multiple else np.eye(4)[rng.integers(0, 3, size=23)]
    y[0] = 0.0
    y[0, 2] = 1.0
    y[1:, 2] = 0.0  # label 2 has one example: left out, it is unseen again
    prior = unit_rows(rng, 4) if with_prior else None
    np.testing.assert_allclose(leave_one_out_logits(x, y, prior), refit_without_each(x, y, prior), atol=1e-8)
    refined = leave_one_out_logits(x, y, prior, REFINED_SHRINK)  # a refined prior trusts examples less
    np.testing.assert_allclose(refined, refit_without_each(x, y, prior, REFINED_SHRINK), atol=1e-8)


def test_two_examples_of_one_label_leave_it_seen_once_each() -> None:
    x = unit_rows(np.random.default_rng(5), 3)
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(leave_one_out_logits(x, y, None), refit_without_each(x, y, None), atol=1e-8)
