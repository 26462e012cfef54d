"""Classification metrics over label sets (single-label is the one-label case), with numpy only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _f1(true_positive: float, false_positive: float, false_negative: float) -> float:
    denominator = 2 * true_positive + false_positive + false_negative
    return float(2 * true_positive / denominator) if denominator else 0.0


def classification_metrics(
    truth: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]], labels: Sequence[str]
) -> dict[str, object]:
    """Accuracy (exact set match), micro- and macro-F1, and per-label F1 / support over ``labels``.

    Micro-F1 pools every (text, label) decision, the usual summary of a multi-label model (for
    single-label data it equals accuracy). Macro-F1 averages over the labels that occur in
    ``truth`` or ``predicted``: a label absent from both says nothing about the model and would
    only dilute the average.
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    if not truth:
        empty: dict[str, object] = {"accuracy": None, "micro_f1": None, "macro_f1": None}
        return {**empty, "per_label_f1": {}, "support": {}, "evaluated": 0}
    index = {label: position for position, label in enumerate(labels)}
    true_matrix = np.zeros((len(truth), len(labels)), dtype=bool)
    pred_matrix = np.zeros_like(true_matrix)
    for row, (gold, guess) in enumerate(zip(truth, predicted, strict=True)):
        true_matrix[row, [index[label] for label in gold if label in index]] = True
        pred_matrix[row, [index[label] for label in guess if label in index]] = True
    tp = (true_matrix & pred_matrix).sum(axis=0)
    fp = (~true_matrix & pred_matrix).sum(axis=0)
    fn = (true_matrix & ~pred_matrix).sum(axis=0)
    per_label = {label: round(_f1(tp[i], fp[i], fn[i]), 4) for label, i in index.items()}
    seen = [label for label, i in index.items() if true_matrix[:, i].any() or pred_matrix[:, i].any()]
    accuracy = float(np.mean([gold == guess for gold, guess in zip(truth, predicted, strict=True)]))
    return {
        "accuracy": round(accuracy, 4),
        "micro_f1": round(_f1(tp.sum(), fp.sum(), fn.sum()), 4),
        "macro_f1": round(float(np.mean([per_label[label] for label in seen])), 4) if seen else 0.0,
        "per_label_f1": per_label,
        "support": {label: int(true_matrix[:, i].sum()) for label, i in index.items()},
        "evaluated": len(truth),
    }
