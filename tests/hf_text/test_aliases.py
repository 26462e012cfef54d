"""``alias`` on ``<Choice>``/``<Label>``: Label Studio writes the alias into results, shows and accepts
predictions by it; a result carrying the label's ``value`` (written before the alias existed, or
imported) names the same label. Both backends train on either and always predict the alias.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from bert_classifier.model import BertClassifier
from hf_text.data.controls import find_controls
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from huggingface_ner.labels import bio_labels
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support.published_heads import publish_head

CHOICES = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text">'
    '<Choice value="Sports news" alias="sport"/><Choice value="Technology" alias="tech"/>'
    '<Choice value="food"/></Choices></View>'
)
LABELS = (
    '<View><Labels name="ents" toName="text"><Label value="Person" alias="PER"/>'
    '<Label value="Place" alias="LOC"/><Label value="ORG"/></Labels>'
    '<Text name="text" value="$text"/></View>'
)


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def settings() -> HFSettings:
    return HFSettings(max_length=64, window_stride=16, token_budget=512, multilabel_threshold=0.0)


def choices_task(task_id: int, text: str, choice: str) -> dict:
    result = [{"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]
    return {"id": task_id, "data": {"text": text}, "annotations": [{"id": task_id, "result": result}]}


def labels_task(task_id: int, text: str, surface: str, label: str) -> dict:
    start = text.index(surface)
    value = {"start": start, "end": start + len(surface), "text": surface, "labels": [label]}
    result = [{"from_name": "ents", "to_name": "text", "type": "labels", "value": value}]
    return {"id": task_id, "data": {"text": text}, "annotations": [{"id": task_id, "result": result}]}


def test_a_control_names_labels_by_alias_and_knows_their_values() -> None:
    (control,) = find_controls(LabelInterface(CHOICES), "Choices")
    assert control.labels == ("sport", "tech", "food")
    assert [control.label_for(name) for name in ("sport", "Sports news", "Technology", "food")] == [
        "sport",
        "sport",
        "tech",
        "food",
    ]
    assert control.label_for("Food") is None and control.label_for("music") is None


def test_classifier_trains_on_alias_and_value_results_alike(context) -> None:
    model = BertClassifier(project_id="1", label_config=CHOICES, context=context, hf_settings=settings())
    tasks = [
        choices_task(1, "The match ended late.", "sport"),  # what Label Studio writes
        choices_task(2, "A new phone was released.", "Technology"),  # the value: imported, or older
        choices_task(3, "Soup of the day.", "food"),
        choices_task(4, "Unknown topic.", "music"),
    ]
    examples = model.collect_examples(tasks, model.controls()[0])
    assert {example.text: set(example.target) for example in examples} == {
        "The match ended late.": {"sport"},
        "A new phone was released.": {"tech"},
        "Soup of the day.": {"food"},
    }


def test_classifier_predicts_the_alias_also_from_a_head_trained_before_the_alias_existed(context) -> None:
    model = BertClassifier(project_id="1", label_config=CHOICES, context=context, hf_settings=settings())
    # The head's labels are the values: it was trained while the config had no aliases.
    publish_head(model, ["Sports news", "Technology", "food"], winner=1)
    [item] = model.predict([{"id": 1, "data": {"text": "anything"}}]).serialize()
    assert [region["value"]["choices"] for region in item["result"]] == [["tech"]]
    assert LabelInterface(CHOICES).validate_prediction(item, return_errors=True) == []


def test_ner_trains_on_alias_and_value_regions_alike(context) -> None:
    model = HuggingFaceNER(project_id="2", label_config=LABELS, context=context, hf_settings=settings())
    control = model.controls()[0]
    assert model.task.model_labels(control) == bio_labels(["PER", "LOC", "ORG"])
    tasks = [
        labels_task(1, "Anna lives here.", "Anna", "PER"),
        labels_task(2, "Visit Oslo soon.", "Oslo", "Place"),
        labels_task(3, "Ask ACME today.", "ACME", "ORG"),
    ]
    examples = model.collect_examples(tasks, control)
    assert [[span.entity for span in example.target] for example in examples] == [["PER"], ["LOC"], ["ORG"]]


def test_ner_predicts_the_alias_also_from_a_head_trained_before_the_alias_existed(context) -> None:
    model = HuggingFaceNER(project_id="2", label_config=LABELS, context=context, hf_settings=settings())
    head_labels = bio_labels(["Person", "Place", "ORG"])
    publish_head(model, head_labels, winner=head_labels.index("B-Place"))
    [item] = model.predict([{"id": 1, "data": {"text": "Oslo"}}]).serialize()
    assert [region["value"]["labels"] for region in item["result"]] == [["LOC"]]
    assert LabelInterface(LABELS).validate_prediction(item, return_errors=True) == []
