"""The instant head on synthetic embeddings: prototypes, logistic regression, calibration, storage
(the ridge head: ``tests/classifier/test_ridge.py``)."""

from __future__ import annotations

import numpy as np

from bert_classifier.light.instant_head import LightHead, fit_head

LABELS = ("a", "b", "c")


def clusters(per_label: int, seed: int = 0, spread: float = 0.6) -> tuple[np.ndarray, list[frozenset[str]]]:
    """Unit vectors around three orthogonal centres, ``per_label`` each."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 16)
    rows, targets = [], []
    for index, label in enumerate(LABELS):
        points = centres[index] + spread * rng.standard_normal((per_label, 16)) / 4
        rows.append(points / np.linalg.norm(points, axis=1, keepdims=True))
        targets += [frozenset({label})] * per_label
    return np.concatenate(rows), targets


def test_a_label_nobody_annotated_yet_is_predicted_from_its_description_prior() -> None:
    x, targets = clusters(4)
    prior = np.eye(3, 16)
    only_ab = [i for i, t in enumerate(targets) if "c" not in t]
    fit = fit_head(x[only_ab], [targets[i] for i in only_ab], LABELS, False, prior)
    assert fit.head.kind == "prototypes"
    assert LABELS[int(fit.head.probabilities(np.eye(3, 16)[2:3]).argmax())] == "c"
    without_prior = fit_head(x[only_ab], [targets[i] for i in only_ab], LABELS, False, None)
    assert LABELS[int(without_prior.head.probabilities(np.eye(3, 16)[2:3]).argmax())] != "c"


def test_cross_validation_scores_held_out_examples_and_keeps_the_better_candidate() -> None:
    assert set(fit_head(*clusters(20), LABELS, False, None).candidates) == {"prototypes"}  # too few for LR
    x, targets = clusters(40)
    fit = fit_head(x, targets, LABELS, False, None)
    assert fit.accuracy > 0.9 and set(fit.candidates) == {"prototypes", "logistic"}
    assert fit.accuracy == fit.candidates[fit.head.kind] and len(fit.held_out) == len(targets)
    test, truth = clusters(20, seed=1)
    predicted = [LABELS[i] for i in fit.head.probabilities(test).argmax(axis=1)]
    assert np.mean([p in t for p, t in zip(predicted, truth, strict=True)]) > 0.9


def test_scores_are_calibrated_confidences_low_on_noise_high_on_clear_clusters() -> None:
    clear_x, clear_t = clusters(20, spread=0.3)
    noisy_x, noisy_t = clusters(20, spread=6.0)
    clear = fit_head(clear_x, clear_t, LABELS, False, None)
    noisy = fit_head(noisy_x, noisy_t, LABELS, False, None)
    clear_confidence = clear.head.probabilities(clusters(20, seed=2, spread=0.3)[0]).max(axis=1).mean()
    noisy_confidence = noisy.head.probabilities(clusters(20, seed=2, spread=6.0)[0]).max(axis=1).mean()
    assert clear_confidence > 0.8
    assert noisy_confidence < clear_confidence - 0.2
    assert abs(noisy_confidence - noisy.accuracy) < 0.25  # near its held-out accuracy, not near 1


def test_multi_label_heads_are_one_sigmoid_per_label_and_an_empty_set_is_learned() -> None:
    x, _ = clusters(10)
    targets = [frozenset({"a", "b"})] * 10 + [frozenset({"b"})] * 10 + [frozenset()] * 10
    fit = fit_head(x, targets, LABELS, True, None)
    assert fit.head.kind == "logistic" and fit.head.multiple
    probabilities = fit.head.probabilities(np.eye(3, 16))
    assert probabilities[0, 0] > 0.5 and probabilities[0, 1] > 0.5 and (probabilities[2] < 0.5).all()


def test_a_head_survives_a_round_trip_through_its_file() -> None:
    x, targets = clusters(5)
    head = fit_head(x, targets, LABELS, False, None).head
    again = LightHead.from_bytes(head.to_bytes())
    assert again.labels == LABELS and again.kind == head.kind and again.temperature == head.temperature
    assert np.allclose(again.probabilities(x), head.probabilities(x))
