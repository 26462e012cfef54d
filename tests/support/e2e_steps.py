"""Steps the end-to-end scenarios share: backend metrics, waiting for trainings, Label Studio's
predictions and offsets (UTF-16, as its frontend counts), connecting a backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.support.backend_server import BackendServer
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import CONNECTED, LabelStudioUser, project_entry, wait_for
from tests.support.ner_conll import conll_dir, read_conll, sentence_spans

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
