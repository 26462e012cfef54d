"""The classifier's light layers with the int8 sentence encoder, against fp32 and the usual way.

On the same short real texts (BBC News articles cut to their first 40 words),
interleaved rounds of:

* ``embed fp32`` / ``embed int8``: ``SentenceEncoder.embed`` of every text, its cache emptied
  first (``INFERENCE_BACKEND=torch`` against ``auto``, the int8 model exported beforehand);
* ``embed int8, rows in turn``: the same int8 model as ONNX Runtime served it before rows ran side
  by side (one window after another, the session's intra-op threads on every core);
* ``zero-shot fp32`` / ``zero-shot int8``: ``BertClassifier.predict`` of a fresh BBC-topic project
  (zero-shot serves), one request of all the texts, the encoder's cache emptied first: the
  ``/predict`` handler's work without HTTP;
* ``instant int8``: the same with an instant head serving (50 other labeled articles learned);
* ``pipeline``: ``transformers.pipeline("text-classification")`` on the same baseline folder (a
  fresh head: speed only), called one task at a time as the public example does.

Then the instant layer's re-scoring: an instant head fitted on 50 labeled texts scores 10,000
cached embeddings (the texts' embeddings tiled; one matrix product and a softmax), timed over
rounds. Finally the int8 embeddings' cosines to fp32's on every text. Ratios compare numbers of
this one run (median of the rounds).

    python -m bench.encoder_int8                  # 200 texts, 3 rounds: about 4 minutes on 2 cores
    python -m bench.encoder_int8 --texts 100 --rounds 2
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.report import ROOT, markdown_table, ratio, save_json, write_generated
from bert_classifier.light.embeddings import SentenceEncoder
from bert_classifier.light.encoder_onnx import int8_encoder
from bert_classifier.light.instant_head import fit_head
from bert_classifier.model import BertClassifier
from hf_text.instant.learning import InstantLearner
from hf_text.runtime.backends import OnnxRunner, inference_threads
from hf_text.runtime.device import default_token_budget
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support import bbc_news

PAGE = ROOT / "docs" / "encoder_int8.md"
#: Cached embeddings the instant head re-scores (the issue's 10,000 tasks).
RESCORED = 10_000


def short_texts(count: int) -> list[str]:
    """BBC News articles' first 40 words, the labels interleaved (a topic project zero-shot serves)."""
    per_label = count // len(bbc_news.LABELS) + 1
    news = bbc_news.articles(per_label=per_label, skip=100, max_words=40)
    by_label = [news[index::per_label] for index in range(per_label)]
    return [text for group in by_label for text, _ in group][:count]


def timed(action: Callable[[], Any]) -> float:
    """Seconds ``action`` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def classifier(backend: str, model_dir: Path) -> BertClassifier:
    """A fresh BBC-topic project that zero-shot serves, with ``INFERENCE_BACKEND=backend``."""
    context = BackendContext.from_settings(Settings(model_dir=model_dir / backend))
    settings = HFSettings(inference_backend=backend)
    return BertClassifier(project_id="1", label_config=bbc_news.LABEL_CONFIG, context=context,
                          hf_settings=settings)  # fmt: skip


def instant_classifier(model_dir: Path) -> BertClassifier:
    """A BBC-topic project (int8 encoder) whose instant head serves, fitted on 50 labeled articles
    that are not among the measured texts."""
    model = classifier("auto", model_dir / "instant")
    pairs = bbc_news.articles(per_label=10, skip=300, max_words=40)
    tasks = [bbc_news.to_task(text, label, 1_000_000 + index) for index, (text, label) in enumerate(pairs)]
    model.labeled_tasks = lambda: tasks  # type: ignore[method-assign]  # what Label Studio would hold
    learner = InstantLearner(model, model.task, model.instant_layer())
    learner.resync(model.controls())
    learner.refit(model.controls())
    return model


def rows_in_turn(encoder: SentenceEncoder, folder: Path) -> SentenceEncoder:
    """``encoder`` (int8) with its model run as before rows ran side by side: one window after
    another, ONNX Runtime's intra-op threads on every core."""
    import onnxruntime

    assert encoder.int8 is not None, encoder.served
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = inference_threads(0)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(int8_encoder(folder)), options, providers=["CPUExecutionProvider"]
    )
    encoder.int8 = OnnxRunner(session=session, input_names=encoder.int8.input_names, threads=1)
    return encoder


