"""``maxUsages`` on ``<Label>`` (or ``<Labels>``): a prediction never uses a label more often than
Label Studio lets an annotator; the best-scoring regions stay."""

from __future__ import annotations

from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from hf_text.data.controls import find_controls
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from huggingface_ner.bio import Span
from huggingface_ner.labels import bio_labels
from huggingface_ner.regions import Target, within_max_usages
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support.published_heads import publish_head

CONFIG = (
    '<View><Text name="text" value="$text"/><Labels name="ents" toName="text">'
    '<Label value="PER" maxUsages="1"/><Label value="ORG"/></Labels></View>'
)
WHOLE_CONTROL = (
    '<View><Text name="text" value="$text"/><Labels name="ents" toName="text" maxUsages="2">'
    '<Label value="PER"/><Label value="ORG" maxUsages="1"/><Label value="LOC" maxUsages="x"/></Labels></View>'
)


def target(config: str) -> Target:
    (control,) = find_controls(LabelInterface(config), "Labels")
    return Target.of(control)


def test_limits_come_from_the_label_or_else_from_its_labels_tag() -> None:
    assert target(CONFIG).max_usages == {"PER": 1}
    assert target(WHOLE_CONTROL).max_usages == {"PER": 2, "ORG": 1, "LOC": 2}  # "x" is no limit


def test_the_best_scoring_spans_of_a_limited_label_stay_in_text_order() -> None:
    spans = [Span(0, 1, "PER", 0.5), Span(2, 3, "ORG", 0.1), Span(4, 5, "PER", 0.9), Span(6, 7, "PER", 0.7)]
    kept = within_max_usages(spans, {"PER": 2})
    assert kept == [Span(2, 3, "ORG", 0.1), Span(4, 5, "PER", 0.9), Span(6, 7, "PER", 0.7)]
    assert within_max_usages(spans, {}) == spans


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def test_ner_predicts_a_max_usages_1_label_once(context) -> None:
    settings = HFSettings(max_length=64, window_stride=16, token_budget=512)
    model = HuggingFaceNER(project_id="1", label_config=CONFIG, context=context, hf_settings=settings)
    head_labels = bio_labels(["PER", "ORG"])
    publish_head(model, head_labels, winner=head_labels.index("B-PER"))  # every word a person
    [item] = model.predict([{"id": 1, "data": {"text": "Anna met Bob and Carl."}}]).serialize()
    assert [region["value"]["labels"] for region in item["result"]] == [["PER"]]
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []
