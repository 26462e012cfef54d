"""Logistic regression on sentence embeddings by L-BFGS: the instant head's classifier up to
``bert_classifier.light.instant_head.RIDGE_FROM`` labels (multinomial, or one-vs-rest for multi-label)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

#: Inverse L2 strength of the logistic head (as scikit-learn's ``C``); 10 measured best of 1/10/100.
C = 10.0
#: Multi-label: each label's bias is pulled towards a rate of ``1 / labels`` ("about one label per
#: text") as strongly as this many texts would. Without it a label on the only annotated text has
#: no negative example, its bias grows without bound and it scored 1.0 on every text (3 of 10
#: scores >= 0.99 after one label, expected calibration error 0.385 on CoNLL; with it 0.07:
#: ``docs/multilabel.md``). Two texts' worth is gone by twenty labels.
PRIOR_TEXTS = 2.0


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread in the calling thread only (restored after): a small problem solved
    by two threads on a busy machine is many times slower, waiting for the other core."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_logistic(embeddings: np.ndarray, y: np.ndarray, multiple: bool) -> tuple[np.ndarray, np.ndarray]:
    """L2-regularised logistic regression by L-BFGS; single-label over the labels seen only."""
    n, dimension = embeddings.shape
    labels = y.shape[1]
    seen = y.sum(axis=0) > 0 if not multiple else np.ones(labels, dtype=bool)
    weights = np.zeros((labels, dimension))
    bias = np.where(seen, 0.0, -1e4)
    if n == 0 or (not multiple and seen.sum() < 2):
        return weights, bias  # one label seen: it always wins
    columns = np.flatnonzero(seen)
    x = torch.tensor(embeddings, dtype=torch.float64)
    target = torch.tensor(y[:, columns], dtype=torch.float64)
    w = torch.zeros((len(columns), dimension), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(columns), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    rate = torch.full((len(columns),), 1.0 / labels, dtype=torch.float64)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        z = x @ w.T + b
        if multiple:
            data = torch.nn.functional.binary_cross_entropy_with_logits(z, target, reduction="sum")
            data = data + PRIOR_TEXTS * torch.nn.functional.binary_cross_entropy_with_logits(
                b, rate, reduction="sum"
            )  # pseudo-texts with an all-zero embedding: they move the bias only
        else:
            data = torch.nn.functional.cross_entropy(z, target.argmax(dim=1), reduction="sum")
        loss = data + 0.5 / C * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad(), one_thread():
        optimizer.step(closure)
    weights[columns] = w.detach().numpy()
    bias[columns] = b.detach().numpy()
    return weights, bias
