"""Distributed mode against a real Label Studio 1.23.2: Redis, two RQ training workers and two
serving replicas of the real classifier (gunicorn, separate MODEL_DIRs, one shared MODEL_STORE).
Label Studio is connected to replica 1 only; the annotations it sends train in a worker, both
replicas serve the result, a worker killed mid-job hands it to the other, and two projects train
in parallel on the two workers."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, BackendServer
from tests.support.e2e_steps import FAST_TRAINING, choice, connect, only_predictions
from tests.support.ls_user import LabelStudioUser, project_entry, wait_for
from tests.support.processes import ManagedProcess

pytestmark = pytest.mark.e2e


def training(url: str, project: int) -> dict:
    projects = requests.get(f"{url}/metrics", timeout=10).json()["projects"]
    return project_entry(projects, project).get("training", {})


def served_version(url: str, key: str) -> str:
    body = {"project": key, "schema": bbc_news.LABEL_CONFIG}
    return requests.post(f"{url}/setup", json=body, timeout=10).json()["model_version"]


def finished(url: str, project: int, runs: int) -> dict | None:
    row = training(url, project)
    return row if row.get("runs") == runs and row.get("state") == "idle" else None


def listening(url: str) -> list[str]:
    return requests.get(f"{url}/metrics", timeout=10).json()["worker"]["training_slots"]["workers"]


def pid_of(owner: str) -> int:
    return int(owner.split(":")[1])


def test_replicas_and_workers_share_redis_and_one_model_store(
    ls_user: LabelStudioUser, start_backend, redis_url: str, tmp_path: Path
) -> None:
    shared = {
        **FAST_TRAINING,
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",  # a database of its own
        "MODEL_STORE": str(tmp_path / "store"),
        "START_TRAINING_EACH_N_UPDATES": "5",
        "MIN_TRAIN_STEPS": "15",  # trainings of several seconds: long enough to kill one, or overlap two
        "TRAINING_LEASE_SECONDS": "10",
    }
    replicas: list[BackendServer] = [
        start_backend(BERT_CLASSIFIER_DIR, env=shared, workers=1) for _ in range(2)
    ]
    workers = []
    for n in range(2):
        env = {**os.environ, **shared, "MODEL_DIR": str(tmp_path / f"worker-{n}"), "HF_HUB_OFFLINE": "1"}
        argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(BERT_CLASSIFIER_DIR)]
        process = ManagedProcess(f"worker-{n}", argv, env, tmp_path / f"worker-{n}.log")
        process.start()
        workers.append(process)
    try:
        one, two = (replica.url for replica in replicas)
        wait_for(lambda: len(listening(one)) == 2, 120, "both workers to listen")
        pairs = bbc_news.articles(per_label=2, max_words=40)
        project = ls_user.create_project("e2e distributed", bbc_news.LABEL_CONFIG)
        tasks = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in pairs])
        ml_id = connect(ls_user, project, replicas[0])

        # 1. Five annotations through Label Studio: the training runs in a worker, not a replica.
        for index in range(0, 10, 2):
            ls_user.annotate(tasks[index], choice(pairs[index][1]))
        running = wait_for(lambda: training(two, project).get("running_in"), 120, "training to start")
        assert pid_of(running) in {w.pid for w in workers}
        for url in (one, two):  # both replicas keep answering while it trains
            assert requests.get(f"{url}/health", timeout=5).status_code == 200
        done = wait_for(lambda: finished(one, project, 1), 300, "the training")
        assert done["failures"] == 0 and done["trained_by"] == running

        # 2. Both replicas serve the new version within 2 s of the job's end.
        key = ls_user.project_key(project)
        ended = time.monotonic()
        versions = wait_for(lambda: {served_version(url, key) for url in (one, two)}, 2, "both versions")
        assert len(versions) == 1 and time.monotonic() - ended < 2
        (version,) = versions
        assert version != "0.0.1"
        ls_user.retrieve_predictions(project)
        assert {p["model_version"] for p in only_predictions(ls_user, project).values()} == {version}

        # 3. kill -9 of the worker running a job: the other finishes it, one new version.
        ls_user.train(ml_id)
        victim = wait_for(lambda: training(one, project).get("running_in"), 120, "second training to start")
        os.kill(pid_of(victim), signal.SIGKILL)
        resumed = wait_for(lambda: finished(one, project, 2), 300, "the resumed training")
        assert resumed["failures"] == 0 and pid_of(resumed["trained_by"]) != pid_of(victim)
        listed = requests.get(f"{one}/versions", params={"project": project}, timeout=10).json()
        assert len(project_entry(listed["projects"], project)["versions"]) == 2  # one per finished training

        # 4. Two projects train in parallel on the two workers (a fresh worker replaces the dead one).
        replacement = ManagedProcess("worker-2", workers[0].argv, workers[0].env, tmp_path / "worker-2.log")
        replacement.start()
        workers.append(replacement)
        other = ls_user.create_project("e2e distributed 2", bbc_news.LABEL_CONFIG)
        other_tasks = ls_user.import_tasks(other, [{"data": {"text": text}} for text, _ in pairs])
        other_ml = connect(ls_user, other, replicas[0])
        for index in range(0, 10, 2):
            ls_user.annotate(other_tasks[index], choice(pairs[index][1]))
        ls_user.train(ml_id)
        ls_user.train(other_ml)
        both = wait_for(
            lambda: all(w := [training(one, p).get("running_in") for p in (project, other)]) and set(w),
            120,
            "both projects training at once",
        )
        assert len(both) == 2
    finally:
        for process in workers:
            process.stop()
