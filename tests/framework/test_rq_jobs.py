"""Distributed trainings as RQ jobs: enqueued by dotted name, run with services and no HTTP app."""

from __future__ import annotations

import uuid

import flask
import pytest
from rq import Queue
from rq.utils import import_attribute

from label_studio_ml.commands import training_job
from label_studio_ml.config import Role, Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.learning.runner_rq import RQRunner, model_path
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.state.redis_store import RedisStateStore


class Trainee(LabelStudioMLBase):
    """Records whether it was warmed up (a training worker never is)."""

    warmed: list[bool] = []

    @classmethod
    def warm_up(cls, context):
        cls.warmed.append(True)


def test_a_training_is_enqueued_by_the_dotted_name_of_its_job(tmp_path, redis_url, monkeypatch):
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings(model_dir=tmp_path, redis_url=redis_url)
    state = RedisStateStore(redis_url, namespace)
    context = BackendContext(settings=settings, state=state, data_dir=tmp_path, namespace=namespace)
    enqueued = []
    original = Queue.enqueue_call

    def recording(self, func, *args, **kwargs):
        enqueued.append(func)
        return original(self, func, *args, **kwargs)

    monkeypatch.setattr(Queue, "enqueue_call", recording)
    RQRunner(context, Trainee).submit("1", "someone", {"action": "START_TRAINING"})

    assert enqueued == ["label_studio_ml.commands.training_job.run_training"]
    assert import_attribute(enqueued[0]) is training_job.run_training
    job = Queue(namespace, connection=state.client).jobs[0]
    assert job.func_name == enqueued[0]
    assert job.args[:4] == (model_path(Trainee), namespace, "1", "someone")
    job.delete()


def test_a_plain_rq_worker_starts_the_services_as_a_worker_without_an_app(tmp_path, monkeypatch):
    Trainee.warmed = []
    monkeypatch.setattr(training_job, "_SERVICES", {})
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)

    def no_app(*args, **kwargs):
        raise AssertionError("a training worker builds no Flask app")

    monkeypatch.setattr(flask.Flask, "__init__", no_app)
    services = training_job.services_for(model_path(Trainee))
    try:
        assert services.model_class is Trainee
        assert services.settings.role == Role.WORKER
        assert services.readiness.ready.is_set() and Trainee.warmed == []
        assert training_job.services_for(model_path(Trainee)) is services  # started once per process
    finally:
        services.stop(timeout=10)


def test_a_job_for_another_namespace_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(training_job, "_SERVICES", {})
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    services = training_job.services_for(model_path(Trainee))
    try:
        with pytest.raises(RuntimeError, match="reached a worker of 'Trainee'"):
            training_job.run_training(model_path(Trainee), "Other", "1", "someone", {})
    finally:
        services.stop(timeout=10)
