"""Prediction speed of both backends against the usual way, on real texts of mixed length.

For each backend a model version is trained briefly (speed does not depend on what it learned),
then the same 256 real texts (BBC News articles cut to seeded, log-uniform lengths of 8-800
words, so some need several windows) are predicted three ways, each three times (median kept):

* ``pipeline``: the Hugging Face ``pipeline`` on the same model folder, called one task at a
  time as the public example does (given ``truncation=True`` / ``stride`` so long texts do not
  crash it, which the public example does not);
* ``backend``: one ``/predict`` request of 256 tasks over HTTP to the running backend
  (``label-studio-ml start``: real gunicorn, default 1 worker and 8 threads);
* ``in-process``: the same model instance called directly (sorted, token-budget batches): the
  limit the HTTP path can approach.

Then single-task latency, p50/p95 over 100 requests: ``/predict`` with one task against one
``pipeline`` call. Ratios compare numbers measured in this run on this machine.

    python -m bench.predict_speed                      # both backends (CPU: about 5 minutes)
    python -m bench.predict_speed --backend ner --texts 64 --requests 20
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.fit_project import fit_project
from bench.report import markdown_table, percentile, ratio, save_json
from bench.requests_ls import predict_body
from hf_text.settings import HFSettings
from tests import bbc_news, ner_conll
from tests.servers import ROOT, backend

#: Enough to produce a real version quickly; speed does not depend on how well it learned.
QUICK_TRAINING = HFSettings(num_train_epochs=1.0, min_train_steps=0)


@dataclass(frozen=True)
class Subject:
    """One backend under test: its folder, label config, pipeline task and how to train it."""

    name: str
    directory: Path
    label_config: str
    pipeline_task: str
    pipeline_options: dict[str, Any]
    training_tasks: Callable[[], list[dict[str, Any]]]
    model_class: Callable[[], type]


def _classifier() -> type:
    from bert_classifier.model import BertClassifier

    return BertClassifier


def _ner() -> type:
    from huggingface_ner import HuggingFaceNER

    return HuggingFaceNER


def _bbc_training() -> list[dict[str, Any]]:
    pairs = bbc_news.articles(per_label=10, max_words=60)
    return [bbc_news.to_task(text, label, i) for i, (text, label) in enumerate(pairs)]


def _conll_training() -> list[dict[str, Any]]:
    sentences = ner_conll.read_conll(ner_conll.conll_dir() / "train.txt")[:100]
    return [ner_conll.to_task(sentence, i) for i, sentence in enumerate(sentences)]


SUBJECTS = {
    "classifier": Subject(
        "bert_classifier", ROOT / "bert_classifier", bbc_news.LABEL_CONFIG, "text-classification",
        {"truncation": True}, _bbc_training, _classifier,
    ),
    "ner": Subject(
        "huggingface_ner", ROOT / "huggingface_ner", ner_conll.LABEL_CONFIG, "token-classification",
        {}, _conll_training, _ner,
    ),
}  # fmt: skip


def mixed_texts(count: int, seed: int = 7) -> list[str]:
    """``count`` real texts of log-uniform length between 8 and 800 words (BBC News articles)."""
    rng = random.Random(seed)
    files = sorted(bbc_news.bbc_dir().glob("*/*.txt"))
    texts = []
    for path in rng.sample(files, count):
        words = int(math.exp(rng.uniform(math.log(8), math.log(800))))
        texts.append(bbc_news.read_article(path, words))
    return texts


def train_version(subject: Subject, model_dir: Path) -> Any:
    """A model instance for project 1 whose served version was just trained on a little data."""
    model, _ = fit_project(
        subject.model_class(), subject.label_config, QUICK_TRAINING, subject.training_tasks(), model_dir
    )
    return model


def version_folder(model: Any) -> Path:
    """The folder of the served version's (only) head: what ``pipeline`` loads."""
    meta = model.trained_meta()
    return model.store.root / model.model_version / meta["heads"][0]["dir"]


def make_pipeline(subject: Subject, folder: Path) -> Callable[[str], Any]:
    """The usual way: a ``pipeline`` over the same weights, one text per call."""
    from transformers import pipeline

    if subject.pipeline_task == "token-classification":
        pipe = pipeline(subject.pipeline_task, model=str(folder), aggregation_strategy="simple", stride=64)
        return lambda text: pipe(text)
    pipe = pipeline(subject.pipeline_task, model=str(folder))
    return lambda text: pipe(text, **subject.pipeline_options)


