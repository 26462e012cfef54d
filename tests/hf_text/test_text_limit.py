"""``MAX_TEXT_CHARS``: a huge text is read only up to the limit, in prediction and training.

One 1 MB text took 114 s to ``/predict`` and a 20 MB one never answered. Here a one-task
``/predict`` (through ``create_app``) of a text several times the limit answers; a spy on the
tokenizer's windows shows the model saw at most the limit, NER regions all lie inside it with
exact UTF-16 offsets, and ``/metrics`` counts the cut text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from bert_classifier.model import BertClassifier
from hf_text.runtime.loader import (
    SEQUENCE_CLASSIFICATION,
    TOKEN_CLASSIFICATION,
    clear_cache,
    load_for_training,
)
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.settings import MIN_TEXT_CHARS, HFSettings
from hf_text.text import windows
from hf_text.text.text_limit import cut_text
from huggingface_ner import HuggingFaceNER
from huggingface_ner.labels import bio_labels
from huggingface_ner.offsets import utf16_length
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import ConfigurationError
from tests.conftest import load_fixture, wait_healthy

LIMIT = MIN_TEXT_CHARS
CLASSIFIER = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text">'
    '<Choice value="sport"/><Choice value="tech"/></Choices></View>'
)
NER = load_fixture("ner_setup.json")["schema"]  # PER, ORG, LOC, MISC over $text
#: Astral characters before the limit: UTF-16 offsets differ from code points there.
LONG_TEXT = " ".join(f"😀 Paris{index} Berlin" for index in range(1000))  # ~18,000 characters
HFTextModelLike = BertClassifier | HuggingFaceNER


def publish(model: HFTextModelLike, kind: str, labels: list[str], favourite: int | None = None) -> None:
    """Publish the embedded encoder with a seeded random head (``favourite`` output made certain)."""
    torch.manual_seed(0)
    control = model.controls()[0]
    tokenizer, network = load_for_training(
        resolve_model_folder(""), kind, **model.task.head_config(control, labels)
    )
    if favourite is not None:
        with torch.no_grad():
            network.classifier.bias[favourite] = 20.0
    head = {"from_name": control.from_name, "to_name": "text", "dir": "head-0", "labels": labels}
    with model.store.staging() as staging:
        network.save_pretrained(staging / "head-0")
        tokenizer.save_pretrained(staging / "head-0")
        meta_head = {**head, "multiple": False, "max_length": 64, "window_stride": 16}
        version = model.store.publish(staging, {"task_kind": kind, "heads": [meta_head]})
    model.set_model_version(version)


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """``(characters, content tokens)`` of every text the tokenizer cut into windows."""
    calls: list[tuple[int, int]] = []
    original = windows.cut_windows

    def spy(tokenizer: Any, texts: Any, max_length: int, stride: int) -> list[windows.Window]:
        cut = original(tokenizer, texts, max_length, stride)
        for index, text in enumerate(texts):
            tokens = sum(w.content_length for w in cut if w.text_index == index)
            calls.append((len(text), tokens))
        return cut

    monkeypatch.setattr(windows, "cut_windows", spy)
    return calls


def app_with(model_class: type[HFTextModelLike], config: str, kind: str, labels: list[str], **head: Any):
    """A Flask test client of ``model_class`` whose project 3 serves a published random head."""
    clear_cache()
    context = BackendContext.from_settings(Settings(model_dir=Path(head.pop("root")) / "models"))
    publish(model_class(project_id="3", label_config=config, context=context), kind, labels, **head)
    client = create_app(model_class, context=context).test_client()
    wait_healthy(client, timeout=120)
    return client


def predict(client: Any, config: str, text: str) -> dict[str, Any]:
    body = {"tasks": [{"id": 9, "data": {"text": text}}], "project": "3", "label_config": config}
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [item] = response.get_json()["results"]
    return item


def texts_cut(client: Any) -> dict[str, Any]:
    return client.get("/metrics").get_json()["projects"]["3"]["texts_cut"]


def test_a_classifier_predicts_a_huge_text_from_its_first_max_text_chars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seen: list[tuple[int, int]]
) -> None:
    monkeypatch.setenv("MAX_TEXT_CHARS", str(LIMIT))
    client = app_with(BertClassifier, CLASSIFIER, SEQUENCE_CLASSIFICATION, ["sport", "tech"], root=tmp_path)
    seen.clear()
    item = predict(client, CLASSIFIER, LONG_TEXT * 5)  # ~90,000 characters
    assert item["result"] and item["result"][0]["value"]["choices"][0] in {"sport", "tech"}
    assert seen and all(chars <= LIMIT for chars, _ in seen)
    assert sum(tokens for _, tokens in seen) <= LIMIT  # a token holds at least one character
    predict(client, CLASSIFIER, LONG_TEXT * 5)  # the same task again: counted once
    assert texts_cut(client) == {
        "max_text_chars": LIMIT,
        "texts": 1,
        "longest_chars": len(LONG_TEXT * 5),
        "last_task": 9,
    }


def test_ner_predicts_regions_only_inside_the_limit_with_exact_utf16_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seen: list[tuple[int, int]]
) -> None:
    monkeypatch.setenv("MAX_TEXT_CHARS", str(LIMIT))
    labels = bio_labels(["PER", "ORG", "LOC", "MISC"])
    client = app_with(
        HuggingFaceNER, NER, TOKEN_CLASSIFICATION, labels, root=tmp_path, favourite=labels.index("B-LOC")
    )
    seen.clear()
    item = predict(client, NER, LONG_TEXT)
    assert all(chars <= LIMIT for chars, _ in seen) and sum(tokens for _, tokens in seen) <= LIMIT
    units = LONG_TEXT.encode("utf-16-le")
    regions = item["result"]
    assert regions, "every word is a LOC for this head"
    for region in regions:
        start, end = region["value"]["start"], region["value"]["end"]
        assert end <= utf16_length(LONG_TEXT[:LIMIT])
        assert units[2 * start : 2 * end].decode("utf-16-le") == region["value"]["text"]
    # The windows cover the whole prefix, not only its first window.
    assert max(region["value"]["end"] for region in regions) > 0.9 * utf16_length(LONG_TEXT[:LIMIT])
    assert texts_cut(client)["texts"] == 1


def test_training_reads_texts_up_to_the_limit_and_drops_regions_past_it(make_context) -> None:
    model = HuggingFaceNER(
        project_id="5", label_config=NER, context=make_context(), hf_settings=HFSettings(max_text_chars=LIMIT)
    )
    text = "Paris " + "x" * 3000 + " Berlin"

    def region(start: int, end: int) -> dict[str, Any]:
        value = {"start": start, "end": end, "labels": ["LOC"]}
        return {"from_name": "label", "to_name": "text", "type": "labels", "value": value}

    straddling = region(LIMIT - 2, LIMIT + 3)
    annotation = {"id": 1, "result": [region(0, 5), straddling, region(len(text) - 6, len(text))]}
    task = {"id": 4, "data": {"text": text}, "annotations": [annotation]}
    [example] = model.collect_examples([task], model.controls()[0])
    assert example.text == text[:LIMIT]
    assert [(span.start, span.end, span.entity) for span in example.target] == [(0, 5, "LOC")]


def test_cut_text_keeps_a_prefix_of_code_points() -> None:
    assert cut_text("😀abc", 2) == "😀a"
    assert cut_text("short", 10) == "short"


def test_max_text_chars_is_read_and_validated() -> None:
    assert HFSettings.from_env({}).max_text_chars == 100_000
    assert HFSettings.from_env({"MAX_TEXT_CHARS": "5000"}).max_text_chars == 5000
    for bad in ("999", "lots", "-1"):
        with pytest.raises(ConfigurationError, match="MAX_TEXT_CHARS"):
            HFSettings.from_env({"MAX_TEXT_CHARS": bad})
