"""Zero-shot refined on the project's own texts: recovers clusters it only roughly named, refuses to
relabel texts whose clusters are not its labels, and seeds ``fit_head``'s prototypes."""

from __future__ import annotations

import numpy as np

from bert_classifier.light.instant_head import fit_head, target_matrix
from bert_classifier.light.prototypes import REFINED_SHRINK, fit_prototypes
from bert_classifier.light.transductive import MIN_TEXTS, drifted, refine, refined_prior

LABELS = ("a", "b", "c")
DIMENSION = 24


def project(per_label: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit texts around three orthogonal centres (dimensions 0-2), noise elsewhere; their labels."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per_label)
    texts = np.eye(3, DIMENSION)[labels] + 0.35 * rng.standard_normal((len(labels), DIMENSION))
    return texts / np.linalg.norm(texts, axis=1, keepdims=True), labels


def rough_prior() -> np.ndarray:
    """Label names that point near their cluster but lean towards the next one: zero-shot is weak."""
    centres = np.eye(3, DIMENSION)
    prior = centres + 0.75 * np.roll(centres, 1, axis=0) + 0.3 * np.eye(3, DIMENSION, k=5)
    return prior / np.linalg.norm(prior, axis=1, keepdims=True)


def accuracy(directions: np.ndarray, texts: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((texts @ directions.T).argmax(axis=1) == labels))


def test_refining_on_the_project_texts_finds_the_clusters_zero_shot_only_roughly_named() -> None:
    texts, labels = project(100)
    prior = rough_prior()
    refined = refine(prior, texts)
    assert accuracy(prior, texts, labels) < 0.8
    assert accuracy(refined, texts, labels) > 0.95
    assert not drifted(refined, prior, texts)


def test_a_refinement_that_relabels_the_texts_is_refused() -> None:
    texts, _ = project(100)
    # Names that cut across the clusters (the texts group by something else, as tweets by topic
    # where the labels are sentiments): the refinement reassigns most texts, it does not refine.
    across = np.eye(3, DIMENSION, k=3) + 0.2 * np.ones((3, DIMENSION)) / DIMENSION
    refined = refine(across, texts)
    assert drifted(refined, across, texts)
    assert refined_prior(across, texts) is None and refined_prior(None, texts) is None


def test_fit_head_seeds_its_prototypes_with_the_refinement_from_the_first_label_given_enough_texts() -> None:
    texts, _ = project(100)
    test, truth = project(50, seed=1)
    prior = rough_prior()
    one = [frozenset({"a"})]
    fit = fit_head(texts[:1], one, LABELS, False, prior, texts=texts)
    assert fit.head.kind == "prototypes" and fit.refined
    assert np.mean(fit.head.probabilities(test).argmax(axis=1) == truth) > 0.9
    without = fit_head(texts[:1], one, LABELS, False, prior)
    assert not without.refined and np.mean(without.head.probabilities(test).argmax(axis=1) == truth) < 0.8
    assert not fit_head(texts[:1], one, LABELS, False, prior, texts=texts[: MIN_TEXTS - 1]).refined
    assert not fit_head(texts[:1], one, LABELS, True, prior, texts=texts).refined  # multi-label: no prior
    # Annotations add their evidence on top, cross-validated as before.
    chosen = [*range(10), *range(100, 110), *range(200, 210)]
    targets = [frozenset({LABELS[i // 100]}) for i in chosen]
    more = fit_head(texts[chosen], targets, LABELS, False, prior, texts=texts)
    assert more.refined and more.accuracy >= 0.9 and len(more.held_out) == len(chosen)
    # ...each annotation trusted n / (n + REFINED_SHRINK): the refined prior is worth more than one text
    weights, _ = fit_prototypes(texts[chosen], target_matrix(targets, LABELS), refined_prior(prior, texts),
                                REFINED_SHRINK)  # fmt: skip
    assert np.allclose(more.head.weights, weights)


def test_the_project_texts_keep_each_task_once_and_at_most_max_texts(tmp_path, monkeypatch) -> None:
    from hf_text.instant import records as instant_store

    monkeypatch.setattr(instant_store, "MAX_TEXTS", 3)
    texts = instant_store.ProjectTexts(tmp_path, "7", "topic")

    def keep(ids: list[int | None], embeddings: list[str]) -> list[int]:
        positions = texts.missing(ids)
        for index in positions:
            texts.add(ids[index], embeddings[index])
        return positions

    assert keep([1, 2, None], ["e1", "e2", "e-none"]) == [0, 1]  # a task without an id is not kept
    assert keep([2, 3, 4, 5], ["again", "e3", "e4", "e5"]) == [1]  # 2 is kept already; room for one
    kept = {record["task"]: record["embedding"] for record in texts.all()}
    assert kept == {1: "e1", 2: "e2", 3: "e3"}
    assert keep([1, 2, 3, 6], ["x", "y", "z", "e6"]) == []


def test_a_challenger_replaces_the_incumbent_only_when_two_percent_better() -> None:
    from bert_classifier.light.instant_head import pick

    assert pick(["prototypes", "ridge"], {"prototypes": 0.80, "ridge": 0.82}) == "ridge"
    assert pick(["prototypes", "ridge"], {"prototypes": 0.80, "ridge": 0.81}) == "prototypes"