def timed(action: Callable[[], Any]) -> float:
    """Seconds ``action`` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def throughput(subject: Subject, model: Any, url: str, texts: list[str], repeats: int) -> dict[str, float]:
    """texts/s of the three paths (median of ``repeats`` rounds, the paths interleaved)."""
    pipe = make_pipeline(subject, version_folder(model))
    body = predict_body(1, subject.label_config, texts)

    def over_http() -> None:
        response = requests.post(f"{url}/predict", json=body, timeout=600)
        response.raise_for_status()
        assert len(response.json()["results"]) == len(texts)

    paths: dict[str, Callable[[], Any]] = {
        "pipeline": lambda: [pipe(text) for text in texts],
        "backend": over_http,
        "in-process": lambda: model.predict(body["tasks"]),
    }
    for action in paths.values():  # warm every path: loads, caches, first-call allocations
        action()
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, action in paths.items():
            seconds[name].append(timed(action))
    return {name: len(texts) / statistics.median(values) for name, values in seconds.items()}


def latency(subject: Subject, model: Any, url: str, texts: list[str], count: int) -> dict[str, list[float]]:
    """Milliseconds of ``count`` single-task requests, and of as many single ``pipeline`` calls."""
    pipe = make_pipeline(subject, version_folder(model))
    samples: dict[str, list[float]] = {"pipeline": [], "backend": []}
    for index in range(count):
        text = texts[index % len(texts)]
        started = time.perf_counter()
        pipe(text)
        samples["pipeline"].append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        body = predict_body(1, subject.label_config, [text])
        requests.post(f"{url}/predict", json=body, timeout=60).raise_for_status()
        samples["backend"].append(1000 * (time.perf_counter() - started))
    return samples


def bench_subject(subject: Subject, texts: list[str], repeats: int, requests_count: int) -> dict[str, Any]:
    """Train, start the backend on the trained version, measure throughput and latency."""
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as folder:
        model_dir = Path(folder) / "models"
        model = train_version(subject, model_dir)
        with backend(subject.directory, {"MODEL_DIR": str(model_dir)}, workers=1) as url:
            rates = throughput(subject, model, url, texts, repeats)
            samples = latency(subject, model, url, texts, requests_count)
    return {
        "texts_per_s": {name: round(value, 2) for name, value in rates.items()},
        "latency_ms": {
            name: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
            for name, v in samples.items()
        },
    }


def main() -> None:
    """Run the chosen backends and print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=[*SUBJECTS, "all"], default="all")
    parser.add_argument("--texts", type=int, default=256, help="tasks in the batch request")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of each path (median kept)")
    parser.add_argument("--requests", type=int, default=100, help="single-task requests for latency")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    texts = mixed_texts(options.texts)
    names = list(SUBJECTS) if options.backend == "all" else [options.backend]
    results = {
        name: bench_subject(SUBJECTS[name], texts, options.repeats, options.requests) for name in names
    }
    words = [len(text.split()) for text in texts]
    save_json("predict_speed", {"texts": len(texts), "median_words": statistics.median(words), **results})
    rows = []
    for name, result in results.items():
        rate, lat = result["texts_per_s"], result["latency_ms"]
        rows.append([
            name, f"{rate['pipeline']:.1f}", f"{rate['backend']:.1f}", f"{rate['in-process']:.1f}",
            ratio(rate["backend"], rate["pipeline"]), ratio(rate["in-process"], rate["pipeline"]),
            f"{lat['pipeline']['p50']:.0f} / {lat['pipeline']['p95']:.0f}",
            f"{lat['backend']['p50']:.0f} / {lat['backend']['p95']:.0f}",
        ])  # fmt: skip
    print(f"\n{len(texts)} texts, {min(words)}-{max(words)} words (median {statistics.median(words):.0f})")
    print(markdown_table(
        ["backend", "pipeline texts/s", "/predict texts/s", "in-process texts/s", "/predict vs pipeline",
         "in-process vs pipeline", "pipeline 1-task p50/p95 ms", "/predict 1-task p50/p95 ms"],
        rows,
    ))  # fmt: skip


if __name__ == "__main__":
    main()
