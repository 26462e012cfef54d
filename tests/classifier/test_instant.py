"""The classifier learns from each annotation webhook at once, through ``create_app`` (Flask test client).

Zero-shot answers before any annotation; each annotation event fits a new instant head in the
background (the webhook answers first), which serves at once under the version Label Studio sees; a
deleted annotation is forgotten; a second app on the same model directory (another replica) or a
restarted one serves the same version without training; a project whose store has no records is
rebuilt from Label Studio's labeled tasks.
"""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bert_classifier.model import BertClassifier
from hf_text.instant.records import InstantRecords, version_store
from hf_text.instant.visible_version import serving_version
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import load_fixture, wait_healthy
from tests.support import bbc_news
from tests.support.fake_label_studio import fake_label_studio

CREATED = load_fixture("classification_webhook_annotation_created.json")
DELETED = load_fixture("classification_webhook_annotations_deleted.json")
PREDICT = load_fixture("classification_predict.json")
TEXTS = [task["data"]["text"] for task in PREDICT["tasks"]]
TRUTH = ["positive"] * 5 + ["negative"] * 10  # the fixture's reviews, as written
TOKEN = "ls-token"
#: The project of the captured requests, as Label Studio names it: "<id>.<created_at>".
PROJECT = load_fixture("classification_setup.json")["project"]


def event(task_id: int, text: str, label: str, annotation_id: int | None = None) -> dict[str, Any]:
    """An ``ANNOTATION_CREATED`` body as Label Studio sends it, for another task and label."""
    body = copy.deepcopy(CREATED)
    body["task"].update({"id": task_id, "data": {"text": text}})
    body["annotation"].update({"id": annotation_id or task_id, "task": task_id})
    body["annotation"]["result"][0]["value"]["choices"] = [label]
    return body


def labeled(task_id: int, text: str, label: str) -> dict[str, Any]:
    """A labeled task as Label Studio's task list returns it."""
    annotation = event(task_id, text, label)["annotation"]
    return {"id": task_id, "data": {"text": text}, "annotations": [annotation]}


def backend(model_dir: Path) -> tuple[Any, Any]:
    """An app (one replica) on ``model_dir``; trainings only on demand."""
    settings = Settings(model_dir=model_dir, start_training_each_n_updates=0)
    app = create_app(BertClassifier, context=BackendContext.from_settings(settings))
    client = app.test_client()
    wait_healthy(client, timeout=120)
    return app, client


def learned(app: Any) -> None:
    assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, timeout=120)


