"""The whole loop against a real Label Studio 1.23.2 and the real backends (``label-studio-ml start``,
gunicorn, 2 workers): connect, import, retrieve predictions, annotate one by one and in bulk, delete,
training by webhook and by "Start training", predictions from the new version; basic auth; a second
project; a backend restart; a failing training (NER: ``test_ner_e2e``).

Label Studio runs as users install it: legacy API tokens off, so the token ``/setup`` sends is
refused. One scenario connects with nothing else and trains on what the webhooks brought; the
classifier and basic-auth scenarios give the backend a personal access token
(``LABEL_STUDIO_API_KEY``); the NER scenario switches legacy tokens on for its organization.

Small data and few epochs keep each test short: on
an idle 2-core machine ≈25 s (classifier, four trainings), ≈8 s (basic auth), ≈9 s (failed training),
≈30 s (NER, two trainings), after Label Studio's start (≈25-50 s, once per session).
"""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, StartBackend
from tests.support.e2e_steps import (
    FAST_TRAINING,
    FIXTURES,
    SENTIMENT_TEXTS,
    assert_choices,
    choice,
    connect,
    log_tail,
    metrics,
    only_predictions,
    personal_access_token,
    refreshed_predictions,
    wait_for_runs,
)
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import CONNECTED, LabelStudioUser, wait_for
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e


def test_a_default_label_studio_refuses_its_own_token_and_training_learns_from_the_webhooks(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    labeled_count = 10
    env = {**FAST_TRAINING, "MIN_TRAIN_STEPS": "40", "START_TRAINING_EACH_N_UPDATES": str(labeled_count)}
    backend = start_backend(BERT_CLASSIFIER_DIR, env=env)  # no credentials: as a new user starts it
    pairs = bbc_news.articles(per_label=4, max_words=40)
    project = ls_user.create_project("e2e default label studio", bbc_news.LABEL_CONFIG)
    task_ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in pairs])
    connect(ls_user, project, backend)
    labeled = [i * 4 + j for i in range(5) for j in range(2)]  # two articles per topic
    for i in labeled:
        ls_user.annotate(task_ids[i], choice(pairs[i][1]))

    trained = wait_for_runs(backend, project, 1)
    training = trained["training"]
    assert training["state"] == "idle" and training["failures"] == 0, trained
    assert training["metrics"]["train_size"] == labeled_count, training["metrics"]
    access = trained["label_studio"]
    assert access["source"] == "webhooks" and access["annotations"] == labeled_count, access
    assert access["reason"].startswith(
        "Label Studio refused the token it sent (legacy tokens are disabled for this organization): "
        f"learning from {labeled_count} annotation(s) received since connecting; to read all, set "
        "LABEL_STUDIO_API_KEY to a personal access token"
    ), access
    assert "Traceback" not in log_tail(backend, 200_000)
    predictions = refreshed_predictions(ls_user, project)
    truth = {task: pairs[i][1] for i, task in enumerate(task_ids) if i not in labeled}
    chosen = {task: predictions[task]["result"][0]["value"]["choices"] for task in truth}
    right = sum(chosen[task] == [label] for task, label in truth.items())
    assert right / len(truth) >= 0.6, f"{right} of {len(truth)} held-out articles right (chance: 1 in 5)"


