"""Multi-label calibration of the instant head after 1, 5 and 20 labels, with and without the bias prior.

After one annotation of a ``choice="multiple"`` project, every task got that annotation's labels
at score 1.0: one-vs-rest logistic regression on one text has no negative example for them.
``bert_classifier.light.logistic.PRIOR_TEXTS`` pulls each label's bias towards a rate of
``1 / labels`` as two texts would; ``before`` is the same code with it off (``PRIOR_TEXTS = 0``).

Data: CoNLL-2003 English sentences labeled with the set of entity types they mention (as
``bench.multilabel``), embedded once by the backend's sentence encoder; for each size and seed the
head is fitted (``instant_head.fit_head``, as the instant layer does) on that many random training
sentences and scores 600 test sentences. Per (sentence, label) score: expected calibration error
(10 equal-width bins), the share of scores >= 0.99, the mean score against the true rate, and the
share of right decisions at 0.5. Means over seeds.

    python -m bench.multilabel_calibration --write     # about 3 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import random
from typing import Any

import numpy as np
import torch

from bench.multilabel import LABELS, labeled_sentences
from bench.report import ROOT, markdown_table, save_json, write_generated
from bert_classifier.light import logistic
from bert_classifier.light.embeddings import sentence_encoder
from bert_classifier.light.instant_head import fit_head
from hf_text.runtime.resolve import resolve_model_folder

SIZES = (1, 5, 20)
SEEDS = 5
POOL, TEST = 1500, 600
PAGE = ROOT / "docs" / "multilabel.md"


def calibration_error(scores: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over every (text, label) score, equal-width bins."""
    scores, truth = scores.ravel(), truth.ravel()
    which = np.minimum((scores * bins).astype(int), bins - 1)
    error = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            error += inside.mean() * abs(scores[inside].mean() - truth[inside].mean())
    return float(error)


def figures(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {
        "ece": calibration_error(scores, truth),
        "certain": float((scores >= 0.99).mean()),
        "mean": float(scores.mean()),
        "right": float(((scores >= 0.5) == (truth > 0)).mean()),
    }


def measure(seeds: int) -> dict[str, Any]:
    """``{size: {"before"|"after": [figures per seed]}}`` and the test set's true rate."""
    torch.set_num_threads(1)
    pool = random.Random(0).sample(labeled_sentences("train"), POOL)
    test = labeled_sentences("test")[:TEST]
    encoder = sentence_encoder(resolve_model_folder(""), torch.device("cpu"), 256, 64, 10000)
    x_pool = encoder.embed([text for text, _ in pool], 4096)
    x_test = encoder.embed([text for text, _ in test], 4096)
    truth = np.array([[label in labels for label in LABELS] for _, labels in test], dtype=float)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    strength = logistic.PRIOR_TEXTS
    for size in SIZES:
        for seed in range(seeds):
            chosen = random.Random(seed).sample(range(POOL), size)
            for name, prior_texts in (("before", 0.0), ("after", strength)):
                logistic.PRIOR_TEXTS = prior_texts
                fit = fit_head(x_pool[chosen], [pool[i][1] for i in chosen], LABELS, True, None)
                scored = figures(fit.head.probabilities(x_test), truth)
                results.setdefault(str(size), {}).setdefault(name, []).append(scored)
            print(f"{size} labels, seed {seed}:", results[str(size)]["after"][-1], flush=True)
    logistic.PRIOR_TEXTS = strength
    return {"results": results, "true_rate": float(truth.mean()), "seeds": seeds}


def report(measured: dict[str, Any]) -> str:
    rows = []
    for size, by_name in measured["results"].items():
        mean = {name: {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
                for name, runs in by_name.items()}  # fmt: skip
        before, after = mean["before"], mean["after"]
        rows.append([size, f"{before['ece']:.3f} → {after['ece']:.3f}",
                     f"{before['certain']:.3f} → {after['certain']:.3f}",
                     f"{before['mean']:.3f} → {after['mean']:.3f} ({measured['true_rate']:.3f})",
                     f"{before['right']:.3f} → {after['right']:.3f}"])  # fmt: skip
    header = ["labels", "calibration error", "scores >= 0.99", "mean score (true rate)", "right at 0.5"]
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--write", action="store_true", help=f"put the table in {PAGE.relative_to(ROOT)}")
    options = parser.parse_args()
    measured = measure(options.seeds)
    saved = save_json("multilabel_calibration", measured)
    table = report(measured)
    if options.write:
        write_generated(PAGE, table, "bench.multilabel_calibration")
    print(table, f"\nraw: {saved}", sep="\n")


if __name__ == "__main__":
    main()
