"""``alias`` on ``<Choice>``/``<Label>`` against a real Label Studio 1.23.2 and the real backends.

Label Studio writes a label's alias into annotation results; its ``<Choices>`` shows a choice as
selected only when the result carries ``alias ?? value`` (``Choice._resultValue`` in its editor),
and with prediction validation on (``PREDICTION_VALIDATION_FLAG``, set for the test server) it
refuses a prediction that names a label by its value, refusing the whole ``/predict`` batch. The
backends train on results that carry either name and predict the alias.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, HUGGINGFACE_NER_DIR
from tests.support.e2e_steps import (
    FAST_TRAINING,
    NER_TRAINING,
    connect,
    js_offset,
    js_slice,
    ner_sentences,
    personal_access_token,
    refreshed_predictions,
    wait_for_runs,
)
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser

pytestmark = pytest.mark.e2e

#: BBC topics with a long display value and the short alias that results carry.
TOPICS = {
    "business": "Business and economy",
    "entertainment": "Arts and entertainment",
    "politics": "Politics and government",
    "sports": "Sport",
    "tech": "Science and technology",
}
#: Topics whose annotations came from another tool that wrote the display value.
BY_VALUE = {"business", "entertainment"}
TOPIC_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text" choice="single">'
    + "".join(f'<Choice value="{value}" alias="{alias}"/>' for alias, value in TOPICS.items())
    + "</Choices></View>"
)
ENTITIES = {"PER": "Person", "ORG": "Organization", "LOC": "Location", "MISC": None}
ENTITY_CONFIG = (
    '<View><Labels name="ents" toName="text">'
    + "".join(
        f'<Label value="{value}" alias="{alias}"/>' if value else f'<Label value="{alias}"/>'
        for alias, value in ENTITIES.items()
    )
    + '</Labels><Text name="text" value="$text"/></View>'
)
# Enough optimizer steps for 20 short articles to be learned (held-out-free: all are trained on).
LEARNING = {**FAST_TRAINING, "MIN_TRAIN_STEPS": "40", "START_TRAINING_EACH_N_UPDATES": "0"}


def topic_result(name: str) -> list[dict[str, Any]]:
    return [{"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": [name]}}]


def refused_by_label_studio(ls_user: LabelStudioUser, task: int, result: list[dict[str, Any]]) -> bool:
    """Whether Label Studio refuses to store ``result`` as a prediction of ``task`` (400)."""
    body = {"task": task, "result": result, "score": 0.5, "model_version": "probe"}
    try:
        ls_user.request("POST", "/api/predictions/", json=body)
    except requests.HTTPError as error:
        assert error.response is not None and error.response.status_code == 400, error
        return True
    return False


def test_classifier_learns_labels_annotated_by_alias_or_value_and_predicts_their_aliases(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser, start_backend
) -> None:
    # Tasks imported with their annotations send no webhook: the backend reads them from Label Studio.
    backend = start_backend(BERT_CLASSIFIER_DIR, env={**LEARNING, **personal_access_token(label_studio)})
    pairs = bbc_news.articles(per_label=4, max_words=40)
    project = ls_user.create_project("e2e aliases, classifier", TOPIC_CONFIG)
    names = {label: TOPICS[label] if label in BY_VALUE else label for label in TOPICS}
    imported = [
        {"data": {"text": text}, "annotations": [{"result": topic_result(names[label])}]}
        for text, label in pairs
    ]
    task_ids = ls_user.import_tasks(project, imported)
    assert refused_by_label_studio(ls_user, task_ids[0], topic_result(TOPICS["business"]))
    assert not refused_by_label_studio(ls_user, task_ids[0], topic_result("business"))

    ml_id = connect(ls_user, project, backend)
    ls_user.delete_predictions(project)  # the probe above
    ls_user.train(ml_id)
    trained = wait_for_runs(backend, project, 1)
    assert trained["training"]["failures"] == 0, trained

    predictions = refreshed_predictions(ls_user, project)  # stored by Label Studio, validated
    predicted = {task: p["result"][0]["value"]["choices"] for task, p in predictions.items() if p["result"]}
    assert all(p["model_version"] == trained["model_version"] for p in predictions.values())
    assert all(len(choices) == 1 and choices[0] in TOPICS for choices in predicted.values()), predicted
    gold = dict(zip(task_ids, (label for _, label in pairs), strict=True))
    correct = sum(predicted.get(task, [None])[0] == label for task, label in gold.items())
    # Chance is 0.2; a backend that ignored the value-annotated topics could reach at most 0.6.
    assert correct >= 0.8 * len(gold), (correct, predicted)
    assert {predicted[task][0] for task in task_ids if task in predicted} >= BY_VALUE


def test_ner_trains_on_alias_and_value_regions_and_predicts_aliases_label_studio_accepts(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser, start_backend
) -> None:
    sentences = ner_sentences(24)
    env = {**FAST_TRAINING, **NER_TRAINING, "START_TRAINING_EACH_N_UPDATES": "0"}
    env.update(personal_access_token(label_studio))  # imported annotations are read from Label Studio
    backend = start_backend(HUGGINGFACE_NER_DIR, env=env)
    project = ls_user.create_project("e2e aliases, ner", ENTITY_CONFIG)
    imported = [
        {"data": {"text": text}, "annotations": [{"result": regions(text, spans, by_value=index % 2 == 1)}]}
        for index, (text, spans) in enumerate(sentences)
    ]
    task_ids = ls_user.import_tasks(project, imported)
    ml_id = connect(ls_user, project, backend)
    ls_user.train(ml_id)
    trained = wait_for_runs(backend, project, 1)
    assert trained["training"]["failures"] == 0, trained

    predictions = refreshed_predictions(ls_user, project)
    texts = dict(zip(task_ids, (text for text, _ in sentences), strict=True))
    found = [(task, region) for task, p in predictions.items() for region in p["result"]]
    assert found, "the trained model found no entity at all"
    for task, region in found:
        assert region["value"]["labels"][0] in ENTITIES, region  # the alias, never "Person"
        value = region["value"]
        assert js_slice(texts[task], value["start"], value["end"]) == value["text"], region


def regions(text: str, spans: list[tuple[int, int, str]], by_value: bool) -> list[dict[str, Any]]:
    """``<Labels>`` results in Label Studio's UTF-16 offsets, naming labels by alias or by value."""
    return [
        {
            "from_name": "ents",
            "to_name": "text",
            "type": "labels",
            "value": {
                "start": js_offset(text, start),
                "end": js_offset(text, end),
                "text": text[start:end],
                "labels": [(ENTITIES[label] or label) if by_value else label],
            },
        }
        for start, end, label in spans
    ]