def test_classifier_learns_from_annotations_per_project_and_survives_a_restart(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    changes_to_train = 7
    # 40 optimizer steps: enough for five examples (one per topic) to teach the topics.
    env = {**FAST_TRAINING, "MIN_TRAIN_STEPS": "40", "START_TRAINING_EACH_N_UPDATES": str(changes_to_train)}
    env.update(personal_access_token(label_studio))  # Label Studio is read: bulk annotations, unlabeled tasks
    backend = start_backend(BERT_CLASSIFIER_DIR, env=env)
    pairs = bbc_news.articles(per_label=4, max_words=40)  # 20 real BBC texts, 5 topics
    project = ls_user.create_project("e2e classification", bbc_news.LABEL_CONFIG)
    task_ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in pairs])
    ml_id = connect(ls_user, project, backend)

    # Before any training: one prediction per task, empty, from the backend's initial version.
    ls_user.retrieve_predictions(project)
    before = only_predictions(ls_user, project)
    assert sorted(before) == sorted(task_ids)
    assert all(p["result"] == [] for p in before.values()), before
    (initial_version,) = {p["model_version"] for p in before.values()}
    assert ls_user.open_task(task_ids[0])["data"]["text"] == pairs[0][0]

    # One by one: one article per topic and one more (6 changes), then delete the extra (7th change).
    labeled = [i * 4 for i in range(5)] + [1]
    annotation_ids = [ls_user.annotate(task_ids[i], choice(pairs[i][1])) for i in labeled]
    assert metrics(backend, project).get("training", {}).get("runs", 0) == 0
    ls_user.delete_annotation(annotation_ids[-1])
    first = wait_for_runs(backend, project, 1)
    assert first["training"]["state"] == "idle" and first["training"]["runs"] == 1, first
    assert first["model_version"] != initial_version

    ls_user.train(ml_id)  # "Start training"
    second = wait_for_runs(backend, project, 2)
    assert second["training"]["runs"] == 2 and second["training"]["failures"] == 0, second
    version = second["model_version"]
    assert version not in {initial_version, first["model_version"]}
    # Its int8 check predicted the project's unlabeled tasks, as Label Studio's filter listed them.
    unlabeled = second["training"]["metrics"]["quantization"]["unlabeled"]
    assert unlabeled["texts"] == len(pairs) - 5, unlabeled

    predictions = refreshed_predictions(ls_user, project)
    assert sorted(predictions) == sorted(task_ids)
    assert_choices(predictions, version, set(bbc_news.LABELS))
    # It learned: the 15 articles nobody labeled are mostly right (chance is 1 in 5).
    truth = {task: pairs[i][1] for i, task in enumerate(task_ids) if i not in labeled[:-1]}
    chosen = {task: predictions[task]["result"][0]["value"]["choices"] for task in truth}
    right = sum(chosen[task] == [label] for task, label in truth.items())
    assert right / len(truth) >= 0.6, f"{right} of {len(truth)} held-out articles right"

    # In bulk: annotations from predictions for 7 unlabeled tasks (one webhook, 7 changes).
    bulk = [t for i, t in enumerate(task_ids) if i not in labeled][:changes_to_train]
    assert ls_user.annotate_from_predictions(project, bulk) == changes_to_train
    third = wait_for_runs(backend, project, 3)
    assert third["training"]["runs"] == 3 and third["model_version"] != version, third
    # Every annotation trained the new version; before that, the version whose predictions the 7
    # annotations copy was scored on exactly those 7, which it never trained on: it agrees with itself.
    summary = third["training"]["metrics"]
    assert summary["train_size"] == len(labeled) - 1 + changes_to_train, summary
    # By default (FULL_RETRAIN_EVERY=5) it continued the "Start training" version on what is new.
    plan = summary["training"]
    assert (plan["mode"], plan["warm_start_from"], plan["new_examples"]) == ("incremental", version, 7), plan
    evaluation = summary["evaluation"]
    assert (evaluation["model_version"], evaluation["examples"]) == (version, changes_to_train), evaluation
    # Scored as it was served: int8 where its publication accepted it, else fp32.
    int8_served = second["training"]["metrics"]["quantization"].get("serves") == "onnx-int8"
    assert evaluation["int8_metrics" if int8_served else "metrics"]["accuracy"] == 1.0, evaluation
    version = third["model_version"]

    # A second project on the same backend trains its own model, with its own labels.
    sentiment = json.loads((FIXTURES / "classification_setup.json").read_text())["schema"]
    other = ls_user.create_project("e2e classification, second project", sentiment)
    other_tasks = ls_user.import_tasks(other, [{"data": {"text": text}} for text, _ in SENTIMENT_TEXTS])
    other_ml = connect(ls_user, other, backend)
    for task_id, (_, label) in zip(other_tasks[:4], SENTIMENT_TEXTS, strict=False):
        ls_user.annotate(task_id, choice(label, from_name="label"))
    ls_user.train(other_ml)
    other_version = wait_for_runs(backend, other, 1)["model_version"]
    assert other_version != version
    assert metrics(backend, project)["model_version"] == version
    assert_choices(refreshed_predictions(ls_user, other), other_version, {"positive", "negative"})

    # After a restart both projects are served by their last versions.
    backend.restart()
    assert_choices(refreshed_predictions(ls_user, project), version, set(bbc_news.LABELS))
    assert_choices(refreshed_predictions(ls_user, other), other_version, {"positive", "negative"})


def test_backend_behind_basic_auth_trains_from_annotation_webhooks(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    credentials = ("lsml-e2e", "s3cret-pass")
    backend = start_backend(
        BERT_CLASSIFIER_DIR,
        basic_auth=credentials,
        # The webhook's header is set through Label Studio's API: a token it accepts is needed.
        env={**FAST_TRAINING, "START_TRAINING_EACH_N_UPDATES": "5", **personal_access_token(label_studio)},
    )
    assert requests.get(f"{backend.url}/health", timeout=10).status_code == 401
    pairs = bbc_news.articles(per_label=2, max_words=40)
    project = ls_user.create_project("e2e basic auth", bbc_news.LABEL_CONFIG)
    task_ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in pairs])
    connect(ls_user, project, backend)

    # The backend gives Label Studio's webhook its header itself (in the background after /setup).
    expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()

    def webhook_has_header() -> bool:
        hooks = [h for h in ls_user.webhooks(project) if str(h["url"]).startswith(backend.url)]
        return bool(hooks) and all((h.get("headers") or {}).get("Authorization") == expected for h in hooks)

    wait_for(webhook_has_header, 30, "the webhook to carry the backend's basic-auth header")

    for i in range(0, 10, 2):  # one article per topic: 5 changes start a training
        ls_user.annotate(task_ids[i], choice(pairs[i][1]))
    trained = wait_for_runs(backend, project, 1)
    assert trained["training"]["runs"] == 1 and trained["training"]["failures"] == 0, trained

    predictions = refreshed_predictions(ls_user, project)
    assert_choices(predictions, trained["model_version"], set(bbc_news.LABELS))


def test_failed_training_is_reported_and_the_backend_keeps_serving(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    backend = start_backend(BERT_CLASSIFIER_DIR, env={**FAST_TRAINING, "LABEL_STUDIO_URL": unreachable})
    pairs = bbc_news.articles(per_label=1, max_words=40)
    project = ls_user.create_project("e2e failed training", bbc_news.LABEL_CONFIG)
    task_ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in pairs])
    ml_id = connect(ls_user, project, backend)
    ls_user.annotate(task_ids[0], choice(pairs[0][1]))

    ls_user.train(ml_id)
    failed = wait_for_runs(backend, project, 1)
    training = failed["training"]
    assert training["state"] == "failed" and training["failures"] == 1 and training["runs"] == 1, training
    assert "LabelStudioUnavailable" in str(training["error"]), training

    assert requests.get(f"{backend.url}/health", timeout=10).status_code == 200
    assert ls_user.backend_state(ml_id) == CONNECTED
    ls_user.retrieve_predictions(project)
    predictions = only_predictions(ls_user, project)
    assert all(p["result"] == [] for p in predictions.values()), predictions
