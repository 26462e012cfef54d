"""Models that learn from single annotations get each event at once, in order, off the webhook."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from label_studio_ml.api import create_app
from tests.conftest import load_fixture, load_keyword_model, wait_healthy

KeywordModel = load_keyword_model()
CREATED = load_fixture("classification_webhook_annotation_created.json")
DELETED = load_fixture("classification_webhook_annotations_deleted.json")
#: The project of the captured requests, as Label Studio names it: "<id>.<created_at>".
PROJECT = load_fixture("classification_setup.json")["project"]
#: ``sys.getswitchinterval()`` in a fresh interpreter.
PYTHON_DEFAULT_SWITCH_INTERVAL_S = 0.005


def serving(model_class: type, make_context) -> tuple:
    """An app serving ``model_class`` (trainings only on demand) and its test client, once healthy."""
    app = create_app(model_class, context=make_context(start_training_each_n_updates=0))
    client = app.test_client()
    wait_healthy(client)
    return app, client


class InstantModel(KeywordModel):
    """Records the events it learns from; the first one blocks until the test releases it."""

    INSTANT_EVENTS = ("ANNOTATION_CREATED", "ANNOTATIONS_DELETED")
    release = threading.Event()
    seen: list[str] = []

    def learn_instantly(self, event, data):
        assert InstantModel.release.wait(10)
        InstantModel.seen.append(event)
        if event == "ANNOTATION_CREATED" and data["annotation"]["id"] == 666:
            raise RuntimeError("a broken event")
        self.set_model_version(f"instant-{len(InstantModel.seen)}")


def test_the_webhook_answers_before_the_model_learned_and_events_keep_their_order(make_context):
    InstantModel.release.clear()
    InstantModel.seen = []
    app, client = serving(InstantModel, make_context)
    client.post("/setup", json=load_fixture("classification_setup.json"))
    broken = {**CREATED, "annotation": {**CREATED["annotation"], "id": 666}}
    for body in (CREATED, broken, DELETED):
        assert client.post("/webhook", json=body).status_code == 201  # while learning is blocked
    assert InstantModel.seen == []
    assert client.get("/metrics").get_json()["worker"]["instant_updates"]["waiting"] == 3
    InstantModel.release.set()
    assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, 10)
    assert InstantModel.seen == ["ANNOTATION_CREATED", "ANNOTATION_CREATED", "ANNOTATIONS_DELETED"]
    # The broken event did not stop the one after it, which published a version of its own.
    assert client.post("/setup", json=load_fixture("classification_setup.json")).get_json() == {
        "model_version": "instant-3"
    }


def test_a_model_without_instant_events_gets_none(make_context):
    _, client = serving(KeywordModel, make_context)
    assert client.post("/webhook", json=CREATED).status_code == 201
    assert client.get("/metrics").get_json()["worker"]["instant_updates"] == {"events": [], "waiting": 0}


class PriorityModel(KeywordModel):
    """Records the scheduling priority of the thread that learns."""

    INSTANT_EVENTS = ("ANNOTATION_CREATED",)
    niceness: list[int] = []

    def learn_instantly(self, event, data):
        PriorityModel.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))


def test_learning_runs_at_a_lower_priority_than_the_requests(make_context):
    PriorityModel.niceness = []
    app, client = serving(PriorityModel, make_context)
    assert client.post("/webhook", json=CREATED).status_code == 201
    assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, 10)
    requests_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert PriorityModel.niceness == [min(19, requests_niceness + 10)]


@pytest.fixture
def default_switch_interval():
    """Python's default switch interval for one test: every earlier ``create_app`` changed it."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(PYTHON_DEFAULT_SWITCH_INTERVAL_S)
    yield
    sys.setswitchinterval(before)


def test_a_serving_process_hands_the_gil_over_quickly(make_context, default_switch_interval):
    # A background refit's Python code must not hold a request up for Python's default 5 ms a turn.
    assert sys.getswitchinterval() == PYTHON_DEFAULT_SWITCH_INTERVAL_S
    create_app(KeywordModel, context=make_context(start_training_each_n_updates=0))
    assert sys.getswitchinterval() <= 0.001


class BatchingModel(KeywordModel):
    """Records how events reach it; the first update blocks until the test releases it."""

    INSTANT_EVENTS = ("ANNOTATION_CREATED",)
    release = threading.Event()
    calls: list[list[tuple[str, int]]] = []

    def learn_instantly_many(self, events):
        assert BatchingModel.release.wait(10)
        BatchingModel.calls.append([(self.project_id, data["annotation"]["id"]) for _, data in events])


def test_events_queued_during_an_update_reach_the_model_together_in_order_per_project(make_context):
    BatchingModel.release.clear()
    BatchingModel.calls = []
    app, client = serving(BatchingModel, make_context)
    instant = app.extensions["label_studio_ml"]["instant"]

    def created(project: int, annotation: int) -> dict:
        return {**CREATED, "project": {**CREATED["project"], "id": project},
                "annotation": {**CREATED["annotation"], "id": annotation}}  # fmt: skip

    assert client.post("/webhook", json=created(1, 1)).status_code == 201
    deadline = time.monotonic() + 10
    while instant._line.qsize() and time.monotonic() < deadline:  # the update of event 1 is under way
        time.sleep(0.01)
    for project, annotation in ((1, 2), (2, 3), (1, 4), (1, 5)):
        assert client.post("/webhook", json=created(project, annotation)).status_code == 201
    BatchingModel.release.set()
    one, two = "1.1795422209", "2.1795422209"  # each project as Label Studio names it
    assert instant.wait(one, 10) and instant.wait(two, 10)
    assert BatchingModel.calls == [[(one, 1)], [(one, 2), (one, 4), (one, 5)], [(two, 3)]]
    assert client.get("/metrics").get_json()["worker"]["instant_updates"]["waiting"] == 0
