"""Useful from the first task, through a real Label Studio and the real backends (gunicorn, 2 workers).

Classifier: a fresh BBC News project gets zero-shot predictions on its first task; with
``INSTANT_VERSION_EVERY=1`` each annotation publishes a new (instant) version, measured from the
annotation API call returning to the backend's ``/setup`` reporting it; held-out accuracy is above
zero-shot's after each of the first five annotations (zero-shot refined on the project's predicted
tasks) and after 50; after a fine-tune the instant head keeps serving until the fine-tuned version
scores better on the labels it never saw, as ``/metrics`` shows. A calm version list (defaults): 20
annotations in a row show Label Studio at most ``1 + ceil(20 / INSTANT_VERSION_EVERY)`` versions,
and the task opened after each one is predicted by the newest head. NER: one annotated sentence's
entities are proposed in the next task at once. On an idle 2-core machine ≈2 min (classifier: 55
annotations, one short training), ≈25 s (NER) and ≈40 s (20 annotations), after Label Studio's start.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
import requests

from hf_text.settings import HFSettings
from label_studio_ml.state.project_key import project_key
from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, HUGGINGFACE_NER_DIR, BackendServer
from tests.support.e2e_steps import choice, connect, metrics, spans_result, wait_for_runs
from tests.support.ls_user import LabelStudioUser, wait_for

pytestmark = pytest.mark.e2e

#: The new version must be live long before this; the measured delays are printed (README numbers).
NEW_VERSION_DEADLINE_S = 30.0
#: Issue 12: a new version is live within 2 s of an annotation (measured: about 0.1 s).
NEW_VERSION_LIVE_S = 2.0
TRAINING = {"NUM_TRAIN_EPOCHS": "1", "MIN_TRAIN_STEPS": "0", "MAX_LENGTH": "64", "WINDOW_STRIDE": "16",
            "BATCH_SIZE": "8", "START_TRAINING_EACH_N_UPDATES": "0"}  # fmt: skip


def served_version(backend: BackendServer, key: str, config: str) -> str:
    """What the backend's ``/setup`` answers for the project (``"<id>.<created_at>"``, as Label Studio
    names it: ``LabelStudioUser.project_key``), as Label Studio asks it."""
    body = {"project": key, "schema": config}
    response = requests.post(f"{backend.url}/setup", json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["model_version"])


def annotate_and_time(
    ls_user: LabelStudioUser, backend: BackendServer, key: str, task: int, label: str, before: str
) -> tuple[str, float]:
    """Annotate through Label Studio; the new version and seconds from the API call's return to it."""
    ls_user.annotate(task, choice(label))
    returned = time.monotonic()
    version = wait_for(
        lambda: (v := served_version(backend, key, bbc_news.LABEL_CONFIG)) != before and v,
        NEW_VERSION_DEADLINE_S,
        "a new version after the annotation",
        interval_s=0.02,
    )
    return version, time.monotonic() - returned


def held_out_accuracy(ls_user: LabelStudioUser, project: int, tasks: dict[int, str], version: str) -> float:
    """Retrieve predictions of the current version for ``tasks`` and score them against their labels."""
    ls_user.retrieve_predictions(project, list(tasks))
    right = 0
    for task, label in tasks.items():
        [prediction] = [p for p in ls_user.predictions(task) if p["model_version"] == version]
        right += bool(prediction["result"]) and prediction["result"][0]["value"]["choices"] == [label]
    return right / len(tasks)


