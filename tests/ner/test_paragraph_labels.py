"""``<ParagraphLabels>`` over a ``<Paragraphs>`` dialogue: read as lines "speaker: words", regions in Label
Studio 1.23.2's form (turn indices as strings, UTF-16 offsets in the turn's words), learned at once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from label_studio_sdk.label_interface import LabelInterface

from hf_text.data.controls import find_controls
from hf_text.data.task_text import read_text
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from huggingface_ner.bio import Span
from huggingface_ner.regions import Target, regions_from_spans
from huggingface_ner.task import SpansTask
from tests.support.instant_apps import connected_app
from tests.support.webhooks import annotation_created

#: The "Intent Classification and Slot Filling" template's tags (its whole-dialogue ``<Choices>`` too).
CONFIG = (
    '<View><ParagraphLabels name="entity_slot" toName="dialogue"><Label value="Person"/>'
    '<Label value="Organization"/><Label value="Location"/></ParagraphLabels>'
    '<Paragraphs name="dialogue" value="$dialogue" layout="dialogue"/>'
    '<Choices name="intent" toName="dialogue" choice="single"><Choice value="Greeting"/></Choices></View>'
)
PROJECT = "11.1700000000"
TURNS = [
    {"author": "Paris", "text": "Hello, I work at Siemens 🙂 in Munich."},
    {"author": "Bot", "text": "Say hi to Paris from Siemens."},
]


def spec() -> Any:
    [control] = find_controls(LabelInterface(CONFIG), "ParagraphLabels", ("Paragraphs",))
    return control


def dialogue_text() -> str:
    return read_text(SimpleNamespace(resolve_text=lambda value, value_type=None: value), TURNS, spec())


def region(turn: int, words: str, label: str, index: int = 0) -> dict[str, Any]:
    start = TURNS[turn]["text"].index(words)
    value = {"start": str(turn), "end": str(turn), "startOffset": start, "endOffset": start + len(words),
             "text": words, "paragraphlabels": [label]}  # fmt: skip
    return {"id": f"p{index}", "from_name": "entity_slot", "to_name": "dialogue", "type": "paragraphlabels",
            "value": value}  # fmt: skip


def test_spans_become_regions_in_a_turns_words_and_never_in_a_speaker_or_across_turns() -> None:
    text = dialogue_text()
    assert text.splitlines()[0] == "Paris: Hello, I work at Siemens 🙂 in Munich."
    munich, siemens = text.index("Munich"), text.rindex("Siemens")
    spans = [Span(0, 5, "Location"), Span(munich, munich + 6, "Location"),
             Span(siemens, siemens + 7, "Organization"), Span(munich, siemens + 7, "Location")]  # fmt: skip
    regions = regions_from_spans(text, spans, Target.of(spec()))
    keys = ("start", "end", "startOffset", "endOffset", "text", "paragraphlabels")
    assert [(r["type"], *(r["value"][key] for key in keys)) for r in regions] == [
        ("paragraphlabels", "0", "0", 31, 37, "Munich", ["Location"]),  # after the emoji: UTF-16 units
        ("paragraphlabels", "1", "1", 21, 28, "Siemens", ["Organization"]),
    ]  # fmt: skip
    item = {"result": regions, "score": 0.5, "model_version": "v"}
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []


def test_an_annotated_region_is_read_back_as_its_span_of_the_dialogue_text() -> None:
    text = dialogue_text()
    results = [region(0, "Munich", "Location"), region(1, "Paris", "Location", 1)]
    results[0]["value"].update(startOffset=31, endOffset=37)  # the editor's UTF-16 offsets after 🙂
    spans = SpansTask(HFSettings()).target_from_results(results, text, spec())
    assert [(text[s.start : s.end], s.entity) for s in spans] == [
        ("Munich", "Location"),
        ("Paris", "Location"),
    ]


def test_annotated_entities_propagate_at_once_into_other_dialogues(tmp_path: Path) -> None:
    other = [{"author": "Siemens", "text": "We are Siemens."}, {"author": "Ana", "text": "Siemens, hi."}]
    with connected_app(HuggingFaceNER, tmp_path / "models", PROJECT, CONFIG) as app:
        results = [region(1, "Siemens", "Organization")]
        app.learn(annotation_created(1, {"dialogue": TURNS}, results, CONFIG), project_id=11)
        [item] = app.predict([{"id": 50, "data": {"dialogue": other}}])
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []
    found = [(r["value"]["start"], r["value"]["startOffset"], r["value"]["endOffset"], r["value"]["text"])
             for r in item["result"]]  # fmt: skip
    assert sorted(found) == [("0", 7, 14, "Siemens"), ("1", 0, 7, "Siemens")]  # not the speaker "Siemens"
