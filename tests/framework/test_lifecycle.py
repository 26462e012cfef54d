"""The lifecycle a model class declares: its hooks, ``stop`` joining the framework's threads, the
progress sink a training hands its model, and the process role read from the settings."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from label_studio_ml.api import create_app
from label_studio_ml.config import Role, Settings
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.model import LabelStudioMLBase
from tests.conftest import load_fixture, wait_healthy

SETUP = load_fixture("classification_setup.json")
CREATED = load_fixture("classification_webhook_annotation_created.json")
PROJECT = SETUP["project"]


class Busy(LabelStudioMLBase):
    """Learns at once from each annotation and trains on each one; records its hooks."""

    INSTANT_EVENTS = ("ANNOTATION_CREATED",)
    hooks: list[str] = []
    sinks: list[object] = []

    @classmethod
    def warm_up(cls, context):
        cls.hooks.append("warm_up")

    @classmethod
    def stop(cls, context, timeout=None):
        cls.hooks.append("stop")
        return super().stop(context, timeout)

    def learn_instantly(self, event, data):
        Busy.hooks.append("learn_instantly")

    def fit(self, event, data, **kwargs):
        Busy.sinks.append(self.progress_sink)
        self.report_progress(epoch=1)
        return {}

    def predict(self, tasks, context=None, **kwargs):
        return [{"result": [], "score": 0.0} for _ in tasks]


@pytest.fixture
def busy():
    Busy.hooks, Busy.sinks = [], []
    return Busy


def test_stop_joins_every_thread_the_framework_started_for_the_backend(make_context, busy):
    before = set(threading.enumerate())
    app = create_app(busy, context=make_context(start_training_each_n_updates=1))
    client = app.test_client()
    wait_healthy(client)
    client.post("/setup", json=SETUP)
    assert client.post("/webhook", json=CREATED).status_code == 201
    services = app.extensions["label_studio_ml"]["services"]
    assert services.instant.wait(PROJECT, 10) and services.queue.wait(PROJECT, 10)
    started = [thread for thread in threading.enumerate() if thread not in before]
    assert {"instant-updates", "training-slot-0", "training-maintenance"} <= {t.name for t in started}

    assert services.stop(timeout=10)
    assert [thread.name for thread in started if thread.is_alive()] == []
    assert busy.hooks == ["warm_up", "learn_instantly", "stop"]


def test_stop_says_when_a_thread_did_not_end_in_time(make_context):
    gate = threading.Event()

    class Slow(LabelStudioMLBase):
        @classmethod
        def warm_up(cls, context):
            gate.wait(10)

    app = create_app(Slow, context=make_context())
    context = app.extensions["label_studio_ml"]["context"]
    assert not Slow.stop(context, timeout=0.2)  # the warm-up still runs
    gate.set()
    assert Slow.stop(context, timeout=10)


def test_a_training_hands_its_model_the_declared_progress_sink(make_context, busy):
    app = create_app(busy, context=make_context(start_training_each_n_updates=1))
    client = app.test_client()
    wait_healthy(client)
    client.post("/setup", json=SETUP)
    client.post("/webhook", json=CREATED)
    services = app.extensions["label_studio_ml"]["services"]
    assert services.queue.wait(PROJECT, 10)
    assert len(busy.sinks) == 1 and callable(busy.sinks[0])
    services.stop(timeout=10)


def test_the_hooks_have_defaults_an_upstream_model_needs_not_define(tmp_path, make_context):
    assert LabelStudioMLBase.settings_from_env({}) is None
    assert LabelStudioMLBase.owns_legacy_data(tmp_path) is True
    context = make_context()
    assert LabelStudioMLBase.prepare(context) is None
    assert LabelStudioMLBase.warm_up(context) is None
    assert LabelStudioMLBase.stop(context) is True


def test_the_role_is_a_setting_read_once_from_the_environment():
    assert Settings.from_env({}).role == Role.SERVER
    assert Settings.from_env({"LABEL_STUDIO_ML_ROLE": "worker"}).role == Role.WORKER
    with pytest.raises(ConfigurationError):
        Settings.from_env({"LABEL_STUDIO_ML_ROLE": "trainer"})


@pytest.mark.parametrize("role", [Role.SERVER, Role.WORKER])
def test_a_worker_never_warms_up_whatever_the_raw_environment_says(make_context, monkeypatch, busy, role):
    other = Role.WORKER if role == Role.SERVER else Role.SERVER
    monkeypatch.setenv("LABEL_STUDIO_ML_ROLE", other.value)  # the settings decide, not the raw variable
    context = make_context()
    settings = dataclasses.replace(context.settings, role=role)
    app = create_app(busy, settings=settings, context=context)
    services = app.extensions["label_studio_ml"]["services"]
    wait_healthy(app.test_client())
    services.stop(timeout=10)
    assert busy.hooks.count("warm_up") == (1 if role == Role.SERVER else 0)