def test_classifier_predicts_from_the_first_task_and_learns_from_every_annotation(
    ls_user: LabelStudioUser, start_backend: Any
) -> None:
    # Every head shown as a version, so that Label Studio predicts the held-out tasks after each one.
    backend = start_backend(BERT_CLASSIFIER_DIR, env={**TRAINING, "INSTANT_VERSION_EVERY": "1"})
    to_label = bbc_news.articles(per_label=11, max_words=64)  # 55 to annotate
    held_out = bbc_news.articles(per_label=20, skip=200, max_words=64)  # 100 never annotated
    project = ls_user.create_project("e2e instant classifier", bbc_news.LABEL_CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": t}} for t, _ in to_label + held_out])
    labeling = ids[: len(to_label)]
    testing = dict(zip(ids[len(to_label) :], (label for _, label in held_out), strict=True))
    ml_id = connect(ls_user, project, backend)
    key = ls_user.project_key(project)

    # "Retrieve predictions" sends every task at once: zero-shot decides on all of them that the topic
    # names separate this project's texts (bert_classifier.light.abstain), so the first task Label Studio
    # opens already has a zero-shot prediction (a choice unless scored below PREDICTION_MIN_SCORE).
    ls_user.retrieve_predictions(project, ids)
    version = served_version(backend, key, bbc_news.LABEL_CONFIG)
    assert version.startswith("zero-shot-")
    [first] = ls_user.predictions(labeling[0])
    assert first["model_version"] == version and (first["result"] or first["score"] < 0.4), first
    accuracy = {0: held_out_accuracy(ls_user, project, testing, version)}

    # Ten articles per topic, one at a time, the topics in turn: each annotation is a new version.
    order = [topic * 11 + n for n in range(10) for topic in range(5)]
    delays = []
    for count, index in enumerate(order, start=1):
        label = to_label[index][1]
        version, delay = annotate_and_time(ls_user, backend, key, labeling[index], label, version)
        assert version.startswith("instant-v"), version
        delays.append(delay)
        if count <= 5 or count == len(order):
            accuracy[count] = held_out_accuracy(ls_user, project, testing, version)
    print(f"\nannotation -> new version live (s): {[round(d, 2) for d in delays]}; accuracy {accuracy}")
    # The bound, on the median of the first five so that one stall on a loaded machine is forgiven.
    assert sorted(delays[:5])[2] < NEW_VERSION_LIVE_S, delays[:5]
    # The held-out tasks' predictions were asked for (at 0), so their texts refine zero-shot: every one
    # of the first five annotations serves a head better on them than zero-shot (measured 0.81 -> 0.95).
    assert all(accuracy[count] > accuracy[0] for count in range(1, 6)), accuracy
    assert accuracy[len(order)] > accuracy[0], accuracy

    # A fine-tune on 50 articles (one short epoch) is published but serves only once it scores better
    # than the instant head on labels it never saw.
    ls_user.train(ml_id)
    trained = wait_for_runs(backend, project, 1)
    assert trained["training"]["failures"] == 0, trained
    fine_tuned = trained["training"]["metrics"]["model_version"]
    served = metrics(backend, project)["served"]
    assert served["layer"] == "instant" and served["model_version"] == version, served
    for index in (10, 21, 32, 43, 54):  # five labels the fine-tuned version never saw
        label = to_label[index][1]
        version, _ = annotate_and_time(ls_user, backend, key, labeling[index], label, version)
    served = metrics(backend, project)["served"]
    duel = served["duels"]["fine-tuned"]  # its forward checks against the instant head, same labels
    assert duel["version"] == fine_tuned and duel["labels"] == 5, served
    if duel["challenger_wins"]:
        assert served["layer"] == "fine-tuned" and served["model_version"] == fine_tuned, served
    else:
        assert served["layer"] == "instant" and served["model_version"] == version, served
    assert served_version(backend, key, bbc_news.LABEL_CONFIG) == served["model_version"]


#: A calm version list: 20 annotations in a row from zero-shot show at most this many versions.
CALM_ANNOTATIONS = 20
CALM_VERSIONS = 1 + math.ceil(CALM_ANNOTATIONS / HFSettings().instant_version_every)


def served_head(backend: BackendServer, ref: str) -> dict[str, Any]:
    """``/metrics`` → the project's ``served`` (the version Label Studio sees and the head under it)."""
    projects = requests.get(f"{backend.url}/metrics", timeout=10).json()["projects"]
    return projects.get(project_key(ref), {}).get("served", {})


def test_twenty_annotations_show_few_versions_and_each_next_task_is_predicted_by_the_newest_head(
    ls_user: LabelStudioUser, start_backend: Any
) -> None:
    backend = start_backend(BERT_CLASSIFIER_DIR, env=TRAINING)
    articles = bbc_news.articles(per_label=CALM_ANNOTATIONS // 5 + 1, skip=300, max_words=64)
    project = ls_user.create_project("e2e calm versions", bbc_news.LABEL_CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in articles])
    ml_id = connect(ls_user, project, backend)
    ref = ls_user.project_key(project)
    ls_user.open_task(ids[0])
    heads: list[str] = []
    for count in range(1, CALM_ANNOTATIONS + 1):
        ls_user.annotate(ids[count - 1], choice(articles[count - 1][1]))
        head = wait_for(lambda: (h := served_head(backend, ref).get("head")) not in (None, *heads) and h, 30,
                        "a new instant head")  # fmt: skip
        heads.append(head)
        task = ids[count]  # the next task, never predicted: Label Studio asks the backend
        ls_user.open_task(task)
        [stored] = ls_user.predictions(task)
        served = served_head(backend, ref)
        assert served["head"] == head and stored["model_version"] == served["model_version"], (served, stored)
        body = {"tasks": [{"id": task, "data": {"text": articles[count][0]}}], "project": ref,
                "label_config": bbc_news.LABEL_CONFIG}  # fmt: skip
        [direct] = requests.post(f"{backend.url}/predict", json=body, timeout=30).json()["results"]
        # What Label Studio stored is what the newest head answers (either worker), to the digit.
        assert stored["result"] == direct["result"], (stored, direct)
        assert stored["score"] == pytest.approx(direct["score"], abs=1e-6), (stored, direct)
    # Versions holding predictions; Label Studio adds the backend's title with 0 (the live model).
    listing = ls_user.request("GET", f"/api/projects/{project}/model-versions/").json()
    shown = {version: count for version, count in listing.items() if count}
    listed = ls_user.model_versions(ml_id)
    print(f"\nversions with predictions: {shown}; /versions: {listed}")
    assert 2 <= len(shown) <= CALM_VERSIONS, shown
    assert len(listed["versions"]) <= CALM_VERSIONS, listed


NER_CONFIG = (
    '<View><Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/><Label value="LOC"/>'
    '</Labels><Text name="text" value="$text"/></View>'
)
NER_TEXTS = [
    ("Angela Merkel met Emmanuel Macron in Paris .", [(0, 13, "PER"), (18, 33, "PER"), (37, 42, "LOC")]),
    ("😀 Macron said Merkel arrived in Paris late .", []),
    ("Emmanuel Macron and Angela Merkel left Paris .", []),
]


def test_ner_proposes_an_annotated_entity_in_the_next_task_at_once(
    ls_user: LabelStudioUser, start_backend: Any
) -> None:
    backend = start_backend(HUGGINGFACE_NER_DIR, env=TRAINING)
    project = ls_user.create_project("e2e instant ner", NER_CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in NER_TEXTS])
    connect(ls_user, project, backend)
    key = ls_user.project_key(project)
    before = served_version(backend, key, NER_CONFIG)
    text, spans = NER_TEXTS[0]
    ls_user.annotate(ids[0], spans_result(text, spans))
    wait_for(lambda: served_version(backend, key, NER_CONFIG) != before, 30, "the instant version")
    ls_user.retrieve_predictions(project, ids[1:])
    found = {}
    for task, (task_text, _) in zip(ids[1:], NER_TEXTS[1:], strict=True):
        [prediction] = ls_user.predictions(task)
        utf16 = task_text.encode("utf-16-le")
        found[task] = [
            (utf16[2 * v["start"] : 2 * v["end"]].decode("utf-16-le"), v["labels"][0])
            for v in (region["value"] for region in prediction["result"])
        ]
    # Whole annotated surfaces only ("Macron" alone was never marked), offsets right after an emoji.
    assert found[ids[1]] == [("Paris", "LOC")], found
    assert found[ids[2]] == [("Emmanuel Macron", "PER"), ("Angela Merkel", "PER"), ("Paris", "LOC")], found
