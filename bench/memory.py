"""Resident memory of a real classifier backend: several projects loaded, and one project retrained.

``label-studio-ml start bert_classifier`` (gunicorn, one worker by default) trains through its
real SDK path against ``tests.support.fake_label_studio`` (20 BBC articles cut to 30 words), with
``NUM_TRAIN_EPOCHS=1``, ``MAX_LENGTH=64``, ``WINDOW_STRIDE=16`` and no training on annotation
counts. For each project (ids 1..5) the benchmark sends what Label Studio sends: ``/setup`` (the
recorded fixture body, its ``"<id>.<created_at>"`` project id renumbered), the START_TRAINING
webhook, waits on ``/metrics`` until that run finished (failing with the log tail if it failed),
then ``/predict`` for a few tasks, so the project's trained model is loaded in the worker.

Memory is the RSS of the gunicorn worker processes (all children of the master, summed; the app
lives only there, since the master does not preload it), measured with psutil; the worker's USS
(pages no other process shares) and the master's RSS are reported beside it. States:

* started (empty ``MODEL_DIR``), after project 1, after all projects were trained and predicted.
  Training runs in the worker's background thread, so these include what training left behind
  (allocator arenas that are freed but not returned to the system).
* the backend restarted on the same ``MODEL_DIR``: after its warm-up (which already loads the
  served model of every known project, up to the cache's 6), then after ``/predict`` for project 1
  and for all projects. This is the cleaner "serving N projects" number.
* a fresh backend (new ``MODEL_DIR``) where one project is trained ``--trainings`` times in a row
  (START_TRAINING, wait, ``/predict`` each time; ``MIN_TRAIN_STEPS=0``, so one epoch of 2 steps):
  after the first, every fifth and the last training.
  Flat means nothing accumulates per training: old versions' models, tokenizers, allocator arenas.

Deltas are against the first state (started, no project). Results go to
``bench/results/memory.json``.

    python -m bench.memory                  # the full benchmark: 5 projects, 20 trainings, 1 worker
    python -m bench.memory --projects 2 --trainings 3    # a quick smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil
import requests

from bench.report import ROOT, markdown_table, save_json
from bench.requests_ls import predict_body, setup_body, start_training_body, training_status
from tests.conftest import load_fixture
from tests.support import bbc_news
from tests.support.fake_label_studio import fake_label_studio
from tests.support.processes import log_tail
from tests.support.servers import backend

PROJECTS = 5
TRAININGS = 20
TASKS_PER_LABEL = 4
WORDS = 30
PREDICT_TASKS = 5
TOKEN = "bench-memory-token"
#: Texts of the /predict request Label Studio recorded (short reviews; any text does for memory).
PREDICT_TEXTS = [task["data"]["text"] for task in load_fixture("classification_predict.json")["tasks"]]
MIB = 1024 * 1024


# -- talking to the backend ----------------------------------------------------------------------


def post(url: str, path: str, body: dict[str, Any], log: Path) -> dict[str, Any]:
    """POST ``body``; any non-2xx answer fails with the backend's log tail."""
    response = requests.post(f"{url}{path}", json=body, timeout=300)
    if not response.ok:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:500]}\n{log_tail(log)}")
    return response.json()


