"""The instant head: a light classifier on frozen sentence embeddings, refit on every annotation.

Two candidates, both linear on the embeddings (``logits = X W^T + b``), measured on BBC News and
tweet sentiment (``bench/instant_heads.py``, docs/instant_heads.md):

* ``prototypes``: zero-shot's logits plus, for each annotated label, the similarity to its mean
  embedding *relative to the mean of the annotated labels' means*. A label nobody annotated keeps
  its zero-shot score, and one annotated label does not pull every text towards itself (news
  articles resemble each other far more than they resemble a label's name, so plain prototypes
  with a handful of labels are worse than zero-shot). With a handful of labels it is far better
  than a classifier (BBC, 5 random labels: macro-F1 0.79 against 0.21);
* ``logistic``: multinomial (or, for ``choice="multiple"``, one-vs-rest) logistic regression with
  L2 (``light.logistic``), fitted by L-BFGS in milliseconds; better from about 50-100 labels on;
* ``ridge`` (``light.ridge``): a least-squares classifier in closed form, in place of logistic
  regression from ``RIDGE_FROM`` labels, where L-BFGS over every example took most of a second;

When the project's own texts are known (``texts``: the embeddings of the tasks Label Studio asked
predictions for), the zero-shot prior the prototypes start from is first refined on them
(``light.transductive``: BBC News 0.77 -> 0.96 from the first annotation), unless the refinement
relabels the texts rather than refines zero-shot (tweet sentiment), in which case zero-shot stays.

Each refit cross-validates every candidate (``FOLDS`` folds) and keeps the best (``pick``); the
same out-of-fold predictions calibrate the softmax temperature (by likelihood), so the score is an
honest confidence, and they are the head's held-out accuracy that ``light.layers`` compares with the
other layers.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bert_classifier.light.logistic import fit_logistic
from bert_classifier.light.prototypes import REFINED_SHRINK, SHRINK, fit_prototypes, leave_one_out_logits
from bert_classifier.light.ridge import fit_ridge, out_of_fold_ridge
from bert_classifier.light.transductive import refined_prior

FOLDS = 5
#: Prototypes are scored leave-one-out (closed form, ``light.prototypes``) up to this many examples.
LEAVE_ONE_OUT_UP_TO = 200
#: How many examples' worth of belief the calibration puts in the uncalibrated temperature.
CALIBRATION_PRIOR = 5.0
#: Held-out accuracy by which a candidate must beat the incumbent (the first kind) to replace it.
SWITCH_MARGIN = 0.02
#: A classifier (logistic regression, then ridge) is a candidate from this many examples on (fewer:
#: prototypes alone).
CLASSIFIER_FROM = 100
#: The classifier is ridge from this many examples on: as accurate there (1,000 labels: BBC News
#: macro-F1 0.977 against 0.973, tweets 0.821 against 0.780, CoNLL entity types micro-F1 0.760
#: against 0.758) and a closed form, where logistic regression's cross-validation took 0.5 s at
#: 1,000 labels and 1 s at 2,000. Below it logistic regression is cheap and, multi-label, better
#: (300 labels: 0.701 against 0.691).
RIDGE_FROM = 1000
_TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


@dataclass
class LightHead:
    """A fitted linear head over embeddings: ``probabilities = squash((X W^T + b) / temperature)``."""

    kind: str
    labels: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    multiple: bool = False
    temperature: float = 1.0

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """Uncalibrated logits, ``(texts, labels)``."""
        return embeddings.astype(np.float64) @ self.weights.T + self.bias

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, ``(texts, labels)``: softmax, or sigmoid per label."""
        return squash(self.logits(embeddings) / self.temperature, self.multiple)

    def to_bytes(self) -> bytes:
        """The head as an ``.npz`` file's bytes."""
        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights, bias=self.bias, temperature=np.array(self.temperature),
                 multiple=np.array(self.multiple), labels=np.array(self.labels, dtype=object).astype(str),
                 kind=np.array(self.kind))  # fmt: skip
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LightHead:
        """The head ``to_bytes`` wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            return cls(
                kind=str(saved["kind"]),
                labels=tuple(str(label) for label in saved["labels"]),
                weights=saved["weights"],
                bias=saved["bias"],
                multiple=bool(saved["multiple"]),
                temperature=float(saved["temperature"]),
            )


def squash(logits: np.ndarray, multiple: bool) -> np.ndarray:
    """Softmax over labels, or an independent sigmoid per label."""
    if multiple:
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def target_matrix(targets: Sequence[frozenset[str]], labels: Sequence[str]) -> np.ndarray:
    """``(examples, labels)`` 0/1 indicators."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(targets), len(labels)))
    for row, target in enumerate(targets):
        for label in target:
            if label in index:
                matrix[row, index[label]] = 1.0
    return matrix


def _fit(
    kind: str, embeddings: np.ndarray, y: np.ndarray, prior: np.ndarray | None, multiple: bool,
    shrink: float = SHRINK,
):  # fmt: skip
    if kind == "prototypes":
        return fit_prototypes(embeddings, y, prior, shrink)
    if kind == "ridge":
        return fit_ridge(embeddings, y, multiple)
    return fit_logistic(embeddings, y, multiple)


def folds(embeddings: np.ndarray, k: int) -> list[np.ndarray]:
    """Example indices in ``min(k, count)`` folds. An example's fold follows from its embedding, so
    one more annotation does not reshuffle the others (the comparison would swing with every label)."""
    count = len(embeddings)
    k = min(k, count)
    if k == count:
        return [np.array([i]) for i in range(count)]
    rows = np.ascontiguousarray(embeddings, dtype=np.float32)
    keys = np.array([zlib.crc32(row.tobytes()) % k for row in rows])
    return [np.flatnonzero(keys == i) for i in range(k) if (keys == i).any()]


