"""Does the backend stay responsive while it trains? ``/health`` and ``/setup`` latency, idle vs training.

A real classifier backend (``label-studio-ml start``: gunicorn, default 1 worker and 8 threads)
reads BBC News tasks from a stand-in Label Studio API. Latencies are measured first on the idle
backend (the baseline), then while a "Start training" runs in that same worker. Label Studio
gives ``/health`` 1 s and ``/setup`` 3 s; the table shows how far from that both stay.

    python -m bench.responsiveness                    # 300 tasks, ≈1 minute of training
    python -m bench.responsiveness --tasks 60 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import requests

from bench.report import markdown_table, percentile, ratio, save_json
from bench.requests_ls import setup_body, start_training_body, training_status
from tests.support import bbc_news
from tests.support.fake_label_studio import fake_label_studio
from tests.support.servers import ROOT, backend

TOKEN = "bench-token"
PROJECT = 1


def one_round(url: str) -> tuple[float, float]:
    """Milliseconds of one ``GET /health`` and one ``POST /setup``."""
    started = time.perf_counter()
    requests.get(f"{url}/health", timeout=5).raise_for_status()
    health = time.perf_counter() - started
    started = time.perf_counter()
    body = setup_body(PROJECT, bbc_news.LABEL_CONFIG, TOKEN)
    requests.post(f"{url}/setup", json=body, timeout=5).raise_for_status()
    return 1000 * health, 1000 * (time.perf_counter() - started)


def measure(url: str, rounds: int, while_training: bool, deadline_s: float) -> dict[str, list[float]]:
    """Latency samples, either ``rounds`` on the idle backend or all through one training run."""
    samples: dict[str, list[float]] = {"health": [], "setup": []}
    started = time.monotonic()
    if while_training:
        body = start_training_body(PROJECT, bbc_news.LABEL_CONFIG)
        response = requests.post(f"{url}/webhook", json=body, timeout=5)
        response.raise_for_status()
    while time.monotonic() - started < deadline_s:
        health, setup = one_round(url)
        samples["health"].append(health)
        samples["setup"].append(setup)
        if not while_training and len(samples["health"]) >= rounds:
            break
        if while_training and training_status(url, PROJECT).get("state") != "running":
            break
        time.sleep(0.05)
    return samples


def main() -> None:
    """Measure idle, then during training; print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300, help="labeled BBC tasks to train on")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=200, help="idle requests of each kind")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pairs = bbc_news.articles(per_label=options.tasks // len(bbc_news.LABELS), max_words=64)
    tasks = [bbc_news.to_task(text, label, i) for i, (text, label) in enumerate(pairs)]
    with (
        tempfile.TemporaryDirectory(prefix="bench-responsive-") as folder,
        fake_label_studio(tasks, TOKEN) as (ls_url, _),
    ):
        env = {
            "MODEL_DIR": str(Path(folder) / "models"),
            "LABEL_STUDIO_URL": ls_url,
            "LABEL_STUDIO_API_KEY": TOKEN,
            "START_TRAINING_EACH_N_UPDATES": "0",
            "NUM_TRAIN_EPOCHS": str(options.epochs),
        }
        with backend(ROOT / "bert_classifier", env, workers=1) as url:
            idle = measure(url, options.rounds, while_training=False, deadline_s=120)
            training = measure(url, options.rounds, while_training=True, deadline_s=1800)
            final = training_status(url, PROJECT)
    if final.get("last_error") or final.get("error"):
        raise SystemExit(f"training failed: {json.dumps(final)}")
    table, payload = [], {"training": final}
    for name in ("health", "setup"):
        idle_p50, idle_p99 = percentile(idle[name], 50), percentile(idle[name], 99)
        busy_p50, busy_p99 = percentile(training[name], 50), percentile(training[name], 99)
        worst = max(training[name])
        payload[name] = {
            "idle_ms": [idle_p50, idle_p99],
            "training_ms": [busy_p50, busy_p99],
            "max_training_ms": worst,
            "samples": [len(idle[name]), len(training[name])],
        }
        table.append([
            f"/{name}", f"{idle_p50:.1f} / {idle_p99:.1f}", f"{busy_p50:.1f} / {busy_p99:.1f}",
            f"{worst:.0f}", ratio(busy_p99, idle_p99), len(training[name]),
        ])  # fmt: skip
    save_json("responsiveness", payload)
    print(f"\ntraining: {json.dumps(final)}")
    print(markdown_table(["route", "idle p50 / p99 ms", "training p50 / p99 ms", "training max ms",
                          "p99 training vs idle", "requests during training"], table))  # fmt: skip


if __name__ == "__main__":
    main()
