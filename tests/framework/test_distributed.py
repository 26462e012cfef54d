"""Distributed mode on a real Redis: two serving replicas (gunicorn), two RQ training workers,
one shared model store. Trainings run in workers only, replicas pick new versions up at once, a
worker killed mid-job hands its job to the other, and two projects train in parallel."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import BACKENDS, load_fixture
from tests.support.processes import ManagedProcess, free_port
from tests.support.redis_server import redis_server
from tests.support.servers import backend

KEYWORD = BACKENDS / "keyword"
SETUP = load_fixture("classification_setup.json")
START_TRAINING = load_fixture("classification_webhook_start_training.json")


def poll(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(interval)
    return value


def _labeled(tmp_path: Path) -> Path:
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    return labeled


@contextmanager
def cluster(tmp_path: Path, redis_url: str, workers: int = 2, replicas: int = 2) -> Iterator[dict]:
    """Replicas (each its own MODEL_DIR) and workers sharing Redis and MODEL_STORE."""
    labeled = _labeled(tmp_path)
    gate = tmp_path / "gate"
    shared = {
        "REDIS_URL": redis_url,
        "MODEL_STORE": str(tmp_path / "store"),
        "KEYWORD_TRAINING_FILE": str(labeled),
        "KEYWORD_FIT_GATE": str(gate),
        "TRAINING_LEASE_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
    }
    with ExitStack() as stack:
        urls = [
            stack.enter_context(
                backend(KEYWORD, {**shared, "MODEL_DIR": str(tmp_path / f"replica-{n}")}, workers=1)
            )
            for n in range(replicas)
        ]
        trainers = []
        for n in range(workers):
            env = {**os.environ, **shared, "MODEL_DIR": str(tmp_path / f"worker-{n}")}
            argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(KEYWORD)]
            process = ManagedProcess(f"worker-{n}", argv, env, tmp_path / f"worker-{n}.log")
            process.start()
            stack.callback(process.stop)
            trainers.append(process)
        poll(lambda: len(report(urls[0])["training_slots"]["workers"]) == workers, 60, "workers to register")
        yield {"replicas": urls, "workers": trainers, "gate": gate}


def report(url: str) -> dict:
    return requests.get(f"{url}/metrics", timeout=5).json()["worker"]


def key(project: str) -> str:
    """Project ``project`` as Label Studio names it: with the recorded webhook's creation time."""
    return f"{project}.1795422209"


def training(url: str, project: str = "1") -> dict:
    projects = requests.get(f"{url}/metrics", timeout=5).json()["projects"]
    return projects.get(key(project), {}).get("training", {})


def finished_runs(url: str, runs: int, project: str = "1") -> dict | None:
    """The project's training once ``runs`` runs finished and nothing is queued or running."""
    row = training(url, project)
    return row if row.get("runs") == runs and row.get("state") == "idle" else None


def setup_version(url: str, project: str = "1") -> str:
    body = {**SETUP, "project": key(project)}
    return requests.post(f"{url}/setup", json=body, timeout=5).json()["model_version"]


def start_training(url: str, project: str = "1") -> None:
    body = {**START_TRAINING, "project": {**START_TRAINING["project"], "id": int(project)}}
    assert requests.post(f"{url}/webhook", json=body, timeout=5).status_code == 201


@pytest.fixture
def redis_url_for_cluster(redis_url: str) -> Iterator[str]:
    # One database per test: the session's Redis, emptied afterwards.
    import redis

    yield redis_url
    redis.Redis.from_url(redis_url).flushdb()


def test_training_runs_in_a_worker_and_every_replica_serves_the_new_version_at_once(
    tmp_path, redis_url_for_cluster
):
    with cluster(tmp_path, redis_url_for_cluster) as c:
        one, two = c["replicas"]
        assert {setup_version(one), setup_version(two)} == {"0.0.1"}
        c["gate"].touch()
        start_training(one)
        running = poll(lambda: training(two).get("running_in"), 30, "the job to start in a worker")
        worker_pids = {p.pid for p in c["workers"]}
        replica_pids = {report(url)["pid"] for url in (one, two)}
        assert int(running.split(":")[1]) in worker_pids and int(running.split(":")[1]) not in replica_pids

        # While a worker trains, both replicas answer.
        predict = load_fixture("classification_predict_test.json")
        for url in (one, two):
            assert requests.get(f"{url}/health", timeout=2).status_code == 200
            assert requests.post(f"{url}/predict", json=predict, timeout=5).status_code == 200

        c["gate"].unlink()
        done = poll(lambda: finished_runs(one, 1), 30, "the job")
        finished = time.monotonic()
        versions = poll(lambda: {setup_version(one), setup_version(two)} - {"0.0.1"}, 2.0, "replicas")
        assert len(versions) == 1 and time.monotonic() - finished < 2.0
        assert done["trained_by"] == running and done["failures"] == 0
        (version,) = versions
        for url in (one, two):
            item = requests.post(
                f"{url}/predict", json=load_fixture("classification_predict_on_task_open.json"), timeout=5
            ).json()["results"][0]
            assert item["model_version"] == version and item["result"][0]["value"]["choices"] == ["positive"]