def paths(texts: list[str], model_dir: Path) -> tuple[dict[str, Callable[[], Any]], dict[str, Any]]:
    """Every measured path, and the encoders' ``served`` reports."""
    from transformers import pipeline

    folder = resolve_model_folder("")
    budget = default_token_budget(torch.device("cpu"))
    encoders = {name: SentenceEncoder(folder, torch.device("cpu"), 256, 64, 100_000, setting)
                for name, setting in (("fp32", "torch"), ("int8", "auto"))}  # fmt: skip
    before = SentenceEncoder(folder, torch.device("cpu"), 256, 64, 100_000, "auto")
    encoders["int8, rows in turn"] = rows_in_turn(before, folder)
    models = {name: classifier(setting, model_dir) for name, setting in (("fp32", "torch"), ("int8", "auto"))}
    instant = instant_classifier(model_dir)
    tasks = [{"id": index, "data": {"text": text}} for index, text in enumerate(texts)]
    pipe = pipeline("text-classification", model=str(folder), device="cpu")

    def embed(encoder: SentenceEncoder) -> None:
        encoder.cache.clear()
        encoder.embed(texts, budget)

    def predict(model: BertClassifier, layer: str = "zero-shot-") -> None:
        model.light_layers.encoder.cache.clear()
        version = model.predict(tasks).model_version
        assert version.startswith(layer), version

    measured: dict[str, Callable[[], Any]] = {}
    for name in ("fp32", "int8"):
        measured[f"embed {name}"] = lambda e=encoders[name]: embed(e)
    measured["embed int8, rows in turn"] = lambda: embed(encoders["int8, rows in turn"])
    for name in ("fp32", "int8"):
        measured[f"zero-shot {name}"] = lambda m=models[name]: predict(m)
    measured["instant int8"] = lambda: predict(instant, "instant-")
    measured["pipeline"] = lambda: [pipe(text, truncation=True) for text in texts]
    served = {name: model.light_layers.encoder.served for name, model in models.items()}
    served["cosines"] = cosines(encoders, texts, budget)
    return measured, served


def cosines(encoders: dict[str, SentenceEncoder], texts: list[str], budget: int) -> dict[str, float]:
    """How close int8 embeddings are to fp32's on every text."""
    values = np.sum(encoders["fp32"].embed(texts, budget) * encoders["int8"].embed(texts, budget), axis=1)
    return {"min": round(float(values.min()), 5), "mean": round(float(values.mean()), 5),
            "below_0.99": int((values < 0.99).sum())}  # fmt: skip


def rescoring(texts: list[str], rounds: int) -> dict[str, float]:
    """Milliseconds an instant head takes to score ``RESCORED`` cached embeddings."""
    encoder = SentenceEncoder(resolve_model_folder(""), torch.device("cpu"), 256, 64, 100_000, "auto")
    pairs = bbc_news.articles(per_label=10, skip=300, max_words=40)
    labeled = encoder.embed([text for text, _ in pairs], 4096)
    head = fit_head(labeled, [frozenset({label}) for _, label in pairs], bbc_news.LABELS, False, None).head
    cached = encoder.embed(texts, 4096)
    tiled = np.resize(cached, (RESCORED, cached.shape[1]))
    seconds = [timed(lambda: head.probabilities(tiled)) for _ in range(max(rounds, 5))]
    return {"ms_median": round(1000 * statistics.median(seconds), 2), "kind": head.kind}


def measure(options: argparse.Namespace) -> dict[str, Any]:
    """Interleaved rounds of every path; texts/s from the median round."""
    texts = short_texts(options.texts)
    with tempfile.TemporaryDirectory(prefix="bench-encoder-") as folder:
        measured, served = paths(texts, Path(folder))
        for action in measured.values():  # warm every path: loads, first-call allocations
            action()
        seconds: dict[str, list[float]] = {name: [] for name in measured}
        for _ in range(options.rounds):
            for name, action in measured.items():
                seconds[name].append(timed(action))
    rates = {name: round(len(texts) / statistics.median(values), 1) for name, values in seconds.items()}
    words = [len(text.split()) for text in texts]
    return {"texts": len(texts), "words_median": statistics.median(words), "texts_per_s": rates,
            "served": served, "rescoring": rescoring(texts, options.rounds)}  # fmt: skip


def report(result: dict[str, Any]) -> str:
    """The page's generated tables."""
    rate = result["texts_per_s"]
    pipe = rate["pipeline"]
    rows = [[name, f"{value:.1f}", ratio(value, pipe), f"{RESCORED / value:.0f} s"]
            for name, value in rate.items()]  # fmt: skip
    speed = markdown_table(["path", "texts/s", "vs pipeline", f"{RESCORED:,} tasks at this rate"], rows)
    cos, again = result["served"]["cosines"], result["rescoring"]
    int8 = result["served"]["int8"]
    agree = f"{cos['min']} / {cos['mean']} / {cos['below_0.99']}"
    rescored = f"instant head ({again['kind']}) re-scoring {RESCORED:,} cached embeddings"
    facts = markdown_table(["measure", "value"], [
        ["texts (median words)", f"{result['texts']} ({result['words_median']:.0f})"],
        ["int8 served as", f"{int8['backend']}: {int8['why']}"],
        ["int8 cosine to fp32: min / mean / texts below 0.99", agree],
        ["zero-shot int8 vs fp32", ratio(rate["zero-shot int8"], rate["zero-shot fp32"])],
        ["int8 rows side by side vs in turn (embed)",
         ratio(rate["embed int8"], rate["embed int8, rows in turn"])],
        [rescored, f"{again['ms_median']} ms"],
    ])  # fmt: skip
    return speed + "\n\n" + facts


def main() -> None:
    """Run, save the raw numbers, rewrite the page's tables (``--page``) and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200, help="short texts per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--page", action="store_true", help=f"write the tables into {PAGE.name}")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = measure(options)
    save_json("encoder_int8", {**result, "options": vars(options), "load_average": os.getloadavg()})
    markdown = report(result)
    if options.page:
        write_generated(PAGE, markdown, "bench.encoder_int8")
    print(markdown)


if __name__ == "__main__":
    main()
