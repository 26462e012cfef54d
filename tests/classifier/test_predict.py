"""BertClassifier.predict on a published head: batching, windows, labels, empty inputs.

The head is the embedded encoder with a seeded random classification layer, published through
the real model store; no training is needed to check how predictions are computed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bert_classifier.model import BertClassifier
from hf_text.runtime.device import choose_device
from hf_text.runtime.inference import softmax, window_logits
from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, LoadedModel, clear_cache, load_for_training
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.settings import HFSettings
from hf_text.text.windows import split_windows
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext

SINGLE = (
    '<View><Text name="text" value="$body"/><Choices name="topic" toName="text">'
    '<Choice value="sport"/><Choice value="tech"/><Choice value="food"/></Choices></View>'
)
MULTIPLE = SINGLE.replace('toName="text">', 'toName="text" choice="multiple">')
HEAD_LABELS = ["sport", "tech", "food"]


def publish_head(
    model: BertClassifier, labels: list[str], multiple: bool, bias: list[float] | None = None
) -> str:
    """Publish the baseline with a seeded random head (optionally biased) as the current version."""
    torch.manual_seed(0)
    config = model.task.head_config(model.controls()[0], labels)
    tokenizer, network = load_for_training(resolve_model_folder(""), SEQUENCE_CLASSIFICATION, **config)
    if bias is not None:
        with torch.no_grad():
            network.classifier.bias.copy_(torch.tensor(bias))
    with model.store.staging() as staging:
        network.save_pretrained(staging / "head-0")
        tokenizer.save_pretrained(staging / "head-0")
        head = {
            "from_name": "topic",
            "to_name": "text",
            "dir": "head-0",
            "labels": labels,
            "multiple": multiple,
            "max_length": 64,
            "window_stride": 16,
        }
        version = model.store.publish(staging, {"task_kind": SEQUENCE_CLASSIFICATION, "heads": [head]})
    model.set_model_version(version)
    return version


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    clear_cache()
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def make(context: BackendContext, config: str = SINGLE, **settings) -> BertClassifier:
    # Random heads score near 1 / labels: every prediction shown (PREDICTION_MIN_SCORE=0), these
    # tests check how predictions are computed.
    base = {"max_length": 64, "window_stride": 16, "token_budget": 256, "prediction_min_score": 0.0}
    hf = HFSettings(**{**base, **settings})
    return BertClassifier(project_id="3", label_config=config, context=context, hf_settings=hf)


def tasks(*texts) -> list[dict]:
    return [{"id": index, "data": {"body": text}} for index, text in enumerate(texts)]


def test_before_the_first_training_without_zero_shot_every_task_gets_an_empty_result(context) -> None:
    response = make(context, zero_shot="off").predict(tasks("a match", "a phone", ""))
    assert response.model_version == "0.0.1"
    assert [item["result"] for item in response.serialize()] == [[], [], []]


def test_one_prediction_per_task_with_empty_results_for_missing_text(context) -> None:
    model = make(context)
    version = publish_head(model, HEAD_LABELS, multiple=False)
    response = model.predict(
        [*tasks("The final was won on penalties.", "", None, "   "), {"id": 9, "data": {}}]
    )
    items = response.serialize()
    assert response.model_version == version and len(items) == 5
    assert all(item["model_version"] == version for item in items)
    [result] = items[0]["result"]
    assert result["from_name"] == "topic" and result["to_name"] == "text" and result["type"] == "choices"
    assert result["value"]["choices"][0] in HEAD_LABELS
    assert 1 / 3 <= result["score"] <= 1 and items[0]["score"] == result["score"]
    assert [item["result"] for item in items[1:]] == [[], [], [], []]


def test_a_text_predicts_the_same_inside_a_batch_as_alone(context) -> None:
    model = make(context)
    publish_head(model, HEAD_LABELS, multiple=False)
    texts = [
        "Short.",
        "A much longer sentence about football, goals and a late winner. " * 3,
        "Chips and gravy.",
        "The new processor doubles battery life in laptops and phones.",
    ]
    # token_budget=256 splits these into several batches of different padded lengths.
    batched = model.predict(tasks(*texts)).serialize()
    for text, in_batch in zip(texts, batched, strict=True):
        alone = model.predict(tasks(text)).serialize()[0]
        assert alone["result"][0]["value"] == in_batch["result"][0]["value"]
        assert alone["score"] == pytest.approx(in_batch["score"], abs=1e-4)


def test_a_long_text_is_classified_over_all_its_windows(context) -> None:
    model = make(context)
    version = publish_head(model, HEAD_LABELS, multiple=False)
    text = "Rain stopped play at the test match. " * 40 + "The chip maker released new silicon. " * 40
    [item] = model.predict(tasks(text)).serialize()
    assert item["result"], "a long text is never an error or an empty result"
    # The score is the token-weighted mean of every window's probabilities.
    folder = model.store.folder(version) / "head-0"
    from hf_text.runtime.loader import load_for_inference

    loaded: LoadedModel = load_for_inference(
        folder, SEQUENCE_CLASSIFICATION, choose_device("cpu"), torch.float32
    )
    windows = split_windows(loaded.tokenizer, [text], 64, 16)
    assert len(windows) > 5
    probabilities = [softmax(logits) for logits in window_logits(loaded, windows, 4096)]
    weights = np.array([window.content_length for window in windows], dtype=float)
    expected = (np.array(probabilities) * weights[:, None]).sum(axis=0) / weights.sum()
    best = int(np.argmax(expected))
    assert item["result"][0]["value"]["choices"] == [HEAD_LABELS[best]]
    assert item["score"] == pytest.approx(expected[best], abs=1e-4)


def test_labels_are_mapped_by_name_and_removed_labels_never_emitted(context) -> None:
    # The head was trained with "tech" first; the config now lacks "tech" and adds "music".
    model = make(context, SINGLE.replace('<Choice value="tech"/>', '<Choice value="music"/>'))
    # Its bias makes "tech" the top output for every text.
    publish_head(model, ["tech", "sport", "food"], multiple=False, bias=[20.0, 0.0, 0.0])
    texts = [f"Sample text number {number} about anything at all." for number in range(6)]
    items = model.predict(tasks(*texts)).serialize()
    assert all(item["result"][0]["value"]["choices"][0] in {"sport", "food"} for item in items)
    # Scores stay the model's probabilities (not renormalised): tiny next to the removed label.
    assert all(item["score"] < 0.01 for item in items)


def test_multi_label_emits_every_label_over_the_threshold(context) -> None:
    everything = make(context, MULTIPLE, multilabel_threshold=1e-6)
    publish_head(everything, HEAD_LABELS, multiple=True)
    [item] = everything.predict(tasks("Anything")).serialize()
    assert item["result"][0]["value"]["choices"] == ["sport", "tech", "food"]  # config order

    nothing = make(context, MULTIPLE, multilabel_threshold=1.0)
    [item] = nothing.predict(tasks("Anything")).serialize()
    assert item["result"] == [] and 0.0 <= item["score"] <= 1.0


def test_a_head_trained_single_label_does_not_answer_a_multiple_choice_config(context) -> None:
    single = make(context)
    version = publish_head(single, HEAD_LABELS, multiple=False)
    assert single.predict(tasks("Anything")).serialize()[0]["result"]  # it answers its own config
    # Every label over this threshold: any head that answered would emit some.
    multiple = make(context, MULTIPLE, multilabel_threshold=1e-6)
    [item] = multiple.predict(tasks("Anything")).serialize()
    assert item["model_version"] == version and item["result"] == []
    # Positive control: the same config, threshold and project answer once a multi-label head serves.
    publish_head(multiple, HEAD_LABELS, multiple=True)
    assert multiple.predict(tasks("Anything")).serialize()[0]["result"]