def wait_trained(url: str, project: int, log: Path, timeout_s: float, runs: int = 1) -> dict[str, Any]:
    """Poll ``/metrics`` until the project's ``runs``-th run finished; fail loudly if any failed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        training = training_status(url, project)
        if training.get("runs", 0) >= runs and training.get("state") != "running":
            if training.get("failures"):
                raise RuntimeError(f"project {project}: training failed: {training}\n{log_tail(log)}")
            return training
        time.sleep(0.5)
    raise TimeoutError(f"project {project}: training not finished after {timeout_s:.0f} s\n{log_tail(log)}")


def predict(url: str, project: int, count: int, log: Path) -> None:
    """``/predict`` for the project; every task must get a choice (its trained model answered)."""
    body = predict_body(project, bbc_news.LABEL_CONFIG, PREDICT_TEXTS[:count])
    results = post(url, "/predict", body, log)["results"]
    if len(results) != count or not all(item.get("result") for item in results):
        raise RuntimeError(f"project {project}: no trained predictions: {results}\n{log_tail(log)}")


# -- measuring -----------------------------------------------------------------------------------


def gunicorn_master(url: str) -> psutil.Process:
    """The gunicorn master serving ``url``: our child process bound to its port."""
    bind = urlparse(url).netloc
    for child in psutil.Process().children():
        if any(bind in part for part in child.cmdline()):
            return child
    raise RuntimeError(f"no child process serves {bind}")


def measure(master: psutil.Process, url: str) -> dict[str, Any]:
    """Worker RSS, USS and mapped weight files (summed over the master's children), master RSS."""
    workers = master.children(recursive=True)
    info = [worker.memory_full_info() for worker in workers]
    # Weights may stay memory-mapped from their .safetensors file, paged in only when first used.
    mapped = [m.rss for w in workers for m in w.memory_maps() if m.path.endswith(".safetensors")]
    worker = requests.get(f"{url}/metrics", timeout=10).json()["worker"]
    return {
        "worker_rss_mib": round(sum(i.rss for i in info) / MIB, 1),
        "worker_uss_mib": round(sum(i.uss for i in info) / MIB, 1),
        "mapped_weights_mib": round(sum(mapped) / MIB, 1),
        "master_rss_mib": round(master.memory_info().rss / MIB, 1),
        "worker_pids": sorted(w.pid for w in workers),
        "loaded_projects": worker["loaded_projects"],
    }


class Recorder:
    """Measurements in order; fails when the worker changed (a restart would void the numbers)."""

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = []
        self._pids: list[int] | None = None

    def backend_started(self, master: psutil.Process, url: str) -> None:
        """A new backend: the next measurement sets the worker PIDs to expect."""
        self.master, self.url, self._pids = master, url, None

    def take(self, state: str) -> None:
        """Record the memory of the current backend as ``state``."""
        sample = measure(self.master, self.url)
        if self._pids is not None and sample["worker_pids"] != self._pids:
            raise RuntimeError(f"the worker was replaced ({self._pids} -> {sample['worker_pids']})")
        self._pids = sample["worker_pids"]
        self.states.append({"state": state, **sample})
        print(f"{state}: {sample['worker_rss_mib']} MiB", flush=True)


# -- the two phases ------------------------------------------------------------------------------


def train_phase(url: str, options: argparse.Namespace, ls_url: str, log: Path, rec: Recorder) -> None:
    """Set up, train and predict each project in turn on a fresh backend."""
    rec.take("started, idle (no project)")
    for project in range(1, options.projects + 1):
        post(url, "/setup", setup_body(project, bbc_news.LABEL_CONFIG, TOKEN, ls_url), log)
        post(url, "/webhook", start_training_body(project, bbc_news.LABEL_CONFIG), log)
        wait_trained(url, project, log, options.train_timeout)
        predict(url, project, options.predict_tasks, log)
        if project == 1 or project == options.projects:
            rec.take(f"{project} project(s) trained + predicted")


def restart_phase(url: str, options: argparse.Namespace, ls_url: str, log: Path, rec: Recorder) -> None:
    """Predict each project in turn on a backend restarted on the same ``MODEL_DIR`` (``ls_url``: unused,
    every phase takes the same arguments)."""
    rec.take("restarted, after warm-up")
    for project in range(1, options.projects + 1):
        predict(url, project, options.predict_tasks, log)
        if project == 1 or project == options.projects:
            rec.take(f"restarted, {project} project(s) predicted")


def retrain_phase(url: str, options: argparse.Namespace, ls_url: str, log: Path, rec: Recorder) -> None:
    """Train project 1 ``options.trainings`` times in a row on a fresh backend, predicting after each."""
    rec.take("fresh backend, idle (no project)")
    post(url, "/setup", setup_body(1, bbc_news.LABEL_CONFIG, TOKEN, ls_url), log)
    for count in range(1, options.trainings + 1):
        post(url, "/webhook", start_training_body(1, bbc_news.LABEL_CONFIG), log)
        wait_trained(url, 1, log, options.train_timeout, runs=count)
        predict(url, 1, options.predict_tasks, log)
        if count in (1, options.trainings) or count % 5 == 0:
            rec.take(f"1 project trained {count}x + predicted")


def run(options: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    """The three phases against one fake Label Studio; returns the recorded states."""
    pairs = bbc_news.articles(TASKS_PER_LABEL, max_words=options.words)
    tasks = [bbc_news.to_task(text, label, index) for index, (text, label) in enumerate(pairs, start=1)]
    recorder = Recorder()
    with fake_label_studio(tasks, TOKEN) as (ls_url, _):
        env = {"MODEL_DIR": str(folder / "models"), "LABEL_STUDIO_URL": ls_url, "LABEL_STUDIO_API_KEY": TOKEN,
               "NUM_TRAIN_EPOCHS": "1", "MAX_LENGTH": "64", "WINDOW_STRIDE": "16",
               "START_TRAINING_EACH_N_UPDATES": "0"}  # fmt: skip
        for phase in (train_phase, restart_phase) if options.projects else ():
            log = folder / f"{phase.__name__}.log"
            with backend(ROOT / "bert_classifier", env, workers=options.workers, log=log) as url:
                recorder.backend_started(gunicorn_master(url), url)
                phase(url, options, ls_url, log, recorder)
        if options.trainings:
            # One epoch without MIN_TRAIN_STEPS (2 optimizer steps): what a training leaves behind
            # (versions, models, tokenizers) does not depend on how long it ran.
            env = {**env, "MODEL_DIR": str(folder / "retrained"), "MIN_TRAIN_STEPS": "0"}
            log = folder / "retrain.log"
            with backend(ROOT / "bert_classifier", env, workers=options.workers, log=log) as url:
                recorder.backend_started(gunicorn_master(url), url)
                retrain_phase(url, options, ls_url, log, recorder)
    return recorder.states


def main() -> None:
    """Parse options, run the phases, save the numbers, print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=PROJECTS, help="projects served (0: skip)")
    parser.add_argument("--trainings", type=int, default=TRAININGS, help="trainings of one project (0: skip)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument("--words", type=int, default=WORDS, help="words per training article")
    parser.add_argument("--predict-tasks", type=int, default=PREDICT_TASKS, help="tasks per /predict")
    parser.add_argument("--train-timeout", type=float, default=600, help="seconds one training may take")
    options = parser.parse_args()
    if options.projects < 0 or options.trainings < 0 or not 1 <= options.predict_tasks <= 15:
        parser.error("need --projects, --trainings >= 0 and 1 <= --predict-tasks <= 15 (the fixture's tasks)")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        states = run(options, Path(folder))
    idle = states[0]["worker_rss_mib"]
    rows = [[s["state"], f"{s['worker_rss_mib']:.0f}", f"{s['worker_rss_mib'] - idle:+.0f}",
             f"{s['worker_uss_mib']:.0f}", f"{s['mapped_weights_mib']:.0f}",
             f"{s['master_rss_mib']:.0f}"] for s in states]  # fmt: skip
    header = ["state", "worker RSS MiB", "Δ vs idle", "worker USS MiB", "of RSS: mapped weights MiB",
              "master RSS MiB"]  # fmt: skip
    markdown = markdown_table(header, rows)
    save_json("memory", {"projects": options.projects, "trainings": options.trainings,
                         "workers": options.workers, "words": options.words,
                         "states": states, "table": markdown})  # fmt: skip
    print(f"\nbert_classifier, {options.workers} worker(s), {options.projects} project(s), "
          f"{options.trainings} trainings of one project\n")  # fmt: skip
    print(markdown)


if __name__ == "__main__":
    main()
