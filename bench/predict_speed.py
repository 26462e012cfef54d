"""Prediction speed of both backends, fp32 torch and int8 ONNX Runtime, against the usual way.

For each backend one version is trained on real labeled data with the product's defaults
(``bench.predict_quality``); publishing it builds its int8 model. On those same weights:

* ``pipeline``: the Hugging Face ``pipeline`` on the version's folder (fp32 torch), called one
  task at a time as the public example does (given ``truncation=True`` / ``stride`` so long texts
  do not crash it, which the public example does not);
* ``/predict torch`` and ``/predict int8``: one ``/predict`` request of all texts over HTTP to a
  running backend (``label-studio-ml start``: real gunicorn, 1 worker, 8 threads), one started
  with ``INFERENCE_BACKEND=torch`` (fp32: the product before int8) and one with the default
  ``auto`` (int8 on this CPU);
* ``in-process int8``: the same instance called directly: the limit the HTTP path can approach.

Texts: the classifier gets 256 BBC News articles cut to seeded, log-uniform lengths of 8-800
words (some need several windows); NER gets 256 CoNLL-2003 sentences of its development file.
Each path runs three times, interleaved (median kept). Then single-task latency, p50/p95 over 100
requests of each kind. Finally held-out quality of both back ends (macro-F1 on BBC's 300 held-out
articles, entity F1 on 1,000 CoNLL test sentences). Ratios compare numbers of this one run.

    python -m bench.predict_speed                      # both backends (2 CPU cores: about 12 minutes)
    python -m bench.predict_speed --backend ner --texts 64 --requests 20
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from bench.fit_project import fit_project, project_model
from bench.predict_quality import SUBJECTS, Subject, held_out_quality
from bench.report import markdown_table, percentile, ratio, save_json
from bench.requests_ls import predict_body
from hf_text.settings import HFSettings
from tests.support.servers import backend

#: The product's defaults; a bench run may shorten training (``--quick``) when only speed matters.
TRAINING = HFSettings()
QUICK_TRAINING = HFSettings(num_train_epochs=1.0, min_train_steps=0)
SERVERS = {"/predict torch": "torch", "/predict int8": "auto"}


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


def post_predict(url: str, body: dict[str, Any], count: int) -> None:
    """One ``/predict``; fails unless it answers one prediction per task."""
    response = requests.post(f"{url}/predict", json=body, timeout=600)
    response.raise_for_status()
    assert len(response.json()["results"]) == count


def throughput(
    pipe: Callable[[str], Any], model: Any, urls: dict[str, str], body: dict[str, Any], repeats: int
) -> dict[str, float]:
    """texts/s of every path (median of ``repeats`` rounds, the paths interleaved)."""
    texts = [task["data"]["text"] for task in body["tasks"]]
    paths: dict[str, Callable[[], Any]] = {"pipeline": lambda: [pipe(text) for text in texts]}
    for name, url in urls.items():
        paths[name] = lambda url=url: post_predict(url, body, len(texts))
    paths["in-process int8"] = lambda: model.predict(body["tasks"])
    for action in paths.values():  # warm every path: loads, caches, first-call allocations
        action()
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, action in paths.items():
            seconds[name].append(timed(action))
    return {name: len(texts) / statistics.median(values) for name, values in seconds.items()}


def latency(
    pipe: Callable[[str], Any], urls: dict[str, str], subject: Subject, texts: list[str], count: int
) -> dict[str, list[float]]:
    """Milliseconds of ``count`` single ``pipeline`` calls and single-task requests to each server."""
    samples: dict[str, list[float]] = {"pipeline": [], **{name: [] for name in urls}}
    for index in range(count):
        text = texts[index % len(texts)]
        samples["pipeline"].append(1000 * timed(lambda text=text: pipe(text)))
        for name, url in urls.items():
            body = predict_body(1, subject.label_config, [text])
            samples[name].append(1000 * timed(lambda url=url, body=body: post_predict(url, body, 1)))
    return samples


def bench_subject(subject: Subject, options: argparse.Namespace) -> dict[str, Any]:
    """Train, start one backend per inference back end on that version, measure, score held-out."""
    training = QUICK_TRAINING if options.quick else TRAINING
    texts = subject.speed_texts(options.texts)
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as folder:
        model_dir = Path(folder) / "models"
        trained, summary = fit_project(
            subject.model_class(), subject.label_config, training, subject.training_tasks(), model_dir
        )
        # INFERENCE_BACKEND=auto: int8 on this CPU.
        model = project_model(subject.model_class(), subject.label_config, training, model_dir)
        pipe = make_pipeline(subject, version_folder(trained))
        body = predict_body(1, subject.label_config, texts)
        with ExitStack() as servers:
            urls = {
                name: servers.enter_context(
                    backend(subject.directory, {"MODEL_DIR": str(model_dir), "INFERENCE_BACKEND": setting},
                            workers=1)
                )
                for name, setting in SERVERS.items()
            }  # fmt: skip
            rates = throughput(pipe, model, urls, body, options.repeats)
            samples = latency(pipe, urls, subject, texts, options.requests)
        quality = held_out_quality(subject, model_dir, training) if not options.no_quality else {}
    words = [len(text.split()) for text in texts]
    return {
        "texts": len(texts),
        "words": {"min": min(words), "median": statistics.median(words), "max": max(words)},
        "texts_per_s": {name: round(value, 2) for name, value in rates.items()},
        "latency_ms": {
            name: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
            for name, v in samples.items()
        },
        "publish_check": summary.get("quantization", {}),
        "held_out": quality,
    }  # fmt: skip


def changed(quality: dict[str, Any]) -> str:
    """The share of fp32's held-out decisions int8 changed, as a percentage."""
    share = quality.get("decisions_changed")
    return "n/a" if share is None else f"{100 * share:.1f}%"


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per backend: texts/s of every path, ratios to the pipeline, latency and quality."""
    rows = []
    for name, result in results.items():
        rate, lat, quality = result["texts_per_s"], result["latency_ms"], result["held_out"]
        pipeline = rate["pipeline"]
        rows.append([
            name, f"{pipeline:.1f}",
            f"{rate['/predict torch']:.1f} ({ratio(rate['/predict torch'], pipeline)})",
            f"{rate['/predict int8']:.1f} (**{ratio(rate['/predict int8'], pipeline)}**)",
            f"{rate['in-process int8']:.1f} ({ratio(rate['in-process int8'], pipeline)})",
            " → ".join(f"{lat[path]['p50']:.0f} / {lat[path]['p95']:.0f}" for path in lat),
            f"{quality['torch']:.4f} → {quality['onnx-int8']:.4f} ({changed(quality)} of decisions changed)"
            if quality else "not measured",
        ])  # fmt: skip
    header = ["backend", "pipeline texts/s", "/predict fp32 texts/s", "/predict int8 texts/s",
              "in-process int8 texts/s", "1-task p50 / p95 ms: pipeline → fp32 → int8",
              "held-out metric fp32 → int8"]  # fmt: skip
    return markdown_table(header, rows)


def main() -> None:
    """Run the chosen backends and print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=[*SUBJECTS, "all"], default="all")
    parser.add_argument("--texts", type=int, default=256, help="tasks in the batch request")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of each path (median kept)")
    parser.add_argument("--requests", type=int, default=100, help="single-task requests for latency")
    parser.add_argument("--quick", action="store_true", help="train one epoch only (speed, not quality)")
    parser.add_argument("--no-quality", action="store_true", help="skip the held-out quality scoring")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    names = list(SUBJECTS) if options.backend == "all" else [options.backend]
    results = {name: bench_subject(SUBJECTS[name], options) for name in names}
    # The run's options and the machine's load go with the numbers: ratios on a busy CPU differ.
    save_json("predict_speed", {**results, "options": vars(options), "load_average": os.getloadavg()})
    print(markdown_table(["backend", "texts", "words min / median / max", "int8 publish check"], [
        [name, r["texts"], f"{r['words']['min']} / {r['words']['median']:.0f} / {r['words']['max']}",
         r["publish_check"].get("reason", "")] for name, r in results.items()
    ]))  # fmt: skip
    print()
    print(table(results))


if __name__ == "__main__":
    main()
