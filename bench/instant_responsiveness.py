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
requests (webhooks, ``/setup`` polls for ``WINDOW_S``, the bursts): the ratio of ``/health``'s p99
with and without learning is what the instant updates themselves cost. Both backends run side by
side and each phase is split into blocks that go to one, then the other (the first alternating),
so that the machine's own noise (a shared virtual machine's p99 moves 2x between minutes) falls on
both alike. The baseline's even blocks against its odd blocks (an A/A ratio) show how far from 1.0x
that noise alone moves a ratio.

    python -m bench.instant_responsiveness              # 100 + 100 annotations, about 5 minutes
    python -m bench.instant_responsiveness --predict-first
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.report import markdown_table, percentile, ratio, save_json
from bench.requests_ls import predict_body, project_key, setup_body
from tests.conftest import load_fixture
from tests.support import bbc_news
from tests.support.fake_label_studio import fake_label_studio
from tests.support.servers import ROOT, backend

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


def burst(url: str, events: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Webhooks back to back; ``/health`` polled until all are learned and ``BURST_WINDOW_S`` passed.
    The webhook latencies and the ``/health`` samples."""
    with HealthPoller(url) as health:
        started = time.perf_counter()
        answered = [post_webhook(url, body) for body in events]
        while waiting(url) or time.perf_counter() - started < BURST_WINDOW_S:
            time.sleep(0.05)
    return answered, health.samples


class Samples:
    """Each backend's samples per measurement, and in which block each ``/health`` sample fell."""

    def __init__(self) -> None:
        self.values: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
        #: The baseline's ``/health`` samples of even and odd blocks apart: an A/A comparison (the
        #: same backend against itself) shows which ratio the machine's noise alone produces.
        self.halves: dict[str, tuple[list[float], list[float]]] = {}

    def add(self, learns: bool, name: str, values: list[float], block: int) -> None:
        self.values[learns].setdefault(name, []).extend(values)
        if not learns and name.startswith("/health"):
            self.halves.setdefault(name, ([], []))[block % 2].extend(values)


def turns(block: int) -> tuple[bool, bool]:
    """Which backend (learning or not) gets ``block`` first: they take turns."""
    return (False, True) if block % 2 == 0 else (True, False)


def interleaved(
    urls: dict[bool, str], events: list[dict[str, Any]], count: int, blocks: int, predict_first: bool
) -> Samples:
    """Idle, one annotation at a time, then bursts, each split into ``blocks`` blocks that go to
    both backends in turn (the first backend alternates): both see the machine's noise alike."""
    samples = Samples()
    for url in urls.values():
        version(url)  # the project is known (its label config)
    steady, rest = events[:count], events[count:]
    for block in range(blocks):
        for learns in turns(block):
            url = urls[learns]
            with HealthPoller(url) as idle:
                time.sleep(10 / blocks)
            samples.add(learns, "/health, idle", idle.samples, block)
            part = steady[block::blocks]
            with HealthPoller(url) as health:
                webhooks, delays = one_by_one(url, part, learns, predict_first)
            samples.add(learns, "/health, one annotation at a time", health.samples, block)
            samples.add(learns, "/webhook, one annotation at a time", webhooks, block)
            delays_ms = [1000 * d for d in delays]
            samples.add(learns, "annotation answered → new version on /setup", delays_ms, block)
    for block in range(min(blocks, 2)):  # two bursts of half each: a burst needs its size
        for learns in turns(block):
            answered, health = burst(urls[learns], rest[block::2])
            samples.add(learns, "/webhook, burst of annotations", answered, block)
            samples.add(learns, "/health, burst of annotations", health, block)
    return samples


def main() -> None:
    """Both backends side by side, the same requests to each block by block; the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=int, default=100, help="in each phase")
    parser.add_argument("--blocks", type=int, default=10, help="blocks each phase is split into")
    parser.add_argument("--predict-first", action="store_true", help="/predict each task before its webhook")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pairs = bbc_news.articles(per_label=2 * options.annotations // 5, max_words=64)
    events = [annotation_event(i + 1, text, label) for i, (text, label) in enumerate(pairs)]
    with contextlib.ExitStack() as stack:
        urls = {}
        for learns in (False, True):
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-instant-"))
            ls, _ = stack.enter_context(fake_label_studio([], TOKEN))
            env = {"MODEL_DIR": str(Path(folder) / "models"), "LABEL_STUDIO_URL": ls,
                   "LABEL_STUDIO_API_KEY": TOKEN, "START_TRAINING_EACH_N_UPDATES": "0",
                   "INSTANT_LEARNING": str(learns).lower(),
                   # Every head visible on /setup, which this bench times (the update's work is the same).
                   "INSTANT_VERSION_EVERY": "1"}  # fmt: skip
            urls[learns] = stack.enter_context(backend(ROOT / "bert_classifier", env, workers=1))
        samples = interleaved(urls, events, options.annotations, options.blocks, options.predict_first)
        projects = requests.get(f"{urls[True]}/metrics", timeout=10).json()["projects"]
        served = projects[project_key(PROJECT)]["served"]
    report(samples, served, "instant_responsiveness" + ("_predict_first" if options.predict_first else ""))


def report(samples: Samples, served: dict[str, Any], saved_as: str) -> None:
    """Both backends side by side, p99 ratios (learning / not) and the baseline's A/A ratio."""
    rows, payload = [], {"served": served}
    for name, learning in samples.values[True].items():
        baseline = samples.values[False].get(name) or []
        entry = summary(learning)
        if baseline:
            entry["baseline"] = summary(baseline)
        if name in samples.halves and all(samples.halves[name]):
            even, odd = samples.halves[name]
            entry["baseline_a_a_p99_ratio"] = percentile(odd, 99) / percentile(even, 99)
        payload[name] = entry
        before = f"{entry['baseline']['p50']:.1f} / {entry['baseline']['p99']:.1f}" if baseline else "—"
        p99_ratio = ratio(entry["p99"], entry["baseline"]["p99"]) if baseline else "—"
        noise = f"{entry['baseline_a_a_p99_ratio']:.2f}x" if "baseline_a_a_p99_ratio" in entry else "—"
        now = f"{entry['p50']:.1f} / {entry['p99']:.1f}"
        rows.append([name, before, now, p99_ratio, noise, f"{entry['max']:.0f}"])
    save_json(saved_as, payload)
    print(f"\nserved at the end: {served['layer']} {served['why']}")
    header = ["what (ms)", "without learning p50 / p99", "learning p50 / p99", "p99 ratio",
              "A/A p99 ratio (baseline odd / even blocks)", "max learning"]  # fmt: skip
    print(markdown_table(header, rows))


def summary(values: list[float]) -> dict[str, float]:
    """p50, p99, max and count of ``values`` (ms)."""
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "max": max(values),
            "samples": len(values)}  # fmt: skip


if __name__ == "__main__":
    main()
