"""Per-region choices (``<Labels>`` + ``<Choices perRegion="true">``): every predicted span carries
its aspect's choice as a second result with the span's ``id``, learned from annotated regions."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from label_studio_sdk.label_interface import LabelInterface

from hf_text.data.controls import find_controls
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from huggingface_ner.attributes.controls import per_region_choices
from huggingface_ner.attributes.layer import RegionChoices
from huggingface_ner.bio import RegionChoice, Span
from huggingface_ner.instant import PropagationLayer
from huggingface_ner.regions import Target, regions_from_spans
from huggingface_ner.task import SpansTask
from tests.support.instant_apps import connected_app

CONFIG = (
    '<View><Text name="text" value="$text"/><Labels name="label" toName="text"><Label value="ASPECT"/>'
    '</Labels><Choices name="sentiment" toName="text" perRegion="true"><Choice value="positive"/>'
    '<Choice value="negative"/></Choices></View>'
)
PROJECT = "7.1700000000"
ANNOTATED = "The pasta was delicious but the service was terribly slow ."
#: (surface, choice) of each annotated aspect.
ASPECTS = [("pasta", "positive"), ("service", "negative")]


def annotation(with_choices: bool) -> list[dict[str, Any]]:
    """The annotation's results: an ``ASPECT`` region per aspect, and its sentiment when asked."""
    results = []
    for index, (surface, choice) in enumerate(ASPECTS):
        start = ANNOTATED.index(surface)
        where = {"start": start, "end": start + len(surface), "text": surface}
        common = {"id": f"r{index}", "to_name": "text"}
        results.append(
            {**common, "from_name": "label", "type": "labels", "value": {**where, "labels": ["ASPECT"]}}
        )
        if with_choices:
            value = {**where, "choices": [choice]}
            results.append({**common, "from_name": "sentiment", "type": "choices", "value": value})
    return results


def webhook(action: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    when = "2026-11-23T08:23:53Z"
    note = {"id": 70, "result": results, "was_cancelled": False, "ground_truth": False,
            "created_at": when, "updated_at": when, "task": 1}  # fmt: skip
    task = {"id": 1, "data": {"text": ANNOTATED}, "annotations": []}
    return {
        "action": action,
        "annotation": note,
        "task": task,
        "project": {"id": 7, "created_at": "2023-11-14T22:13:20Z", "label_config": CONFIG},
    }


def predict(client: Any, text: str) -> dict[str, Any]:
    body = {"tasks": [{"id": 50, "data": {"text": text}}], "project": PROJECT, "label_config": CONFIG}
    [item] = client.post("/predict", json=body).get_json()["results"]
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []
    return item


def paired(item: dict[str, Any]) -> dict[str, str | None]:
    """Each predicted region's text and the choice carried under its ``id`` (``None``: none)."""
    choices = {
        result["id"]: result["value"]["choices"][0]
        for result in item["result"]
        if result["type"] == "choices"
    }
    regions = [result for result in item["result"] if result["type"] == "labels"]
    assert len({region["id"] for region in regions}) == len(regions)
    assert set(choices) <= {region["id"] for region in regions}
    return {region["value"]["text"]: choices.get(region["id"]) for region in regions}


def test_an_annotated_regions_choice_travels_with_its_span_and_its_region_id() -> None:
    task = SpansTask(HFSettings())
    [spec] = find_controls(LabelInterface(CONFIG), "Labels")
    note = {"result": annotation(with_choices=True)}
    spans = task.target_from_results(task.results_of(note, spec), ANNOTATED, spec)
    assert [(ANNOTATED[s.start : s.end], [c.choice for c in s.choices]) for s in spans] == [
        ("pasta", ["positive"]), ("service", ["negative"]),
    ]  # fmt: skip
    span = Span(4, 9, "ASPECT", 0.9, (RegionChoice("sentiment", "positive", 0.8),))
    regions = regions_from_spans(ANNOTATED, [span], Target.of(spec))
    assert [r["type"] for r in regions] == ["labels", "choices"] and regions[0]["id"] == regions[1]["id"]
    item = {"result": regions, "score": 0.9, "model_version": "v"}
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []


def test_per_region_choices_are_learned_at_once_and_never_guessed_before(tmp_path: Path) -> None:
    with connected_app(HuggingFaceNER, tmp_path / "models", PROJECT, CONFIG) as app:
        client, instant = app.client, app.instant
        assert client.get("/metrics").get_json()["projects"][PROJECT].get("ignored_controls") is None

        client.post("/webhook", json=webhook("ANNOTATION_CREATED", annotation(with_choices=False)))
        assert instant.wait(PROJECT, timeout=60)
        # Spans propagate at once, but no annotator chose a sentiment yet: none is guessed.
        assert paired(predict(client, "Their pasta arrived with the service .")) == {
            "pasta": None,
            "service": None,
        }

        client.post("/webhook", json=webhook("ANNOTATION_UPDATED", annotation(with_choices=True)))
        assert instant.wait(PROJECT, timeout=60)
        item = predict(client, "Their pasta arrived with the service .")
        assert paired(item) == {"pasta": "positive", "service": "negative"}


def test_the_fine_tuned_models_spans_carry_the_learned_choices_too() -> None:
    [spec] = find_controls(LabelInterface(CONFIG), "Labels")
    choices_spec = per_region_choices(LabelInterface(CONFIG), spec)
    task = SpansTask(HFSettings())
    note = {"result": annotation(with_choices=True)}
    spans = task.target_from_results(task.results_of(note, spec), ANNOTATED, spec)
    learned = RegionChoices.build([(ANNOTATED, spans)], choices_spec)
    text = "The service was terribly slow again ."
    found = text.index("service")
    model_spans = [Span(found, found + len("service"), "ASPECT", 0.7)]  # what the fine-tuned model tagged
    fine_tuned = SimpleNamespace(load_serving=lambda serving, version: None)
    tagger = SimpleNamespace(predict_spans=lambda loaded, texts, control, head: [(model_spans, [])])
    layer = PropagationLayer(fine_tuned, tagger)  # type: ignore[arg-type]
    serving = SimpleNamespace(head={})
    [(regions, _)] = layer.combined([text], spec, serving, "v1", None, learned)  # type: ignore[arg-type]
    item = {"result": regions, "score": 0.7, "model_version": "v1"}
    assert paired(item) == {"service": "negative"}
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []
