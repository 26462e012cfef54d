"""Distributed mode: from the N-th annotation to the new version on every replica, and trainings per
hour with one against two RQ training workers.

A real Redis, two classifier replicas (``label-studio-ml start``, one worker process each, their
own ``MODEL_DIR``, one shared ``MODEL_STORE``) and ``label-studio-ml worker`` processes read BBC
News tasks from a stand-in Label Studio API.

1. Latency: ``START_TRAINING_EACH_N_UPDATES`` annotation webhooks to replica 1; the clock runs from
   the N-th webhook's answer until both replicas' ``/setup`` report the new version, split into
   waiting for a worker, training, and publication to both replicas.
2. Throughput: four projects asked to train at once, with one worker and then with two (each
   worker gets ``cores / workers`` torch threads, so both runs use the whole machine).

    python -m bench.distributed                    # ≈6 min on 2 cores
    python -m bench.distributed --tasks 40 --steps 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import requests

from bench.report import markdown_table, save_json
from bench.requests_ls import setup_body, start_training_body, training_status
from tests.support import bbc_news
from tests.support.fake_label_studio import fake_label_studio
from tests.support.processes import ManagedProcess
from tests.support.redis_server import redis_server
from tests.support.servers import ROOT, backend

TOKEN = "bench-token"
BACKEND = ROOT / "bert_classifier"


def served(url: str, project: int, hostname: str) -> str:
    body = setup_body(project, bbc_news.LABEL_CONFIG, TOKEN, hostname)
    return requests.post(f"{url}/setup", json=body, timeout=10).json()["model_version"]


def wait(condition, timeout: float = 900.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish")
        time.sleep(interval)
    return value


def start_workers(count: int, env: dict[str, str], folder: Path) -> list[ManagedProcess]:
    threads = str(max(1, (os.cpu_count() or 1) // count))
    workers = []
    for n in range(count):
        worker_env = {**os.environ, **env, "MODEL_DIR": str(folder / f"worker-{n}")}
        worker_env.update(OMP_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
        argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(BACKEND)]
        process = ManagedProcess(f"worker-{n}", argv, worker_env, folder / f"worker-{n}.log")
        process.start()
        workers.append(process)
    return workers


def listening(url: str) -> int:
    return len(requests.get(f"{url}/metrics", timeout=10).json()["worker"]["training_slots"]["workers"])


def latency(replicas: list[str], ls_url: str, project: int, changes: int) -> dict[str, float]:
    """Seconds from the N-th annotation webhook to both replicas serving the new version."""
    before = served(replicas[0], project, ls_url)
    body = start_training_body(project, bbc_news.LABEL_CONFIG)
    body["action"] = "ANNOTATION_CREATED"
    for _ in range(changes):
        requests.post(f"{replicas[0]}/webhook", json=body, timeout=10).raise_for_status()
    sent = time.monotonic()
    wait(lambda: training_status(replicas[0], project).get("state") == "running")
    started = time.monotonic()
    wait(lambda: all(served(url, project, ls_url) != before for url in replicas))
    everywhere = time.monotonic()
    row = wait(lambda: (r := training_status(replicas[0], project)).get("state") == "idle" and r)
    return {
        "to_both_replicas_s": round(everywhere - sent, 2),
        "waiting_for_a_worker_s": round(started - sent, 2),
        "training_job_s": round(float(row["duration_s"]), 2),
    }


def throughput(replica: str, ls_url: str, projects: list[int]) -> dict[str, float]:
    """Trainings per hour when ``projects`` all ask to train at once."""
    for project in projects:
        served(replica, project, ls_url)
    started = time.monotonic()
    for project in projects:
        body = start_training_body(project, bbc_news.LABEL_CONFIG)
        requests.post(f"{replica}/webhook", json=body, timeout=10).raise_for_status()
    wait(lambda: all(training_status(replica, p).get("runs", 0) >= 1 for p in projects))
    elapsed = time.monotonic() - started
    durations = [float(training_status(replica, p)["duration_s"]) for p in projects]
    return {
        "wall_s": round(elapsed, 1),
        "trainings_per_hour": round(3600 * len(projects) / elapsed, 1),
        "mean_job_s": round(sum(durations) / len(durations), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100, help="labeled tasks per project")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per training")
    parser.add_argument("--changes", type=int, default=10, help="START_TRAINING_EACH_N_UPDATES")
    args = parser.parse_args()

    pairs = bbc_news.articles(per_label=max(1, args.tasks // 5), max_words=60)
    tasks = [bbc_news.to_task(text, label, index + 1) for index, (text, label) in enumerate(pairs)]
    folder = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    results: dict[str, object] = {"tasks": len(tasks), "steps": args.steps, "cpu_count": os.cpu_count()}
    with ExitStack() as stack:
        ls_url, _ = stack.enter_context(fake_label_studio(tasks, TOKEN))
        redis_url = stack.enter_context(redis_server())
        env = {
            "REDIS_URL": redis_url, "MODEL_STORE": str(folder / "store"),
            "START_TRAINING_EACH_N_UPDATES": str(args.changes), "NUM_TRAIN_EPOCHS": "1",
            "MIN_TRAIN_STEPS": str(args.steps), "MAX_LENGTH": "128", "WINDOW_STRIDE": "32",
        }  # fmt: skip
        replicas = [
            stack.enter_context(backend(BACKEND, {**env, "MODEL_DIR": str(folder / f"r{n}")}, workers=1))
            for n in range(2)
        ]
        for workers_count, projects in ((1, [11, 12, 13, 14]), (2, [21, 22, 23, 24])):
            workers = start_workers(workers_count, env, folder / f"run-{workers_count}")
            try:
                wait(lambda n=workers_count: listening(replicas[0]) == n, 180)
                if workers_count == 1:
                    results["latency"] = latency(replicas, ls_url, 1, args.changes)
                results[f"throughput_{workers_count}_workers"] = throughput(replicas[0], ls_url, projects)
            finally:
                for worker in workers:
                    worker.stop()
            wait(lambda: listening(replicas[0]) == 0, 60, 0.5)
    save_json("distributed", results)
    print(json.dumps(results, indent=2))
    rows = []
    for count in (1, 2):
        run = results[f"throughput_{count}_workers"]
        rows.append([count, f"{run['wall_s']} s", run["trainings_per_hour"], f"{run['mean_job_s']} s"])
    print(markdown_table(["workers", "4 trainings took", "trainings/hour", "mean job"], rows))
    print(markdown_table(["from the N-th annotation", "seconds"], list(results["latency"].items())))


if __name__ == "__main__":
    main()
