"""The training queue: counting, coalescing, single flight across processes, failure isolation."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.state import StateStore
from label_studio_ml.training import TrainingQueue
from label_studio_ml.training_state import TrainingState, owner_is_dead
from tests.conftest import load_fixture

CONFIG = load_fixture("classification_setup.json")["schema"]


class GatedModel(LabelStudioMLBase):
    """``fit`` blocks until the test opens the gate; counts its runs; can fail on demand."""

    gate = threading.Event()
    runs: list[str] = []
    fail = False

    def fit(self, event, data, **kwargs):
        GatedModel.runs.append(event)
        assert GatedModel.gate.wait(10)
        if GatedModel.fail:
            raise RuntimeError("disk full")
        return {"accuracy": 0.5}

    def predict(self, tasks, context=None, **kwargs):
        return [{"result": [], "score": 0.0} for _ in tasks]


def make_queue(make_context, **overrides) -> TrainingQueue:
    GatedModel.gate.clear()
    GatedModel.runs = []
    GatedModel.fail = False
    context = make_context(**overrides)
    context.state.set("1", "label_config", CONFIG)
    return TrainingQueue(context, ProjectRegistry(GatedModel, context))


def test_changes_accumulate_until_threshold(make_context):
    queue = make_queue(make_context, start_training_each_n_updates=3)
    decisions = [queue.on_event("1", "ANNOTATION_CREATED", {})["scheduled"] for _ in range(3)]
    assert decisions == [False, False, True]
    GatedModel.gate.set()
    queue.wait("1", 10)
    assert queue.state.status("1")["changes"] == 0


def test_zero_threshold_trains_only_on_start_training(make_context):
    queue = make_queue(make_context, start_training_each_n_updates=0)
    assert not any(queue.on_event("1", "ANNOTATION_CREATED", {})["scheduled"] for _ in range(20))


def test_events_during_a_training_coalesce_into_one_follow_up(make_context):
    queue = make_queue(make_context, start_training_each_n_updates=1)
    assert queue.on_event("1", "START_TRAINING", {}) == {"scheduled": True, "coalesced": False}
    deadline = time.time() + 5
    while not GatedModel.runs:
        assert time.time() < deadline
        time.sleep(0.01)
    follow_ups = [queue.on_event("1", "ANNOTATION_UPDATED", {}) for _ in range(5)]
    assert all(d == {"scheduled": True, "coalesced": True} for d in follow_ups)
    GatedModel.gate.set()
    queue.wait("1", 10)
    status = queue.state.status("1")
    assert GatedModel.runs == ["START_TRAINING", "ANNOTATION_UPDATED"]
    assert status["runs"] == 2 and status["state"] == "idle" and not status["pending"]


def test_failed_fit_is_recorded_and_keeps_the_last_good_version(make_context):
    queue = make_queue(make_context)
    GatedModel.gate.set()
    queue.on_event("1", "START_TRAINING", {})
    queue.wait("1", 10)
    good = queue.context.state.get("1", "model_version")
    GatedModel.fail = True
    queue.on_event("1", "START_TRAINING", {})
    queue.wait("1", 10)
    status = queue.state.status("1")
    assert status["state"] == "failed"
    assert status["error"] == "RuntimeError: disk full"
    assert status["failures"] == 1 and status["metrics"] == {"accuracy": 0.5}
    assert queue.context.state.get("1", "model_version") == good
    GatedModel.fail = False
    queue.on_event("1", "START_TRAINING", {})
    queue.wait("1", 10)
    assert queue.state.status("1")["state"] == "idle"
    assert queue.context.state.get("1", "model_version") != good


def test_lease_of_a_dead_process_is_taken_over(tmp_path):
    store = StateStore(tmp_path / "state.sqlite3")
    state = TrainingState(store, lease_seconds=3600)
    child = multiprocessing.get_context("spawn").Process(target=_claim_and_exit, args=(str(tmp_path),))
    child.start()
    child.join(30)
    assert state.status("1")["state"] == "interrupted"
    assert state.interrupted() == [("1", "ANNOTATION_CREATED")]
    assert state.claim("1", "START_TRAINING").started  # the claimer died: no need to wait an hour


def test_stale_lease_is_taken_over(tmp_path):
    state = TrainingState(StateStore(tmp_path / "state.sqlite3"), lease_seconds=5)
    first = state.claim("1", "START_TRAINING")
    assert first.started and state.start("1", first.owner) == "START_TRAINING"
    assert state.status("1")["state"] == "running"
    with state.store.transaction() as conn:
        conn.execute("UPDATE training SET heartbeat=heartbeat-60, owner='otherhost:1:1'")
    assert state.status("1")["state"] == "interrupted"
    assert state.claim("1", "START_TRAINING").started
    assert state.finish("1", first.owner, error=None, metrics=None) is None  # old owner can't finish


def test_an_earlier_incarnation_with_the_same_pid_is_dead(tmp_path):
    # In a container every start numbers processes from 1: a restarted worker often has the pid
    # of the one that was killed. Its lease must not look alive for another lease period.
    state = TrainingState(StateStore(tmp_path / "state.sqlite3"), lease_seconds=3600)
    claim = state.claim("1", "START_TRAINING")
    host, pid, _ = claim.owner.split(":")
    with state.store.transaction() as conn:
        conn.execute("UPDATE training SET owner=?", (f"{host}:{pid}:0123456789ab",))
    assert owner_is_dead(f"{host}:{pid}:0123456789ab") and not owner_is_dead(claim.owner)
    assert state.interrupted() == [("1", "START_TRAINING")]


def _claim_and_exit(directory: str) -> None:
    TrainingState(StateStore(Path(directory) / "state.sqlite3"), lease_seconds=3600).claim(
        "1", "ANNOTATION_CREATED"
    )


def _race(directory: str, barrier, results) -> None:
    state = TrainingState(StateStore(Path(directory) / "state.sqlite3"), lease_seconds=3600)
    barrier.wait()
    claims = [state.claim(project, "START_TRAINING").started for project in ("a", "b", "c")]
    results.put((os.getpid(), claims))
    time.sleep(1)  # stay alive so the other process sees a live owner


def test_single_flight_across_two_processes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path), barrier, results)) for _ in range(2)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60)[1] for _ in procs]
    for proc in procs:
        proc.join(30)
    for index in range(3):
        assert sorted(outcome[index] for outcome in outcomes) == [False, True]
