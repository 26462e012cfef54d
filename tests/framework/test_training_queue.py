"""The training rules: counting, coalescing, single flight across processes, failure isolation.

The state tests run on both implementations of the state contract (SQLite and a real Redis).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

from label_studio_ml.context import BackendContext
from label_studio_ml.learning.runners import build_training_queue
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.state.redis_store import RedisStateStore
from label_studio_ml.state.sqlite_store import SqliteStateStore
from label_studio_ml.state.training_state import TrainingState, owner_is_dead
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


def make_queue(make_context, state_store, **overrides):
    GatedModel.gate.clear()
    GatedModel.runs = []
    GatedModel.fail = False
    base = make_context(**overrides)
    context = BackendContext(settings=base.settings, state=state_store, data_dir=base.data_dir)
    context.state.set("1", "label_config", CONFIG)
    return build_training_queue(context, ProjectRegistry(GatedModel, context))


def test_changes_accumulate_until_threshold(make_context, state_store):
    queue = make_queue(make_context, state_store, start_training_each_n_updates=3)
    decisions = [queue.on_event("1", "ANNOTATION_CREATED", {})["scheduled"] for _ in range(3)]
    assert decisions == [False, False, True]
    GatedModel.gate.set()
    assert queue.wait("1", 10)
    assert queue.state.status("1")["changes"] == 0


def test_zero_threshold_trains_only_on_start_training(make_context, state_store):
    queue = make_queue(make_context, state_store, start_training_each_n_updates=0)
    assert not any(queue.on_event("1", "ANNOTATION_CREATED", {})["scheduled"] for _ in range(20))


def test_events_during_a_training_coalesce_into_one_follow_up(make_context, state_store):
    queue = make_queue(make_context, state_store, start_training_each_n_updates=1)
    assert queue.on_event("1", "START_TRAINING", {}) == {"scheduled": True, "coalesced": False}
    deadline = time.time() + 5
    while not GatedModel.runs:
        assert time.time() < deadline
        time.sleep(0.01)
    follow_ups = [queue.on_event("1", "ANNOTATION_UPDATED", {}) for _ in range(5)]
    assert all(d == {"scheduled": True, "coalesced": True} for d in follow_ups)
    GatedModel.gate.set()
    deadline = time.time() + 10
    while queue.state.status("1")["runs"] < 2:
        assert time.time() < deadline
        time.sleep(0.01)
    assert queue.wait("1", 10)
    status = queue.state.status("1")
    assert GatedModel.runs == ["START_TRAINING", "ANNOTATION_UPDATED"]
    assert status["runs"] == 2 and status["state"] == "idle" and not status["pending"]


def test_failed_fit_is_recorded_and_keeps_the_last_good_version(make_context, state_store):
    queue = make_queue(make_context, state_store)
    GatedModel.gate.set()
    queue.on_event("1", "START_TRAINING", {})
    assert queue.wait("1", 10)
    good = queue.context.state.get("1", "model_version")
    GatedModel.fail = True
    queue.on_event("1", "START_TRAINING", {})
    assert queue.wait("1", 10)
    status = queue.state.status("1")
    assert status["state"] == "failed"
    assert status["error"] == "RuntimeError: disk full"
    assert status["failures"] == 1 and status["metrics"] == {"accuracy": 0.5}
    assert queue.context.state.get("1", "model_version") == good
    GatedModel.fail = False
    queue.on_event("1", "START_TRAINING", {})
    assert queue.wait("1", 10)
    assert queue.state.status("1")["state"] == "idle"
    assert queue.context.state.get("1", "model_version") != good


def test_key_values_round_trip_and_list_projects(state_store):
    state_store.set("2", "model_version", "v2")
    state_store.set("2", "setup_calls", 1)
    state_store.set("1", "label_config", "<View/>")
    state_store.set_if_changed("1", "nested", {"a": [1, 2.5, None, "x"]})
    assert state_store.get("1", "nested") == {"a": [1, 2.5, None, "x"]}
    assert state_store.get("1", "missing", "fallback") == "fallback"
    assert state_store.has("2", "model_version") and not state_store.has("2", "label_config")
    state_store.delete("2", "model_version")
    assert state_store.get("2", "model_version") is None
    assert state_store.projects() == ["1", "2"]


def test_lease_of_a_dead_process_is_taken_over(state_store):
    state = TrainingState(state_store, lease_seconds=3600)
    spec = _store_spec(state_store)
    child = multiprocessing.get_context("spawn").Process(target=_claim_and_exit, args=(spec,))
    child.start()
    child.join(30)
    assert state.status("1")["state"] == "interrupted"
    assert state.interrupted() == [("1", "ANNOTATION_CREATED")]
    assert state.claim("1", "START_TRAINING").started  # the claimer died: no need to wait an hour


def test_stale_lease_is_taken_over(state_store):
    state = TrainingState(state_store, lease_seconds=5)
    first = state.claim("1", "START_TRAINING")
    assert first.started and state.start("1", first.owner).event == "START_TRAINING"
    assert state.status("1")["state"] == "running"
    state_store.update_training("1", lambda row: ({"heartbeat": row["heartbeat"] - 60, "owner": "x:1"}, None))
    assert state.status("1")["state"] == "interrupted"
    assert state.claim("1", "START_TRAINING").started
    assert state.finish("1", first.owner, error=None, metrics=None) is None  # old owner can't finish


def test_an_earlier_incarnation_with_the_same_pid_is_dead(state_store):
    # In a container every start numbers processes from 1: a restarted worker often has the pid
    # of the one that was killed. Its lease must not look alive for another lease period.
    state = TrainingState(state_store, lease_seconds=3600)
    claim = state.claim("1", "START_TRAINING")
    host, pid, _ = claim.owner.split(":")
    earlier = f"{host}:{pid}:0123456789ab"
    state_store.update_training("1", lambda row: ({"owner": earlier}, None))
    assert owner_is_dead(earlier) and not owner_is_dead(claim.owner)
    assert state.interrupted() == [("1", "START_TRAINING")]


def test_a_training_interrupted_too_often_is_given_up(state_store):
    state = TrainingState(state_store, lease_seconds=3600)
    state.claim("1", "START_TRAINING")
    for _ in range(3):
        state_store.update_training("1", lambda row: ({"owner": "gone:1:x", "heartbeat": 0.0}, None))
        assert state.claim("1", "START_TRAINING", resume=True).started
    assert state_store.training_row("1")["attempts"] == 3


def _store_spec(store) -> tuple[str, str, str]:
    if isinstance(store, SqliteStateStore):
        return ("sqlite", str(store.path), "")
    return ("redis", store.url, store.prefix.split(":")[1])


def _open(spec: tuple[str, str, str]):
    kind, where, namespace = spec
    return SqliteStateStore(Path(where)) if kind == "sqlite" else RedisStateStore(where, namespace)


def _claim_and_exit(spec: tuple[str, str, str]) -> None:
    TrainingState(_open(spec), lease_seconds=3600).claim("1", "ANNOTATION_CREATED")


def _race(spec: tuple[str, str, str], barrier, results) -> None:
    state = TrainingState(_open(spec), lease_seconds=3600)
    barrier.wait()
    claims = [state.claim(project, "START_TRAINING").started for project in ("a", "b", "c")]
    results.put((os.getpid(), claims))
    time.sleep(1)  # stay alive so the other process sees a live owner


def test_single_flight_across_two_processes(state_store):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    spec = _store_spec(state_store)
    procs = [ctx.Process(target=_race, args=(spec, barrier, results)) for _ in range(2)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60)[1] for _ in procs]
    for proc in procs:
        proc.join(30)
    for index in range(3):
        assert sorted(outcome[index] for outcome in outcomes) == [False, True]
