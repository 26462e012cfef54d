"""``<Choices>`` over a ``<Paragraphs>`` dialogue in a real Label Studio 1.23.2.

Each dialogue is a BBC News article told in three turns by a host and a guest; the conversation's
topic is its article's. Twenty annotated through Label Studio's API teach the classifier's instant
layer; the predictions Label Studio stores for 25 held-out dialogues (``PREDICTION_VALIDATION_FLAG``
is on for the test server, and the SDK's ``validate_prediction`` checks each again) name the topic
far more often than chance (1 in 5).
"""

from __future__ import annotations

from typing import Any

import pytest
from label_studio_sdk.label_interface import LabelInterface

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, StartBackend
from tests.support.e2e_steps import connect
from tests.support.ls_user import LabelStudioUser, wait_for

pytestmark = pytest.mark.e2e

CONFIG = (
    '<View><Paragraphs name="dialogue" value="$dialogue" layout="dialogue" nameKey="speaker" '
    'textKey="words"/><Choices name="topic" toName="dialogue">'
    + "".join(f'<Choice value="{label}"/>' for label in bbc_news.LABELS)
    + "</Choices></View>"
)
ENV = {"INSTANT_VERSION_EVERY": "1", "START_TRAINING_EACH_N_UPDATES": "0", "PREDICTION_MIN_SCORE": "0"}
SPEAKERS = ("host", "guest")


def dialogue(text: str, turns: int = 3) -> list[dict[str, str]]:
    """``text`` as ``turns`` turns of about equal length, the speakers taking turns."""
    words = text.split()
    size = -(-len(words) // turns)
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [{"speaker": SPEAKERS[i % 2], "words": chunk} for i, chunk in enumerate(chunks)]


def topic(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "topic", "to_name": "dialogue", "type": "choices", "value": {"choices": [label]}}]


def validated(prediction: dict[str, Any]) -> dict[str, Any]:
    """The stored prediction, checked by the SDK's own validation against the config."""
    item = {key: prediction[key] for key in ("result", "score", "model_version") if prediction.get(key)}
    item.setdefault("result", [])
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == [], prediction
    return prediction


def test_dialogues_are_classified_from_annotations_and_label_studio_accepts_the_predictions(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    backend = start_backend(BERT_CLASSIFIER_DIR, env=ENV, workers=1)
    to_label = bbc_news.articles(per_label=4, max_words=60)  # 20 dialogues to annotate
    held_out = bbc_news.articles(per_label=5, skip=200, max_words=60)  # 25 never annotated
    project = ls_user.create_project("e2e dialogues", CONFIG)
    tasks = [{"data": {"dialogue": dialogue(text)}} for text, _ in to_label + held_out]
    ids = ls_user.import_tasks(project, tasks)
    connect(ls_user, project, backend)

    for task, (_, label) in zip(ids, to_label, strict=False):
        ls_user.annotate(task, topic(label))
    testing = dict(zip(ids[len(to_label) :], (label for _, label in held_out), strict=True))

    def instant_predictions() -> dict[int, dict[str, Any]] | None:
        ls_user.retrieve_predictions(project, list(testing))
        found = {task: (ls_user.predictions(task) or [None])[-1] for task in testing}
        fresh = all(p and str(p["model_version"]).startswith("instant-v") for p in found.values())
        return found if fresh else None

    predictions = wait_for(instant_predictions, 90, "instant-layer predictions of every held-out dialogue")
    right = 0
    for task, label in testing.items():
        result = validated(predictions[task])["result"]
        (region,) = result
        assert (region["from_name"], region["to_name"], region["type"]) == ("topic", "dialogue", "choices")
        right += region["value"]["choices"] == [label]
    accuracy = right / len(testing)
    print(f"\ndialogues: {right} of {len(testing)} held-out topics right ({accuracy:.2f}; chance 0.20)")
    assert accuracy >= 0.6, accuracy