def setup(client: Any, url: str) -> str:
    body = {**load_fixture("classification_setup.json"), "hostname": url, "access_token": TOKEN}
    response = client.post("/setup", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["model_version"]


def predictions(client: Any) -> list[dict[str, Any]]:
    results = client.post("/predict", json=PREDICT).get_json()["results"]
    assert len(results) == len(PREDICT["tasks"])
    return results


def chosen(results: list[dict[str, Any]]) -> list[str | None]:
    return [item["result"][0]["value"]["choices"][0] if item["result"] else None for item in results]


@pytest.fixture
def label_studio():
    """A stand-in Label Studio whose labeled tasks the test sets."""
    tasks: list[dict[str, Any]] = []
    with fake_label_studio(tasks, token=TOKEN) as (url, _):
        yield url, tasks


def test_zero_shot_before_any_annotation_then_each_annotation_serves_a_head_learned_from_it(
    tmp_path: Path, label_studio
) -> None:
    url, tasks = label_studio
    app, client = backend(tmp_path / "models")
    first = setup(client, url)
    before = predictions(client)
    # No pre-filled sentiment: 15 reviews are too few to show that the choices' words separate them
    # (bert_classifier.light.abstain), so zero-shot stays silent, one empty prediction per task.
    assert first == "0.0.1"
    assert all(item["model_version"] == first and item["result"] == [] for item in before)

    heads: list[str] = []
    examples = [(0, "positive"), (5, "negative"), (6, "negative"), (1, "positive")]
    for count, (index, label) in enumerate(examples, start=1):
        tasks.append(labeled(100 + index, TEXTS[index], label))
        started = time.monotonic()
        answer = client.post("/webhook", json=event(100 + index, TEXTS[index], label))
        assert answer.status_code == 201 and time.monotonic() - started < 5
        learned(app)
        version = setup(client, url)
        served = client.get("/metrics").get_json()["projects"][PROJECT]["served"]
        assert version.startswith("instant-v") and served["model_version"] == version, served
        assert served["head"] not in heads  # a new head, serving under the version Label Studio sees
        heads.append(served["head"])
        assert served["layer"] == "instant" and served["heads"][0]["examples"] == count, served

    after = predictions(client)
    assert all(item["model_version"] == version for item in after)
    # What was annotated is predicted as annotated, and the rest of the reviews mostly right.
    assert [chosen(after)[i] for i, _ in examples] == [label for _, label in examples]
    right = sum(p == t for p, t in zip(chosen(after), TRUTH, strict=True))
    assert right >= 11, list(zip(chosen(after), TRUTH, strict=True))


def test_a_deleted_annotation_is_forgotten(tmp_path: Path, label_studio) -> None:
    url, _ = label_studio
    app, client = backend(tmp_path / "models")
    zero_shot = setup(client, url)
    client.post("/webhook", json=event(100, TEXTS[0], "negative", annotation_id=8))
    client.post("/webhook", json=event(101, TEXTS[5], "negative", annotation_id=9))
    learned(app)
    assert setup(client, url).startswith("instant-v")
    deleted = {**DELETED, "annotations": [{"id": 8}]}  # the fixture deletes annotation 8
    assert client.post("/webhook", json=deleted).status_code == 201
    learned(app)
    served = client.get("/metrics").get_json()["projects"][PROJECT]["served"]
    assert served["heads"][0]["examples"] == 1, served
    client.post("/webhook", json={**DELETED, "annotations": [{"id": 9}]})
    learned(app)
    assert setup(client, url) == zero_shot  # nothing learned any more: zero-shot again


def test_another_replica_and_a_restarted_backend_serve_the_same_instant_version(
    tmp_path: Path, label_studio
) -> None:
    url, _ = label_studio
    app, client = backend(tmp_path / "models")
    setup(client, url)
    for task_id, (index, label) in enumerate([(0, "positive"), (5, "negative")], start=100):
        client.post("/webhook", json=event(task_id, TEXTS[index], label))
    learned(app)
    version = setup(client, url)
    first = predictions(client)

    _, replica = backend(tmp_path / "models")  # same model directory and state: another worker
    assert setup(replica, url) == version
    assert predictions(replica) == first

    restarted_app, restarted = backend(tmp_path / "models")
    assert setup(restarted, url) == version
    restarted.post("/webhook", json=event(102, TEXTS[6], "negative"))
    learned(restarted_app)
    served = restarted.get("/metrics").get_json()["projects"][PROJECT]["served"]
    assert served["heads"][0]["examples"] == 3, served  # continued from the stored records


def test_a_project_without_records_is_rebuilt_from_label_studio_at_its_first_event(
    tmp_path: Path, label_studio
) -> None:
    url, tasks = label_studio
    tasks.extend(labeled(200 + i, TEXTS[i], TRUTH[i]) for i in range(0, 15, 2))  # labeled before
    app, client = backend(tmp_path / "models")
    setup(client, url)
    tasks.append(labeled(300, TEXTS[1], "positive"))
    client.post("/webhook", json=event(300, TEXTS[1], "positive"))
    learned(app)
    served = client.get("/metrics").get_json()["projects"][PROJECT]["served"]
    assert served["heads"][0]["examples"] == 9, served


def test_two_replicas_learning_at_once_end_with_a_version_that_holds_both_annotations(tmp_path: Path) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    config = load_fixture("classification_setup.json")["schema"]
    replicas = [BertClassifier(project_id="1", label_config=config, context=context) for _ in range(2)]
    for replica in replicas:
        replica.labeled_tasks = list  # Label Studio has nothing more to say
    bodies = [event(100, TEXTS[0], "positive"), event(105, TEXTS[5], "negative")]
    threads = [
        threading.Thread(target=replica.learn_instantly, args=("ANNOTATION_CREATED", body))
        for replica, body in zip(replicas, bodies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    final = BertClassifier(project_id="1", label_config=config, context=context)
    meta = version_store(context.data_dir, "1").meta(serving_version(final, final.model_version))
    assert meta is not None and meta["heads"][0]["examples"] == 2, meta
    assert len(InstantRecords(context.data_dir, "1", "label").all()) == 2


def test_a_failed_rebuild_from_label_studio_is_postponed_for_every_replica(tmp_path: Path) -> None:
    # The back-off lives with the records, so another worker or replica does not hammer Label Studio.
    mine, theirs = (InstantRecords(tmp_path / "models", "1", "sentiment") for _ in range(2))
    assert theirs.resync_allowed()
    mine.postpone_resync(60)
    assert not theirs.resync_allowed()
    mine.postpone_resync(-1)
    assert theirs.resync_allowed()


def test_a_burst_of_events_is_learned_in_one_refit_and_a_broken_one_costs_the_others_nothing(
    tmp_path: Path,
) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    config = load_fixture("classification_setup.json")["schema"]
    model = BertClassifier(project_id="1", label_config=config, context=context)
    model.labeled_tasks = list  # Label Studio has nothing more to say
    burst = [
        ("ANNOTATION_CREATED", event(100, TEXTS[0], "positive")),
        ("ANNOTATIONS_DELETED", {**DELETED, "annotations": 5}),  # malformed: not a list
        ("ANNOTATION_CREATED", event(105, TEXTS[5], "negative")),
        ("ANNOTATION_CREATED", event(106, TEXTS[6], "negative")),
    ]
    model.learn_instantly_many(burst)
    store = version_store(context.data_dir, "1")
    assert len(store.versions()) == 1  # one refit for the whole burst
    meta = store.meta(model.model_version)
    assert meta is not None and meta["heads"][0]["examples"] == 3, meta


def bbc_event(task_id: int, text: str, label: str) -> dict[str, Any]:
    """``ANNOTATION_CREATED`` for a BBC News project's article."""
    body = event(task_id, text, label)
    body["project"]["label_config"] = bbc_news.LABEL_CONFIG
    body["annotation"]["result"] = [
        {"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    ]
    return body


def test_zero_shot_is_refined_on_the_tasks_label_studio_had_predicted_from_the_first_annotation(
    tmp_path: Path, label_studio
) -> None:
    """Label Studio asks predictions for the tasks it shows; their embeddings are kept, and the first
    annotation's head is zero-shot refined on them, far better than zero-shot on the same tasks."""
    url, _ = label_studio
    app, client = backend(tmp_path / "models")
    body = {**load_fixture("classification_setup.json"), "schema": bbc_news.LABEL_CONFIG, "hostname": url,
            "access_token": TOKEN}  # fmt: skip
    assert client.post("/setup", json=body).status_code == 200
    pairs = bbc_news.articles(per_label=16, skip=100, max_words=64)
    tasks = [{"id": 1000 + i, "data": {"text": text}} for i, (text, _) in enumerate(pairs)]
    request = {"tasks": tasks, "label_config": bbc_news.LABEL_CONFIG, "project": body["project"]}

    def accuracy() -> tuple[str, float]:
        results = client.post("/predict", json=request).get_json()["results"]
        chosen = [item["result"][0]["value"]["choices"] if item["result"] else [] for item in results]
        right = [choices == [label] for choices, (_, label) in zip(chosen, pairs, strict=True)]
        return results[0]["model_version"], sum(right) / len(right)

    version, zero_shot = accuracy()
    assert version.startswith("zero-shot-")
    text, label = bbc_news.articles(per_label=1, skip=300, max_words=64)[0]
    client.post("/webhook", json=bbc_event(1, text, label))
    learned(app)
    served = client.get("/metrics").get_json()["projects"][PROJECT]["served"]
    head = served["heads"][0]
    assert head["refined_on_project_texts"] and head["project_texts"] == len(pairs), served
    version, refined = accuracy()
    assert version.startswith("instant-v") and refined >= zero_shot + 0.1, (zero_shot, refined)
