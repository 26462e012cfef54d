"""Does the backend stay responsive while it learns from every annotation?

A real classifier backend (``label-studio-ml start``: gunicorn, 1 worker, 8 threads) receives
annotation webhooks for BBC News articles, as Label Studio sends them. Measured:

* how long each ``/webhook`` takes to answer (Label Studio waits 1 s, inside the annotator's own
  API call) and how long until ``/setup`` reports the new version learned from it, one annotation
  at a time (after each webhook ``/setup`` is polled every 10 ms for at least ``WINDOW_S``);
* the same webhooks sent back to back (a burst: the events that queue up behind an update are
  learned together in the next one), ``/health`` polled until all are learned and for at least
  ``BURST_WINDOW_S``;
* ``/health`` latency, polled every 50 ms from another thread during both.

With ``--predict-first`` each annotation is preceded by the ``/predict`` Label Studio sends when the
annotator opens the task (the prediction the annotator then corrects): the update then finds the
text's embedding cached, and each new version's first prediction is part of what is measured.

The baseline is the same backend started with ``INSTANT_LEARNING=false`` and given exactly the same
requests (webhooks, ``/setup`` polls for ``WINDOW_S``, the burst), in the same run: the ratio of
``/health``'s p99 with and without learning is what the instant updates themselves cost.

    python -m bench.instant_responsiveness              # 100 + 100 annotations, about 4 minutes
    python -m bench.instant_responsiveness --predict-first
"""

from __future__ import annotations

import argparse
import copy
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.report import markdown_table, percentile, ratio, save_json
from bench.requests_ls import predict_body, setup_body
from tests import bbc_news
from tests.conftest import load_fixture
from tests.fake_label_studio import fake_label_studio
from tests.servers import ROOT, backend

TOKEN = "bench-token"
PROJECT = 1
#: After each webhook ``/setup`` is polled at least this long, learning or not (same traffic).
WINDOW_S = 0.3
#: ``/health`` is polled at least this long from the start of the burst, learning or not (without
#: learning the burst is over in a fraction of a second: too few samples for a percentile).
BURST_WINDOW_S = 5.0


