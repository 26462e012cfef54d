"""Active learning's rounds (``label_studio_ml.learning.active``) with a Label Studio queue double.

The real Label Studio is in ``tests/e2e/test_active_learning_e2e.py``; here, what a round writes,
when it runs, and what it does when Label Studio fails or active learning is turned off.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import pytest

from label_studio_ml.config import Role
from label_studio_ml.errors import LabelStudioUnavailable
from label_studio_ml.learning.active.driver import MAX_ROUNDS_PER_MINUTE, ActiveLearning, enabled
from label_studio_ml.learning.active.rounds import ACTIVE_KEY, VersionMoved, run_round
from label_studio_ml.learning.active.selection import least_confident, scored_tasks
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.response import ModelResponse
from label_studio_ml.state.training_state import HOST
from label_studio_ml.studio.task_queue import UNCERTAINTY_SAMPLING, QueuedPrediction

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="c" toName="text"><Choice value="a"/></Choices></View>'
)
PROJECT = "7.1700000000"


class Confidence(LabelStudioMLBase):
    """Predicts each task's ``data.confidence`` as its score; clusters by task id modulo 3."""

    def predict(self, tasks: list[dict[str, Any]], context: Any = None, **kwargs: Any) -> ModelResponse:
        choice = [{"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}}]
        items = [{"result": choice, "score": task["data"]["confidence"]} for task in tasks]
        return ModelResponse(model_version=self.model_version, predictions=items)

    def task_clusters(self, tasks: list[dict[str, Any]]) -> list[int]:
        return [int(task["id"]) % 3 for task in tasks]


class FakeQueue:
    """A project's queue in Label Studio, kept in memory."""

    def __init__(self, tasks: list[dict[str, Any]], sampling: str = "Sequential sampling") -> None:
        self.tasks = tasks
        self.current_sampling = sampling
        self.model_version: str | None = None
        self.written: dict[str, list[QueuedPrediction]] = {}
        self.dropped: list[str] = []
        self.failure: Exception | None = None
        self.reads = 0

    def pool(self, limit: int) -> list[dict[str, Any]]:
        if self.failure:
            raise self.failure
        self.reads += 1
        return self.tasks[:limit]

    def write(self, version: str, predictions: list[QueuedPrediction]) -> None:
        self.written.setdefault(version, []).extend(predictions)

    def sampling(self) -> str:
        return self.current_sampling

    def point_to(self, version: str | None = None, sampling: str | None = None) -> None:
        if version is not None:
            assert version in self.written, "Label Studio refuses a model_version without predictions"
            self.model_version = version
        if sampling is not None:
            self.current_sampling = sampling

    def drop_version(self, version: str) -> None:
        self.dropped.append(version)


def pool(confidences: list[float]) -> list[dict[str, Any]]:
    return [{"id": 100 + i, "data": {"text": f"t{i}", "confidence": c}} for i, c in enumerate(confidences)]


@pytest.fixture
def setup(make_context: Any) -> Any:
    """A registry of ``Confidence`` models connected to a Label Studio, and its queue double."""

    def build(
        confidences: list[float], **overrides: Any
    ) -> tuple[ActiveLearning, FakeQueue, LabelStudioMLBase]:
        context = make_context(label_studio_url="http://ls.test", label_studio_api_key="key", **overrides)
        registry = ProjectRegistry(Confidence, context)
        model = registry.instance(PROJECT, CONFIG)
        queue = FakeQueue(pool(confidences))
        active = ActiveLearning(registry, context.settings, queue_for=lambda access, project: queue)
        return active, queue, model

    return build


def test_scores_that_cannot_rank_tasks_leave_them_out_and_the_lowest_come_first() -> None:
    tasks = pool([0.9, 0.2, 0.5, 0.2])
    predictions = [{"score": 0.9}, {"score": 0.2}, {"score": True}, {"score": 0.2}]  # a boolean is no score
    scored = scored_tasks(tasks, predictions)
    assert [item.task_id for item in scored] == [100, 101, 103]
    assert [item.task_id for item in least_confident(scored, 2)] == [101, 103]  # a tie: the older task
    assert scored_tasks(pool([0.5, 0.5, 0.5]), [{"score": math.inf}, None, {"result": []}]) == []


def test_a_round_queues_the_least_confident_tasks_under_the_served_version(setup: Any) -> None:
    confidences = [0.9, 0.3, 0.8, 0.1, 0.7, 0.2, 0.95]
    active, queue, model = setup(confidences, active_learning=True, active_learning_tasks=3)
    model.set_model_version("v1")
    report = active.round(PROJECT)
    assert [(p.task, p.score, p.cluster) for p in queue.written["v1"]] == [
        (103, 0.1, 1),
        (105, 0.2, 0),
        (101, 0.3, 2),
    ]
    assert queue.model_version == "v1" and queue.current_sampling == UNCERTAINTY_SAMPLING
    assert report == model.get(ACTIVE_KEY)
    assert (
        report["pool"] == 7
        and report["written"] == 3
        and report["previous_sampling"] == "Sequential sampling"
    )
    assert active.round(PROJECT) is None  # that version is queued already: nothing to do

    model.set_model_version("v2")
    queue.tasks = queue.tasks[1:]
    active.round(PROJECT)
    assert queue.model_version == "v2" and queue.written["v2"][0].task == 103
    assert queue.dropped == ["v1"]  # the previous round's predictions: nothing shows them any more
    assert model.get(ACTIVE_KEY)["previous_sampling"] == "Sequential sampling"  # the user's, kept


def test_turning_it_off_per_project_restores_the_users_sampling(setup: Any) -> None:
    active, queue, model = setup([0.5, 0.4], active_learning=True)
    active.round(PROJECT)
    assert queue.current_sampling == UNCERTAINTY_SAMPLING
    model.set_extra_params({"active_learning": "false"})  # the ML backend's extra params in Label Studio
    active.round(PROJECT)
    assert queue.current_sampling == "Sequential sampling" and model.get(ACTIVE_KEY) is None
    model.set_extra_params({"active_learning": True})
    active.round(PROJECT)
    assert queue.current_sampling == UNCERTAINTY_SAMPLING


def test_off_by_default_and_per_project_switches(setup: Any) -> None:
    active, queue, model = setup([0.5])
    assert active.round(PROJECT) is None and queue.written == {} and not enabled(model, False)
    for said, expected in (({"active_learning": "on"}, True), ({"active_learning": 1.5}, False), ({}, False)):
        model.set_extra_params(said)
        assert enabled(model, False) is expected


def test_a_label_studio_that_fails_is_tried_again_later_and_the_error_shown(setup: Any) -> None:
    active, queue, model = setup([0.5], active_learning=True)
    queue.failure = LabelStudioUnavailable("could not read the unlabeled tasks of project 7: ConnectError")
    started = time.monotonic()
    active._round(PROJECT)
    entry = model.get(ACTIVE_KEY)
    assert (
        entry["error"].startswith("could not read") and entry["failures"] == 1 and entry["retry_in_s"] == 5.0
    )
    assert active._due[PROJECT] >= started + 5.0  # backed off, not retried in a loop
    active._round(PROJECT)
    assert model.get(ACTIVE_KEY)["retry_in_s"] == 10.0
    queue.failure = None
    active._round(PROJECT)
    assert model.get(ACTIVE_KEY)["error"] is None and queue.model_version is not None


def test_a_version_published_meanwhile_restarts_the_round(setup: Any) -> None:
    active, queue, model = setup([0.5, 0.4], active_learning=True)
    model.set_model_version("v1")
    real_predict = model.predict

    def predict_then_publish(tasks: list[dict[str, Any]], **kwargs: Any) -> Any:
        answer = real_predict(tasks, **kwargs)
        model.set_model_version("v2")  # an annotation's instant head, published mid-round
        return answer

    model.predict = predict_then_publish  # type: ignore[method-assign]
    with pytest.raises(VersionMoved):
        run_round(model, queue, active.settings, queue.tasks)  # type: ignore[arg-type]
    assert queue.written == {}


def test_the_poke_of_each_new_version_runs_a_round_in_the_background(setup: Any) -> None:
    active, queue, model = setup([0.5, 0.4], active_learning=True)
    model.context.versions.subscribe(active.poke)
    model.set_model_version("v9")
    deadline = time.monotonic() + 10
    while queue.model_version != "v9" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert queue.model_version == "v9"
    model.context.threads.stop(5)


def test_a_version_is_announced_once_when_it_starts_serving(make_context: Any) -> None:
    context = make_context()
    heard: list[tuple[str, str]] = []
    context.versions.subscribe(lambda project, version: heard.append((project, version)))
    model = Confidence(project_id=PROJECT, label_config=CONFIG, context=context)
    model.set_model_version("v1")
    model.set_model_version("v1")
    model.set_model_version("v2")
    assert heard == [(PROJECT, "v1"), (PROJECT, "v2")]


def test_in_a_training_worker_the_round_runs_in_the_caller(setup: Any) -> None:
    active, queue, model = setup([0.5], active_learning=True, role=Role.WORKER)
    active.poke(PROJECT)
    assert queue.model_version == model.model_version and active._thread is None
    report = model.get(ACTIVE_KEY)  # /metrics tells the worker's round from a replica's
    assert report["role"] == "worker" and report["by"] == f"{HOST}:{os.getpid()}"


def test_a_serving_process_says_it_ran_the_round(setup: Any) -> None:
    active, _, _ = setup([0.5], active_learning=True)
    report = active.round(PROJECT)
    assert report["role"] == "server" and report["by"] == f"{HOST}:{os.getpid()}"


def test_every_tenth_round_hands_out_a_random_task_first_in_a_cluster_of_its_own(setup: Any) -> None:
    confidences = [0.05 * i for i in range(1, 16)]
    active, queue, model = setup(confidences, active_learning=True, active_learning_tasks=3)
    for round_number in range(1, 11):
        model.set_model_version(f"v{round_number}")
        active.round(PROJECT)
    first, *rest = queue.written["v10"]
    assert first.score < min(p.score for p in rest) and first.cluster == 1_000_010
    assert [p.score for p in queue.written["v9"]] == [0.05, 0.1, 0.15]  # the other rounds: uncertainty only
    report = model.get(ACTIVE_KEY)
    assert report["random_slice"] == [first.task] and report["rounds"] == 10 and report["started_at"] > 0


def test_rounds_beyond_the_rate_limit_wait_for_the_minute_to_pass(setup: Any) -> None:
    active, queue, model = setup([0.5, 0.4], active_learning=True)
    for number in range(MAX_ROUNDS_PER_MINUTE):
        model.set_model_version(f"v{number}")
        active._round(PROJECT)
    assert queue.model_version == f"v{MAX_ROUNDS_PER_MINUTE - 1}" and PROJECT not in active._due
    model.set_model_version("one-too-many")
    active._round(PROJECT)
    assert queue.model_version != "one-too-many"  # not written now ...
    assert active._due[PROJECT] > time.monotonic() + 50  # ... but within the minute


def test_written_scores_stay_within_what_label_studio_accepts(setup: Any) -> None:
    # NER's score is 0.0 for a sentence it finds nothing in; a custom model may say anything.
    active, queue, model = setup([0.0, 0.0, 1.7, -0.2], active_learning=True)
    for round_number in range(1, 11):
        model.set_model_version(f"v{round_number}")
        active.round(PROJECT)
    scores = [p.score for version in queue.written.values() for p in version]
    assert scores and all(0.0 <= score <= 1.0 for score in scores), scores


def test_the_pool_is_read_once_then_rounds_leave_out_the_tasks_labeled_since(setup: Any) -> None:
    active, queue, model = setup([0.1, 0.2, 0.3, 0.4], active_learning=True, active_learning_tasks=2)
    model.set_model_version("v1")
    active.round(PROJECT)
    labeled = {"id": 1, "result": [], "created_at": "2026-12-05T08:00:00Z"}
    model.received_annotations().apply("ANNOTATION_CREATED", {"task": queue.tasks[0], "annotation": labeled})
    model.set_model_version("v2")
    report = active.round(PROJECT)
    assert queue.reads == 1  # one read of Label Studio's pool for both rounds (10,000 tasks: 10 requests)
    assert report is not None and report["pool"] == 3 and [p.task for p in queue.written["v2"]] == [101, 102]
