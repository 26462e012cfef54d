"""Multi-label scores after few labels are honest: a label seen on the only annotated text does not
score 1.0 on every text (``bert_classifier.light.logistic.PRIOR_TEXTS``); measured on CoNLL in
``bench/multilabel_calibration.py``."""

from __future__ import annotations

import numpy as np

from bert_classifier.light.instant_head import fit_head

LABELS = ("Toxic", "Insult", "Threat", "Obscene")


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, 384))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_one_annotation_does_not_make_its_labels_certain_everywhere() -> None:
    fit = fit_head(unit_rows(1, 0), [frozenset({"Toxic", "Insult"})], LABELS, multiple=True, prior=None)
    scores = fit.head.probabilities(unit_rows(50, 1))  # texts unlike the annotated one
    assert scores.max() < 0.8, scores.max()
    assert fit.head.probabilities(unit_rows(1, 0))[0, :2].min() > scores[:, :2].mean()  # it still learned


def test_with_twenty_labels_the_data_decides() -> None:
    toxic = np.arange(40) % 2 == 0
    rows = unit_rows(40, 2) + np.where(toxic[:, None], 1.0, -1.0) * unit_rows(1, 3)  # two clusters
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    targets = [frozenset({"Toxic"}) if flag else frozenset() for flag in toxic]
    fit = fit_head(rows[:20], targets[:20], LABELS, multiple=True, prior=None)
    decided = fit.head.probabilities(rows[20:])[:, 0] >= 0.5
    assert (decided == toxic[20:]).all()