def annotation_event(task_id: int, text: str, label: str) -> dict[str, Any]:
    """Label Studio's ``ANNOTATION_CREATED`` body for one article of the benchmark's project."""
    body = copy.deepcopy(load_fixture("classification_webhook_annotation_created.json"))
    body["project"]["id"] = PROJECT
    body["project"]["label_config"] = bbc_news.LABEL_CONFIG
    body["task"].update({"id": task_id, "data": {"text": text}, "project": PROJECT})
    body["annotation"].update({"id": task_id, "task": task_id, "project": PROJECT})
    body["annotation"]["result"] = [
        {"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    ]
    return body


class HealthPoller:
    """``GET /health`` every ``interval`` seconds in a thread; latencies in ms."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url, self.interval = url, interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            requests.get(f"{self.url}/health", timeout=10).raise_for_status()
            self.samples.append(1000 * (time.perf_counter() - started))
            self._stop.wait(self.interval)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def version(url: str) -> str:
    """What ``/setup`` reports for the project."""
    body = setup_body(PROJECT, bbc_news.LABEL_CONFIG, TOKEN)
    return str(requests.post(f"{url}/setup", json=body, timeout=10).json()["model_version"])


def post_webhook(url: str, body: dict[str, Any]) -> float:
    """Milliseconds until the webhook answered."""
    started = time.perf_counter()
    requests.post(f"{url}/webhook", json=body, timeout=10).raise_for_status()
    return 1000 * (time.perf_counter() - started)


def open_task(url: str, body: dict[str, Any]) -> None:
    """The ``/predict`` Label Studio sends for the annotated task when the annotator opens it."""
    text = body["task"]["data"]["text"]
    requests.post(f"{url}/predict", json=predict_body(PROJECT, bbc_news.LABEL_CONFIG, [text]), timeout=30)


def one_by_one(
    url: str, events: list[dict[str, Any]], learns: bool, predict_first: bool = False
) -> tuple[list[float], list[float]]:
    """Webhook latencies (ms) and, when the backend ``learns``, seconds until ``/setup`` reports the
    new version, per annotation. ``/setup`` is polled for ``WINDOW_S`` after each webhook either way
    (and on until the new version shows, when it learns)."""
    webhooks, delays = [], []
    current = version(url)
    for body in events:
        if predict_first:
            open_task(url, body)
        webhooks.append(post_webhook(url, body))
        answered = time.perf_counter()
        changed_at = None
        while time.perf_counter() - answered < WINDOW_S or (learns and changed_at is None):
            if changed_at is None and (latest := version(url)) != current:
                changed_at, current = time.perf_counter(), latest
            elif changed_at is not None:
                version(url)
            time.sleep(0.01)
        if learns:
            delays.append(changed_at - answered)
    return webhooks, delays


def waiting(url: str) -> int:
    """Instant updates queued in the worker."""
    return int(requests.get(f"{url}/metrics", timeout=10).json()["worker"]["instant_updates"]["waiting"])


def phases(
    url: str, events: list[dict[str, Any]], count: int, learns: bool, predict_first: bool = False
) -> dict[str, list[float]]:
    """Idle, one annotation at a time, then a burst, against one backend; the samples of each."""
    version(url)  # the project is known (its label config)
    with HealthPoller(url) as idle:
        time.sleep(10)
    with HealthPoller(url) as steady:
        webhooks, delays = one_by_one(url, events[:count], learns, predict_first)
    with HealthPoller(url) as burst_health:
        started = time.perf_counter()
        burst = [post_webhook(url, body) for body in events[count:]]
        while waiting(url) or time.perf_counter() - started < BURST_WINDOW_S:
            time.sleep(0.05)
    return {
        "/health, idle": idle.samples,
        "/health, one annotation at a time": steady.samples,
        "/health, burst of annotations": burst_health.samples,
        "/webhook, one annotation at a time": webhooks,
        "/webhook, burst of annotations": burst,
        "annotation answered → new version on /setup": [1000 * d for d in delays],
    }


def main() -> None:
    """The same requests without learning (baseline), then with it; print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=int, default=100, help="in each phase")
    parser.add_argument("--predict-first", action="store_true", help="/predict each task before its webhook")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pairs = bbc_news.articles(per_label=2 * options.annotations // 5, max_words=64)
    events = [annotation_event(i + 1, text, label) for i, (text, label) in enumerate(pairs)]
    samples = {}
    for learns in (False, True):
        scratch = tempfile.TemporaryDirectory(prefix="bench-instant-")
        with scratch as folder, fake_label_studio([], TOKEN) as (ls, _):
            env = {"MODEL_DIR": str(Path(folder) / "models"), "LABEL_STUDIO_URL": ls,
                   "LABEL_STUDIO_API_KEY": TOKEN, "START_TRAINING_EACH_N_UPDATES": "0",
                   "INSTANT_LEARNING": str(learns).lower()}  # fmt: skip
            with backend(ROOT / "bert_classifier", env, workers=1) as url:
                samples[learns] = phases(url, events, options.annotations, learns, options.predict_first)
                if learns:
                    metrics = requests.get(f"{url}/metrics", timeout=10).json()
                    served = metrics["projects"][str(PROJECT)]["served"]
    report(samples, served, "instant_responsiveness" + ("_predict_first" if options.predict_first else ""))


def report(samples: dict[bool, dict[str, list[float]]], served: dict[str, Any], saved_as: str) -> None:
    """Both runs side by side, p99 ratios of ``/health`` (learning / not), saved and printed."""
    rows, payload = [], {"served": served}
    for name, learning in samples[True].items():
        baseline = samples[False][name]
        entry = {"p50": percentile(learning, 50), "p99": percentile(learning, 99), "max": max(learning),
                 "samples": len(learning)}  # fmt: skip
        if baseline:
            entry["baseline"] = {"p50": percentile(baseline, 50), "p99": percentile(baseline, 99),
                                 "max": max(baseline), "samples": len(baseline)}  # fmt: skip
        payload[name] = entry
        before = f"{entry['baseline']['p50']:.1f} / {entry['baseline']['p99']:.1f}" if baseline else "—"
        p99_ratio = ratio(entry["p99"], entry["baseline"]["p99"]) if baseline else "—"
        now = f"{entry['p50']:.1f} / {entry['p99']:.1f}"
        rows.append([name, before, now, p99_ratio, f"{entry['max']:.0f}"])
    save_json(saved_as, payload)
    print(f"\nserved at the end: {served['layer']} {served['why']}")
    header = ["what (ms)", "without learning p50 / p99", "learning p50 / p99", "p99 ratio", "max learning"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
