"""The classifier serves ``<Choices>`` over a ``<Paragraphs>`` dialogue: the conversation is classified.

A dialogue is read as lines "speaker: words" (``label_studio_ml.studio.paragraphs``); annotations
teach the instant head through the webhooks and a fine-tuning; every prediction is one Label
Studio's own validator accepts (``LabelInterface.validate_prediction``); a malformed dialogue is an
unreadable task: an empty prediction, and a training counts it as skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from label_studio_sdk.label_interface import LabelInterface

from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from huggingface_ner.model import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import UnprocessableEntity
from tests.conftest import load_fixture, wait_healthy
from tests.support.fake_label_studio import fake_label_studio
from tests.support.webhooks import annotation_created

INTENTS = (
    '<View><Paragraphs name="dialogue" value="$dialogue" layout="dialogue"/>'
    '<Choices name="intent" toName="dialogue" choice="single">'
    '<Choice value="refund"/><Choice value="password"/></Choices></View>'
)
PREDICT = load_fixture("classification_predict.json")
PROJECT = PREDICT["project"]
TOKEN = "ls-token"
ASKS = {
    "refund": ["I want my money back for this order", "Please refund the broken blender",
               "Return the shoes and give me a refund", "Can I get my payment reimbursed?"],
    "password": ["I forgot my password and cannot log in", "Reset my account password please",
                 "My login password stopped working", "How do I change my password?"],
}  # fmt: skip
ANSWERS = {"refund": "Sure, I will process the refund.", "password": "I will send you a reset link."}


def dialogue(label: str, index: int) -> list[dict[str, str]]:
    return [{"author": "Customer", "text": ASKS[label][index]}, {"author": "Agent", "text": ANSWERS[label]}]


def accepted(items: list[dict[str, Any]]) -> None:
    interface = LabelInterface(INTENTS)
    for item in items:
        assert interface.validate_prediction(item, return_errors=True) == [], item
        assert all(region["to_name"] == "dialogue" for region in item["result"])


def chosen(items: list[dict[str, Any]]) -> list[str | None]:
    return [item["result"][0]["value"]["choices"][0] if item["result"] else None for item in items]


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def make(context: BackendContext, config: str = INTENTS, **settings: Any) -> BertClassifier:
    hf = HFSettings(**{"max_length": 64, "prediction_min_score": 0.0, **settings})
    return BertClassifier(project_id="3", label_config=config, context=context, hf_settings=hf)


def test_the_text_is_the_conversation_with_its_speakers_and_keys_from_the_config(context) -> None:
    (control,) = make(context).controls()
    assert control.to_name == "dialogue" and control.labels == ("refund", "password")
    turns = [{"author": "Alice", "text": "Hi"}, {"author": "Bob", "text": "Hey"}]
    assert make(context).task_text({"id": 1, "data": {"dialogue": turns}}, control) == "Alice: Hi\nBob: Hey"
    keyed = INTENTS.replace('layout="dialogue"', 'nameKey="who" textKey="said"')
    model = make(context, keyed)
    (control,) = model.controls()
    turns = [{"who": "Ann", "said": "Refund?"}, {"said": "(silence)"}]
    assert model.task_text({"id": 2, "data": {"dialogue": turns}}, control) == "Ann: Refund?\n(silence)"
    fetched = INTENTS.replace('layout="dialogue"', 'valueType="url"')
    model = make(context, fetched)
    model.resolve_text = lambda value, value_type=None: '[{"author": "Eve", "text": "Bye"}]'
    task = {"id": 3, "data": {"dialogue": "/data/upload/1/d.json"}}
    assert model.task_text(task, model.controls()[0]) == "Eve: Bye"


@pytest.mark.parametrize(
    "value", ["Hi there", {"author": "A", "text": "Hi"}, [{"author": "A"}], ["Hi"], [{"text": ["Hi"]}]]
)
def test_a_malformed_dialogue_is_unreadable(context, value: Any) -> None:
    model = make(context)
    assert model.task_text({"id": 1, "data": {"dialogue": value}}, model.controls()[0]) is None


def test_the_ner_backend_and_unknown_value_types_still_refuse_paragraphs(context) -> None:
    ner = INTENTS.replace("Choices", "Labels").replace("Choice ", "Label ")
    with pytest.raises(UnprocessableEntity, match="Paragraphs"):
        HuggingFaceNER(project_id="3", label_config=ner, context=context).controls()
    with pytest.raises(UnprocessableEntity, match='valueType="text"'):
        make(context, INTENTS.replace('layout="dialogue"', 'valueType="text"')).controls()


def test_fine_tuning_learns_from_dialogues_and_a_malformed_one_gets_an_empty_prediction(context) -> None:
    model = make(context, num_train_epochs=1.0, min_train_steps=20, max_length=32, window_stride=8,
                 batch_size=8, keep_versions=1, learning_rate=1e-4)  # fmt: skip
    result = [{"from_name": "intent", "to_name": "dialogue", "type": "choices"}]
    labeled = [
        {"id": n, "data": {"dialogue": dialogue(label, index)},
         "annotations": [{"id": n, "result": [{**result[0], "value": {"choices": [label]}}]}]}
        for n, (label, index) in enumerate((label, index) for label in ASKS for index in range(4))
    ]  # fmt: skip
    broken = {"id": 99, "data": {"dialogue": "not a list"}, "annotations": [labeled[0]["annotations"][0]]}
    model.labeled_tasks = lambda: [*labeled, broken]
    metrics = model.fit("START_TRAINING", {})
    assert metrics["train_size"] == 8
    assert metrics["heads"]["intent"]["skipped_tasks"]["unreadable_text"] == 1
    hf = model.hf_settings
    served = BertClassifier(project_id="3", label_config=INTENTS, context=context, hf_settings=hf)
    assert served.model_version == metrics["model_version"]
    tasks = [{"id": 1, "data": {"dialogue": dialogue("refund", 0)}}, {"id": 2, "data": {"dialogue": [1, 2]}},
             {"id": 3, "data": {"dialogue": dialogue("password", 1)}}]  # fmt: skip
    items = served.predict(tasks).serialize()
    assert len(items) == 3 and items[0]["result"] and items[2]["result"] and items[1]["result"] == []
    accepted(items)


def event(task_id: int, turns: list[dict[str, str]], label: str) -> dict[str, Any]:
    """An ``ANNOTATION_CREATED`` body as Label Studio sends it, for a dialogue task."""
    result = {"from_name": "intent", "to_name": "dialogue", "type": "choices", "value": {"choices": [label]}}
    return annotation_created(task_id, {"dialogue": turns}, [result], INTENTS)


def test_setup_accepts_dialogues_and_each_annotation_webhook_teaches_the_instant_head(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path / "models", start_training_each_n_updates=0)
    app = create_app(BertClassifier, context=BackendContext.from_settings(settings))
    client = app.test_client()
    wait_healthy(client, timeout=120)
    tasks = [{"id": 10 + n, "data": {"dialogue": dialogue(label, 3)}} for n, label in enumerate(ASKS)]
    predict = {**PREDICT, "tasks": tasks, "label_config": INTENTS}
    with fake_label_studio([], token=TOKEN) as (url, _):
        body = {"project": PROJECT, "schema": INTENTS, "hostname": url, "access_token": TOKEN}
        answer = client.post("/setup", json=body)
        assert answer.status_code == 200, answer.get_json()
        accepted(client.post("/predict", json=predict).get_json()["results"])
        for n, (label, index) in enumerate((label, index) for index in range(3) for label in ASKS):
            annotated = event(100 + n, dialogue(label, index), label)
            assert client.post("/webhook", json=annotated).status_code == 201
            assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, timeout=120)
        version = client.post("/setup", json=body).get_json()["model_version"]
        assert version.startswith("instant-v")
        after = client.post("/predict", json=predict).get_json()["results"]
    accepted(after)
    assert chosen(after) == list(ASKS)
