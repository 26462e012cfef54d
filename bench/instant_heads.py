"""Which light head to refit on every annotation: the candidates on frozen MiniLM embeddings.

For BBC News (5 topics, the learning curves' 300 held-out articles) and tweet sentiment (3
labels, 300 held-out tweets), random labeled samples of 2-100 texts (5 seeds): macro-F1 and, for
calibration, mean confidence against accuracy, of

* ``prototypes``: the shipped head, zero-shot's logits plus the annotated labels' prototypes
  relative to each other (``bert_classifier.light.instant_head.fit_prototypes``);
* ``prototypes, no zero-shot``: the same without the label descriptions (plain nearest mean);
* ``logistic``: L2 logistic regression on the embeddings;
* ``ridge``: the closed-form ridge classifier that replaces it from 1,000 labels (``light.ridge``).

Embeddings come from the backend's own encoder (``light.embeddings``); each head is fitted by
``fit_head`` exactly as an instant update fits it, cross-validation and calibration included.

    python -m bench.instant_heads            # about 4 minutes on 2 CPU cores
    python -m bench.instant_heads --sizes 100 300 1000 --pool 200 --heads logistic ridge --seeds 3
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from bench.learning_curves import bbc_data
from bench.report import markdown_table, save_json
from bert_classifier.light import zero_shot
from bert_classifier.light.embeddings import sentence_encoder
from bert_classifier.light.instant_head import fit_head
from bert_classifier.metrics import classification_metrics
from hf_text.runtime.resolve import resolve_model_folder
from tests.support import bbc_news, tweets

SIZES = (2, 5, 10, 20, 50, 100)
POOL_PER_LABEL = 100
CANDIDATES = {"prototypes": ("prototypes", True), "prototypes, no zero-shot": ("prototypes", False),
              "logistic": ("logistic", False), "ridge": ("ridge", False)}  # fmt: skip


def data_sets(
    per_label: int = POOL_PER_LABEL,
) -> dict[str, tuple[dict[str, list[str]], list[tuple[str, str]], tuple[str, ...]]]:
    """Training pool per label, held-out pairs and labels of each set."""
    rng = random.Random(0)
    bbc_pool, bbc_test = bbc_data()
    tweet_pool, tweet_test = tweets.split(100)

    def sample(pool: dict[str, list[str]]) -> dict[str, list[str]]:
        return {label: rng.sample(texts, min(per_label, len(texts))) for label, texts in pool.items()}

    return {
        "BBC News": (sample(bbc_pool), bbc_test, bbc_news.LABELS),
        "tweets": (sample(tweet_pool), tweet_test, tweets.LABELS),
    }


def main() -> None:
    """Every candidate at every size; the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="labeled texts")
    parser.add_argument("--pool", type=int, default=POOL_PER_LABEL, help="texts per label to draw from")
    parser.add_argument("--heads", nargs="+", default=list(CANDIDATES), help="candidates to run")
    options = parser.parse_args()
    torch.set_num_threads(1)
    encoder = sentence_encoder(resolve_model_folder(""), torch.device("cpu"), 256, 64, 10000)
    rows, payload = [], {}
    for name, (pool, test, labels) in data_sets(options.pool).items():
        x_test = encoder.embed([text for text, _ in test], 4096)
        truth = [frozenset({label}) for _, label in test]
        x_pool = np.concatenate([encoder.embed(pool[label], 4096) for label in labels])
        y_pool = [label for label in labels for _ in pool[label]]
        prior = np.stack([encoder.embed(zero_shot.prompts([label]), 4096).mean(axis=0) for label in labels])
        prior /= np.linalg.norm(prior, axis=1, keepdims=True)
        for candidate in options.heads:
            kind, with_prior = CANDIDATES[candidate]
            row = [name, candidate]
            for size in options.sizes:
                f1s, confidence, accuracy, seconds = [], [], [], []
                for seed in range(options.seeds):
                    chosen = np.random.RandomState(seed).permutation(len(y_pool))[:size]
                    targets = [frozenset({y_pool[i]}) for i in chosen]
                    seeded = prior if with_prior else None
                    started = time.perf_counter()
                    head = fit_head(x_pool[chosen], targets, labels, False, seeded, [kind]).head
                    seconds.append(time.perf_counter() - started)
                    probabilities = head.probabilities(x_test)
                    predicted = [frozenset({labels[i]}) for i in probabilities.argmax(axis=1)]
                    f1s.append(classification_metrics(truth, predicted, list(labels))["macro_f1"])
                    confidence.append(float(probabilities.max(axis=1).mean()))
                    accuracy.append(float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])))
                key = f"{name}/{candidate}/{size}"
                payload[key] = {"macro_f1": f1s, "confidence": confidence, "accuracy": accuracy,
                                "fit_seconds": seconds}  # fmt: skip
                row.append(f"{np.mean(f1s):.3f} ({np.mean(confidence):.2f}/{np.mean(accuracy):.2f})")
            rows.append(row)
            print(" | ".join(row), flush=True)
    save_json("instant_heads", payload)
    print("\nmacro-F1 (mean confidence / accuracy), mean of the seeds")
    print(markdown_table(["set", "head", *[f"{size} labels" for size in options.sizes]], rows))


if __name__ == "__main__":
    main()
