"""The whole loop against a real Label Studio 1.23.2 and the real backends (``label-studio-ml start``,
gunicorn, 2 workers): connect, import, retrieve predictions, annotate one by one and in bulk, delete,
training by webhook and by "Start training", predictions from the new version; basic auth; a second
project; a backend restart; a failing training.

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
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, HUGGINGFACE_NER_DIR, BackendServer, StartBackend
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import CONNECTED, LabelStudioUser, project_entry, wait_for
from tests.support.ner_conll import conll_dir, read_conll, sentence_spans
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRAINING_TIMEOUT_S = 600.0  # generous: other jobs on a shared 2-core machine slow training 5-10x
# Small and fast: one epoch, short sequences (the texts are short anyway).
# Zero-shot and instant learning off: these scenarios are about fine-tuning (test_instant_e2e.py has
# the defaults).
FAST_TRAINING = {
    "ZERO_SHOT": "off",
    "INSTANT_LEARNING": "false",
    "NUM_TRAIN_EPOCHS": "1",
    "MIN_TRAIN_STEPS": "0",
    "MAX_LENGTH": "64",
    "WINDOW_STRIDE": "16",
    "BATCH_SIZE": "8",
    # A one-epoch model is unsure of much: these scenarios check its decisions, all of them.
    "PREDICTION_MIN_SCORE": "0",
}
SENTIMENT_TEXTS = [
    ("A wonderful, moving film.", "positive"),
    ("Terrible service and cold food.", "negative"),
    ("I loved every minute of it.", "positive"),
    ("The worst purchase I ever made.", "negative"),
    ("Great value, works perfectly.", "positive"),
    ("Broken on arrival, very disappointing.", "negative"),
]


# -- helpers -------------------------------------------------------------------------------------


def metrics(backend: BackendServer, project: int) -> dict[str, Any]:
    """The backend's ``/metrics`` entry for one project (``{}`` before the project is known)."""
    response = requests.get(f"{backend.url}/metrics", auth=backend.basic_auth, timeout=10)
    response.raise_for_status()
    return project_entry(response.json().get("projects", {}), project)


def wait_for_runs(backend: BackendServer, project: int, runs: int) -> dict[str, Any]:
    """Poll ``/metrics`` until the project has ``runs`` finished trainings and none in progress."""

    def finished() -> dict[str, Any] | None:
        entry = metrics(backend, project)
        training = entry.get("training", {})  # "runs" counts finished runs, failed ones included
        return entry if training.get("runs", 0) >= runs and training.get("state") != "running" else None

    try:
        return wait_for(finished, TRAINING_TIMEOUT_S, f"training run {runs} of project {project}", 1.0)
    except TimeoutError as error:
        raise AssertionError(
            f"{error}; metrics {metrics(backend, project)}; log:\n{log_tail(backend)}"
        ) from None


def log_tail(backend: BackendServer, chars: int = 4000) -> str:
    """The end of the backend's log, for failure messages."""
    return backend.log_path.read_text(errors="replace")[-chars:] if backend.log_path.exists() else ""


