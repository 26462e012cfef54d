"""Trainings are bounded per process, wait in line visibly, and survive kills and restarts."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import requests

from label_studio_ml.api import create_app
from label_studio_ml.learning.runners import build_training_queue
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from tests.conftest import BACKENDS, load_fixture
from tests.support.servers import backend

#: The key of the project in the captured requests: "<id>.<created_at>", as Label Studio names it.
PROJECT = load_fixture("classification_setup.json")["project"]

CONFIG = load_fixture("classification_setup.json")["schema"]


class CountingModel(LabelStudioMLBase):
    """``fit`` holds until released and records how many fits ran at the same time."""

    lock = threading.Lock()
    release = threading.Event()
    running = 0
    most_at_once = 0
    events: list[tuple[str, str]] = []

    def fit(self, event, data, **kwargs):
        cls = CountingModel
        with cls.lock:
            cls.running += 1
            cls.most_at_once = max(cls.most_at_once, cls.running)
            cls.events.append((self.project_id, event))
        try:
            assert cls.release.wait(30)
        finally:
            with cls.lock:
                cls.running -= 1
        return {"trained": self.project_id}

    def predict(self, tasks, context=None, **kwargs):
        return [{"result": [], "score": 0.0} for _ in tasks]


def reset_counting_model() -> None:
    CountingModel.release.clear()
    CountingModel.running = CountingModel.most_at_once = 0
    CountingModel.events = []


def wait_until(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


@pytest.fixture(autouse=True)
def _no_fit_outlives_its_test():
    """Release every fit a test left waiting and let its queue drain, so none leaks into the next."""
    yield
    CountingModel.release.set()
    seen, quiet_since, deadline = -1, time.monotonic(), time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(CountingModel.events) != seen or CountingModel.running:
            seen, quiet_since = len(CountingModel.events), time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            break
        time.sleep(0.02)


def test_ten_projects_due_at_once_train_one_at_a_time_and_wait_visibly(make_context):
    reset_counting_model()
    context = make_context(start_training_each_n_updates=1)
    projects = [str(n) for n in range(1, 11)]
    for project in projects:
        context.state.set(project, "label_config", CONFIG)
    client = create_app(CountingModel, context=context).test_client()
    for project in projects:
        body = {"action": "ANNOTATION_CREATED", "project": {"id": int(project)}, "annotation": {"id": 1}}
        assert client.post("/webhook", json=body).get_json()["scheduled"] is True

    def slots() -> dict:
        return client.get("/metrics").get_json()["worker"]["training_slots"]

    # The slot's thread picks its training up a moment after the webhook answers.
    report = wait_until(lambda: (r := slots())["running"] and r, what="a training in the slot")
    assert report["max_concurrent_trainings"] == 1
    assert len(report["running"]) == 1 and len(report["queued"]) == 9

    def states() -> list[str]:
        report = client.get("/metrics").get_json()["projects"]
        return sorted(report[p]["training"]["state"] for p in projects)

    wait_until(lambda: states() == ["queued"] * 9 + ["running"], what="one running, nine queued")

    CountingModel.release.set()
    wait_until(lambda: len(CountingModel.events) == 10 and CountingModel.running == 0, what="ten fits")
    queue = client.application.extensions["label_studio_ml"]["queue"]
    for project in projects:
        assert queue.wait(project, 10)
    assert CountingModel.most_at_once == 1
    assert sorted(p for p, _ in CountingModel.events) == sorted(projects)


def test_two_slots_run_two_trainings_at_once(make_context):
    reset_counting_model()
    context = make_context(max_concurrent_trainings=2)
    for project in ("1", "2", "3"):
        context.state.set(project, "label_config", CONFIG)
    queue = build_training_queue(context, ProjectRegistry(CountingModel, context))
    for project in ("1", "2", "3"):
        queue.request(project, "START_TRAINING")
    wait_until(lambda: CountingModel.running == 2, what="two fits at once")
    assert queue.slots_report()["queued"] == ["3"]
    CountingModel.release.set()
    assert all(queue.wait(project, 10) for project in ("1", "2", "3"))
    assert CountingModel.most_at_once == 2


def test_a_training_whose_process_died_is_resumed_with_its_event(make_context):
    reset_counting_model()
    CountingModel.release.set()
    context = make_context()
    context.state.set("4", "label_config", CONFIG)
    first = build_training_queue(context, ProjectRegistry(CountingModel, context))
    assert first.state.claim("4", "ANNOTATION_UPDATED").started  # queued, then the process "dies":
    context.state.update_training("4", lambda row: ({"owner": "ghost-host:1:dead", "heartbeat": 0.0}, None))
    assert first.state.status("4")["state"] == "interrupted"

    restarted = build_training_queue(context, ProjectRegistry(CountingModel, context))
    assert restarted.resume_interrupted() == ["4"]
    assert restarted.wait("4", 10)
    assert CountingModel.events == [("4", "ANNOTATION_UPDATED")]
    status = restarted.state.status("4")
    assert status["state"] == "idle" and status["runs"] == 1 and status["metrics"] == {"trained": "4"}


def test_a_clean_shutdown_hands_queued_trainings_to_the_next_process(make_context):
    reset_counting_model()
    context = make_context()
    for project in ("5", "6"):
        context.state.set(project, "label_config", CONFIG)
    leaving = build_training_queue(context, ProjectRegistry(CountingModel, context))
    leaving.request("5", "START_TRAINING")
    leaving.request("6", "START_TRAINING")
    wait_until(lambda: CountingModel.running == 1, what="the first fit")
    leaving.release()
    assert {leaving.state.status(p)["state"] for p in ("5", "6")} == {"interrupted"}


def test_kill_9_in_the_middle_of_fit_then_a_restart_trains_and_publishes(tmp_path):
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    env = {
        "MODEL_DIR": str(tmp_path / "models"),
        "KEYWORD_TRAINING_FILE": str(labeled),
        "KEYWORD_FIT_SECONDS": "600",  # long enough to be killed in the middle
    }
    setup = load_fixture("classification_setup.json")
    with backend(BACKENDS / "keyword", env, workers=2) as url:
        initial = requests.post(f"{url}/setup", json=setup, timeout=5).json()["model_version"]
        start = load_fixture("classification_webhook_start_training.json")
        assert requests.post(f"{url}/webhook", json=start, timeout=5).status_code == 201
        wait_until(
            lambda: (
                requests.get(f"{url}/metrics", timeout=5).json()["projects"][PROJECT]["training"]["state"]
                == "running"
            ),
            timeout=120,
            what="fit to start",
        )
        worker_pid = requests.get(f"{url}/metrics", timeout=5).json()["worker"]["pid"]
        os.killpg(os.getpgid(worker_pid), signal.SIGKILL)  # master and workers, as a crash would
        time.sleep(0.5)

    env["KEYWORD_FIT_SECONDS"] = "0"
    with backend(BACKENDS / "keyword", env, workers=2) as url:

        def trained() -> dict | None:
            entry = requests.get(f"{url}/metrics", timeout=5).json()["projects"][PROJECT]
            done = entry["training"]["runs"] >= 1 and entry["training"]["state"] == "idle"
            return entry if done else None

        entry = wait_until(trained, 120, "the resumed training")
        assert entry["model_version"] != initial
        assert (
            requests.post(f"{url}/setup", json=setup, timeout=5).json()["model_version"]
            == entry["model_version"]
        )