def test_a_worker_killed_mid_job_hands_it_to_the_other_and_one_version_is_published(
    tmp_path, redis_url_for_cluster
):
    with cluster(tmp_path, redis_url_for_cluster) as c:
        one, _ = c["replicas"]
        c["gate"].touch()
        start_training(one)
        first = poll(lambda: training(one).get("running_in"), 30, "the job to start")
        killed = int(first.split(":")[1])
        os.kill(killed, signal.SIGKILL)
        c["gate"].unlink()
        done = poll(lambda: finished_runs(one, 1), 60, "the resumed job")
        survivor = {p.pid for p in c["workers"]} - {killed}
        assert int(done["trained_by"].split(":")[1]) in survivor
        assert done["runs"] == 1 and done["failures"] == 0
        versions = requests.get(f"{one}/versions", timeout=5).json()["projects"][key("1")]["versions"]
        assert len(versions) == 1, versions  # published exactly once


def test_two_projects_train_in_parallel_on_two_workers(tmp_path, redis_url_for_cluster):
    with cluster(tmp_path, redis_url_for_cluster) as c:
        one, _ = c["replicas"]
        setup_version(one, "2")
        c["gate"].touch()
        start_training(one, "1")
        start_training(one, "2")
        both = poll(
            lambda: all(where := [training(one, p).get("running_in") for p in ("1", "2")]) and set(where),
            30,
            "both projects running",
        )
        assert len(both) == 2  # two different worker processes at the same time
        c["gate"].unlink()
        for project in ("1", "2"):
            poll(lambda p=project: training(one, p).get("runs") == 1, 30, f"project {project}")


def test_a_replica_that_cannot_reach_redis_answers_503_with_the_reason(tmp_path):
    import redis

    with (
        redis_server() as url,
        backend(KEYWORD, {"REDIS_URL": url, "MODEL_DIR": str(tmp_path / "m")}, workers=1) as replica,
    ):
        assert requests.get(f"{replica}/health", timeout=5).status_code == 200
        redis.Redis.from_url(url).shutdown(nosave=True)
        response = requests.get(f"{replica}/health", timeout=15)
        assert response.status_code == 503
        body = response.json()
        assert body["error_type"] == "StateUnavailable"
        assert body["error"].startswith(f"Redis at {url} is unreachable")
        assert requests.post(f"{replica}/setup", json=SETUP, timeout=15).status_code == 503


def test_a_worker_that_loses_redis_logs_it_and_carries_on_when_redis_is_back(tmp_path):
    import redis

    port = free_port()
    log = tmp_path / "worker.log"
    with redis_server(port) as url:
        shared = {"REDIS_URL": url, "KEYWORD_TRAINING_FILE": str(_labeled(tmp_path))}
        env = {**os.environ, **shared, "MODEL_DIR": str(tmp_path / "w")}
        argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(KEYWORD)]
        worker = ManagedProcess("worker", argv, env, log)
        worker.start()
        try:
            poll(lambda: "Listening on" in log.read_text(), 60, "the worker to listen")
            redis.Redis.from_url(url).shutdown(nosave=True)
            # RQ's loop or ours (whichever was talking to Redis) logs the loss and retries.
            noticed = re.compile(r"(could not connect to Redis|lost Redis).*(retrying|reconnecting)")
            poll(lambda: noticed.search(log.read_text()), 60, "the worker to log the loss")
            assert worker.running()
            replica_env = {**shared, "MODEL_DIR": str(tmp_path / "r")}
            with redis_server(port), backend(KEYWORD, replica_env) as replica:
                setup_version(replica)
                start_training(replica)
                poll(lambda: finished_runs(replica, 1), 60, "a training by the reconnected worker")
        finally:
            worker.stop()


def test_a_worker_stops_cleanly_on_sigterm_and_leaves_the_queue(tmp_path, redis_url_for_cluster):
    import redis
    from rq import Worker

    env = {**os.environ, "REDIS_URL": redis_url_for_cluster, "MODEL_DIR": str(tmp_path / "w")}
    argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(KEYWORD)]
    worker = ManagedProcess("worker", argv, env, tmp_path / "worker.log")
    worker.start()
    connection = redis.Redis.from_url(redis_url_for_cluster)
    try:
        poll(lambda: Worker.all(connection=connection), 60, "the worker to register")
        assert worker.stop(grace_s=20) == 0  # docker stop: SIGTERM, then a clean exit
        assert Worker.all(connection=connection) == []
    finally:
        worker.stop()