def choice(label: str, from_name: str = "topic") -> list[dict[str, Any]]:
    """A ``<Choices>`` annotation result."""
    return [{"from_name": from_name, "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def js_slice(text: str, start: int, end: int) -> str:
    """``text.slice(start, end)`` as JavaScript (and so Label Studio's highlight) computes it."""
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def js_offset(text: str, index: int) -> int:
    """The UTF-16 offset of code point ``index`` of ``text``."""
    return len(text[:index].encode("utf-16-le")) // 2


def spans_result(text: str, spans: list[tuple[int, int, str]]) -> list[dict[str, Any]]:
    """A ``<Labels>`` annotation result from code-point spans, in Label Studio's UTF-16 offsets."""
    return [
        {
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {
                "start": js_offset(text, s),
                "end": js_offset(text, e),
                "text": text[s:e],
                "labels": [label],
            },
        }
        for s, e, label in spans
    ]


def only_predictions(ls_user: LabelStudioUser, project: int) -> dict[int, dict[str, Any]]:
    """Each task's single stored prediction (fails if a task has none or several)."""
    by_task = ls_user.predictions_by_task(project)
    counts = {task: len(predictions) for task, predictions in by_task.items()}
    assert set(counts.values()) == {1}, f"predictions per task: {counts}"
    return {task: predictions[0] for task, predictions in by_task.items()}


def refreshed_predictions(ls_user: LabelStudioUser, project: int) -> dict[int, dict[str, Any]]:
    """Data Manager: delete predictions, retrieve them again; returns each task's new prediction."""
    ls_user.delete_predictions(project)
    ls_user.retrieve_predictions(project)
    return only_predictions(ls_user, project)


def connect(ls_user: LabelStudioUser, project: int, backend: BackendServer) -> int:
    """Settings → Model → connect; it must show as connected."""
    ml_id = ls_user.connect_backend(project, backend.url, basic_auth=backend.basic_auth)
    assert ls_user.backend_state(ml_id) == CONNECTED, ls_user.backend(ml_id)
    return ml_id


def assert_choices(predictions: dict[int, dict[str, Any]], version: str, labels: set[str]) -> None:
    """Every prediction comes from ``version`` and picks one label of the config."""
    for task, prediction in predictions.items():
        assert prediction["model_version"] == version, (task, prediction)
        (region,) = prediction["result"]
        assert len(region["value"]["choices"]) == 1 and set(region["value"]["choices"]) <= labels, region


def personal_access_token(label_studio: LabelStudioServer) -> dict[str, str]:
    """The backend's environment that lets it read Label Studio with a legacy-free default install."""
    token = label_studio.personal_access_token()
    return {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": token}


# -- scenarios -----------------------------------------------------------------------------------


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


# -- NER -----------------------------------------------------------------------------------------

# An emoji counts two UTF-16 units (Label Studio's offsets) but one code point (Python's): entities
# after one have different offsets in the two.
EMOJI = "😀🚀🎉"
EMOJI_SENTENCES = [
    ("😀 Anna Schmidt joined Siemens in Munich .", [(2, 14, "PER"), (22, 29, "ORG"), (33, 39, "LOC")]),
    ("🚀 Boeing opened an office in Seattle .", [(2, 8, "ORG"), (29, 36, "LOC")]),
    ("🎉 Maria Lopez moved to Madrid .", [(2, 13, "PER"), (23, 29, "LOC")]),
]


# One epoch of 27 sentences finds no entity at all; six at a higher rate do (≈40 steps, 10-20 s).
NER_TRAINING = {"NUM_TRAIN_EPOCHS": "6", "MIN_TRAIN_STEPS": "0", "LEARNING_RATE": "3e-4", "BATCH_SIZE": "4"}


def ner_sentences(count: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """``count`` real CoNLL-2003 sentences with entities, every third one after an emoji, plus the
    hand-written emoji sentences; code-point spans."""
    found: list[tuple[str, list[tuple[int, int, str]]]] = []
    for sentence in read_conll(conll_dir() / "train.txt"):
        text, spans = sentence_spans(sentence)
        if spans and len(text) < 160:
            if len(found) % 3 == 0:
                text, spans = f"{EMOJI[0]} {text}", [(s + 2, e + 2, label) for s, e, label in spans]
            found.append((text, spans))
        if len(found) == count:
            break
    return found + EMOJI_SENTENCES


@pytest.mark.usefixtures("legacy_tokens_on")
def test_ner_learns_from_annotations_and_predicts_spans_in_label_studio_offsets(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    sentences = ner_sentences(24)
    env = {
        **FAST_TRAINING,
        **NER_TRAINING,
        "START_TRAINING_EACH_N_UPDATES": str(len(sentences)),
    }
    backend = start_backend(HUGGINGFACE_NER_DIR, env=env)
    config = json.loads((FIXTURES / "ner_setup.json").read_text())["schema"]
    project = ls_user.create_project("e2e ner", config)
    task_ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in sentences])
    ml_id = connect(ls_user, project, backend)

    ls_user.retrieve_predictions(project)
    before = only_predictions(ls_user, project)
    assert all(p["result"] == [] for p in before.values()), before
    (initial_version,) = {p["model_version"] for p in before.values()}

    for task_id, (text, spans) in zip(task_ids, sentences, strict=True):
        ls_user.annotate(task_id, spans_result(text, spans))
    first = wait_for_runs(backend, project, 1)
    assert first["training"]["runs"] == 1 and first["training"]["failures"] == 0, first
    assert first["label_studio"]["source"] == "label_studio", first  # the legacy token was accepted
    ls_user.train(ml_id)
    second = wait_for_runs(backend, project, 2)
    assert second["training"]["runs"] == 2 and second["training"]["failures"] == 0, second
    version = second["model_version"]
    assert version not in {initial_version, first["model_version"]}

    predictions = refreshed_predictions(ls_user, project)
    texts = dict(zip(task_ids, (text for text, _ in sentences), strict=True))
    regions = 0
    for task_id, prediction in predictions.items():
        assert prediction["model_version"] == version, prediction
        for region in prediction["result"]:
            value = region["value"]
            assert set(value["labels"]) <= {"PER", "ORG", "LOC", "MISC"}, region
            assert js_slice(texts[task_id], value["start"], value["end"]) == value["text"], region
            regions += 1
    assert regions > 0, "the trained model found no entity at all"
    emoji_regions = [r for t, p in predictions.items() if texts[t][0] in EMOJI for r in p["result"]]
    assert emoji_regions, "no entity predicted in the emoji sentences: UTF-16 offsets not exercised"