def out_of_fold_logits(
    kind: str, embeddings: np.ndarray, y: np.ndarray, prior: np.ndarray | None, multiple: bool,
    shrink: float = SHRINK,
) -> np.ndarray:  # fmt: skip
    """Each example's logits from a head fitted without it: leave-one-out for prototypes while that is
    cheap (every example counts when there are few), ``FOLDS`` folds otherwise."""
    if kind == "prototypes" and len(y) <= LEAVE_ONE_OUT_UP_TO:
        return leave_one_out_logits(embeddings, y, prior, shrink)
    if kind == "ridge":
        return out_of_fold_ridge(embeddings, y, multiple, folds(embeddings, FOLDS))
    logits = np.zeros(y.shape)
    for held in folds(embeddings, FOLDS):
        train = np.setdiff1d(np.arange(len(y)), held)
        weights, bias = _fit(kind, embeddings[train], y[train], prior, multiple, shrink)
        logits[held] = embeddings[held].astype(np.float64) @ weights.T + bias
    return logits


def correct(probabilities: np.ndarray, y: np.ndarray, multiple: bool) -> np.ndarray:
    """Per example: 1.0 when the decision equals the target (all labels, for multi-label)."""
    if multiple:
        return ((probabilities >= 0.5) == (y > 0.5)).all(axis=1).astype(float)
    return (y[np.arange(len(y)), probabilities.argmax(axis=1)] > 0.5).astype(float)


def _losses(logits: np.ndarray, y: np.ndarray, multiple: bool, temperatures: np.ndarray) -> np.ndarray:
    """The mean held-out negative log-likelihood at each temperature."""
    p = np.clip(squash(logits[None] / temperatures[:, None, None], multiple), 1e-9, 1 - 1e-9)
    if multiple:
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=2).mean(axis=1)
    return -np.log((p * y).sum(axis=2)).mean(axis=1)


def calibrate(logits: np.ndarray, y: np.ndarray, multiple: bool) -> float:
    """The temperature that best explains the held-out targets, pulled towards 1.0 by a prior worth
    ``CALIBRATION_PRIOR`` examples (a handful of predictions must not make it swing)."""
    if len(y) == 0:
        return 1.0
    chunk = max(1, 2_000_000 // max(logits.size, 1))  # all temperatures at once, within ~16 MB
    losses = np.concatenate([
        _losses(logits, y, multiple, _TEMPERATURES[start : start + chunk])
        for start in range(0, len(_TEMPERATURES), chunk)
    ])  # fmt: skip
    losses += CALIBRATION_PRIOR / len(y) * np.log(_TEMPERATURES) ** 2
    return float(_TEMPERATURES[int(np.argmin(losses))])


@dataclass
class HeadFit:
    """A fitted head and its cross-validation: per-example held-out correctness, per candidate."""

    head: LightHead
    accuracy: float
    held_out: np.ndarray
    candidates: dict[str, float] = field(default_factory=dict)
    #: Whether the zero-shot prior was refined on the project's texts (``light.transductive``).
    refined: bool = False


def candidate_kinds(examples: int, multiple: bool) -> list[str]:
    """The heads cross-validated at ``examples`` labeled texts, the incumbent first."""
    classifier = "ridge" if examples >= RIDGE_FROM else "logistic"
    if multiple:  # prototypes cannot say "none of these", nor several labels
        return [classifier]
    return ["prototypes", classifier][: 1 + (examples >= CLASSIFIER_FROM)]


def pick(kinds: Sequence[str], accuracy: dict[str, float]) -> str:
    """The first kind, unless a later one beats it by ``SWITCH_MARGIN`` (cross-validation on a few
    dozen labels is noisy: a challenger must win clearly)."""
    best = kinds[0]
    for kind in kinds[1:]:
        if accuracy[kind] >= accuracy[best] + SWITCH_MARGIN - 1e-9:
            best = kind
    return best


def fit_head(
    embeddings: np.ndarray,
    targets: Sequence[frozenset[str]],
    labels: Sequence[str],
    multiple: bool,
    prior: np.ndarray | None,
    kinds: Sequence[str] | None = None,
    texts: np.ndarray | None = None,
) -> HeadFit:
    """Cross-validate every candidate kind, keep the best (``pick``), fit it on everything.
    ``texts``: embeddings of the project's tasks."""
    y = target_matrix(targets, labels)
    refined = None if multiple else refined_prior(prior, texts)
    prior, shrink = (prior, SHRINK) if refined is None else (refined, REFINED_SHRINK)
    kinds = list(kinds if kinds is not None else candidate_kinds(len(y), multiple))
    results = {}
    for kind in kinds:
        logits = out_of_fold_logits(kind, embeddings, y, prior, multiple, shrink)
        temperature = calibrate(logits, y, multiple)
        held_out = correct(squash(logits / temperature, multiple), y, multiple)
        results[kind] = (float(held_out.mean()) if len(y) else 0.0, temperature, held_out)
    best = pick(kinds, {kind: result[0] for kind, result in results.items()})
    accuracy, temperature, held_out = results[best]
    weights, bias = _fit(best, embeddings, y, prior, multiple, shrink)
    head = LightHead(best, tuple(labels), weights, bias, multiple, temperature)
    candidates = {kind: round(result[0], 4) for kind, result in results.items()}
    return HeadFit(head, accuracy, held_out, candidates, refined is not None)
