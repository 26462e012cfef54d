"""``<HyperTextLabels>``/``<Labels>`` over ``<HyperText>``: a page's text as Label Studio 1.23.2's editor
counts it, regions in its form (XPaths of text nodes, UTF-16 offsets in them, ``globalOffsets``),
learned from annotations at once and predicted for other pages."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from label_studio_sdk.label_interface import LabelInterface

from bert_classifier.model import BertClassifier
from hf_text.data.controls import find_controls, require_controls
from hf_text.data.task_text import read_text
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from huggingface_ner.bio import Span
from huggingface_ner.regions import Target, regions_from_spans
from huggingface_ner.task import SpansTask
from label_studio_ml.studio.hypertext import page_text
from tests.support.instant_apps import connected_app
from tests.support.webhooks import annotation_created

#: The "HTML Entity Recognition" template of Label Studio 1.23.2, and its example task and annotation.
CONFIG = (
    '<View><HyperTextLabels name="ner" toName="text"><Label value="Title" background="green"/>'
    '<Label value="Author" background="blue"/><Label value="Body" background="yellow"/></HyperTextLabels>'
    '<View style="border: 1px solid #CCC;"><HyperText name="text" value="$text"/></View></View>'
)
TEMPLATE_PAGE = (
    "<p><b>Preannotated data for templates</b></p> #1342\n Draft\n"
    "<table><tr><td>niklub</td><td>28.09.2020</td></tr></table>\n+177 -22\n Conversation 0\n"
    " Commits 2\n Checks 2\n Files changed 9\nConversation\ncommented 35 minutes ago\n"
    "No description provided."
)
TEMPLATE_REGIONS = [
    ("/p[1]/b[1]/text()[1]", 0, 31, "Preannotated data for templates", "Title"),
    ("/table[1]/tbody[1]/tr[1]/td[1]/text()[1]", 0, 6, "niklub", "Author"),
    ("/text()[2]", 102, 126, "No description provided.", "Body"),
]
NER_CONFIG = (
    '<View><HyperText name="page" value="$html"/><Labels name="label" toName="page">'
    '<Label value="PER"/><Label value="ORG"/></Labels></View>'
)
PROJECT = "9.1700000000"
PAGE = "<p>🙂 <b>Angela Merkel</b> met <i>Siemens</i> staff.<br>Then <b>Angela Merkel</b> left.</p>"


def spec(config: str, tag: str = "HyperTextLabels") -> Any:
    [control] = find_controls(LabelInterface(config), tag, ("HyperText",))
    return control


def page_of(html: str) -> str:
    return read_text(SimpleNamespace(resolve_text=lambda value, value_type=None: value), html, spec(CONFIG))


def test_the_templates_annotation_is_read_at_its_xpaths_and_written_back_the_same() -> None:
    text = page_of(TEMPLATE_PAGE)
    control = spec(CONFIG)
    results = [
        {"id": f"r{n}", "from_name": "ner", "to_name": "text", "type": "hypertextlabels",
         "value": {"start": path, "end": path, "startOffset": a, "endOffset": b, "text": t,
                   "htmllabels": [label]}}
        for n, (path, a, b, t, label) in enumerate(TEMPLATE_REGIONS)
    ]  # fmt: skip
    spans = SpansTask(HFSettings()).target_from_results(results, text, control)
    assert [(text[s.start : s.end], s.entity) for s in spans] == [
        (t, label) for *_, t, label in TEMPLATE_REGIONS
    ]
    regions = regions_from_spans(text, spans, Target.of(control))
    assert [(r["type"], r["value"]["start"], r["value"]["startOffset"], r["value"]["endOffset"],
             r["value"]["text"], r["value"]["hypertextlabels"]) for r in regions] == [
        ("hypertextlabels", path, a, b, t, [label]) for path, a, b, t, label in TEMPLATE_REGIONS
    ]  # fmt: skip
    item = {"result": regions, "score": 0.5, "model_version": "v"}
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == []


def test_global_offsets_count_code_points_and_a_br_as_one_while_node_offsets_count_utf16() -> None:
    page = page_text("<p>😀 <b>Merkel</b><br><script>var x = 1;</script>Bonn<!-- c --></p><p>Paris</p>")
    assert page.counted == "😀 Merkel\nBonnParis"  # the script goes, the comment is no node
    assert page.text == "😀 Merkel\nBonn\nParis"  # a break where two blocks would glue words
    start = page.text.index("Paris")
    region = page.region(start, start + 5)
    assert region == {"start": "/p[2]/text()[1]", "startOffset": 0, "end": "/p[2]/text()[1]", "endOffset": 5,
                      "globalOffsets": {"start": 13, "end": 18}, "text": "Paris"}  # fmt: skip
    emoji = page.region(0, 1)
    assert (emoji["startOffset"], emoji["endOffset"], emoji["globalOffsets"]) == (
        0,
        2,
        {"start": 0, "end": 1},
    )
    assert page.region(page.text.index("Bonn"), start + 5)["start"] == "/p[1]/text()[2]"  # after the <br>
    without_global = {key: value for key, value in region.items() if key != "globalOffsets"}
    assert page.span(region) == page.span(without_global) == (start, start + 5)


def test_labels_over_hypertext_and_choices_over_hypertext_are_served() -> None:
    control = spec(NER_CONFIG, "Labels")
    regions = regions_from_spans(page_of(PAGE), [Span(2, 15, "PER", 0.9)], Target.of(control))
    assert [(r["type"], r["value"]["text"], r["value"]["labels"]) for r in regions] == [
        ("labels", "Angela Merkel", ["PER"])
    ]
    item = {"result": regions, "score": 0.9, "model_version": "v"}
    assert LabelInterface(NER_CONFIG).validate_prediction(item, return_errors=True) == []
    choices = (
        '<View><HyperText name="page" value="$html"/><Choices name="c" toName="page"><Choice value="a"/>'
        "</Choices></View>"
    )
    [served] = require_controls(LabelInterface(choices), BertClassifier.CONTROL_TAG, "BertClassifier",
                                BertClassifier.OBJECT_TAGS)  # fmt: skip
    assert read_text(SimpleNamespace(resolve_text=lambda v, t=None: v), PAGE, served).startswith("🙂 Angela")


def test_a_page_cut_at_max_text_chars_keeps_its_layout_for_the_regions_inside_the_cut() -> None:
    text = page_of(PAGE)
    cut = text[: text.index("met")]  # how ``MAX_TEXT_CHARS`` cuts a text
    inside, outside = Span(2, 15, "PER"), Span(cut.index("Angela"), len(cut) + 3, "PER")
    regions = regions_from_spans(cut, [inside, outside], Target.of(spec(NER_CONFIG, "Labels")))
    assert [r["value"]["start"] for r in regions] == ["/p[1]/b[1]/text()[1]"]


def annotated_page() -> tuple[str, list[dict[str, Any]]]:
    html = "<p><b>Angela Merkel</b> visited <b>Siemens</b> in Munich.</p>"
    page = page_text(html)
    results = []
    for index, (surface, label) in enumerate([("Angela Merkel", "PER"), ("Siemens", "ORG")]):
        start = page.text.index(surface)
        value = {**page.region(start, start + len(surface)), "labels": [label]}
        results.append(
            {"id": f"r{index}", "from_name": "label", "to_name": "page", "type": "labels", "value": value}
        )
    return html, results


def test_annotated_entities_propagate_at_once_to_other_pages_at_their_xpaths(tmp_path: Path) -> None:
    with connected_app(HuggingFaceNER, tmp_path / "models", PROJECT, NER_CONFIG) as app:
        html, results = annotated_page()
        app.learn(annotation_created(1, {"html": html}, results, NER_CONFIG), project_id=9)
        [item] = app.predict([{"id": 50, "data": {"html": PAGE}}])
    assert LabelInterface(NER_CONFIG).validate_prediction(item, return_errors=True) == []
    page = page_text(PAGE)
    keys = ("start", "startOffset", "endOffset", "text")
    found = sorted((*(r["value"][key] for key in keys), r["value"]["labels"][0]) for r in item["result"])
    assert found == [
        ("/p[1]/b[1]/text()[1]", 0, 13, "Angela Merkel", "PER"),
        ("/p[1]/b[2]/text()[1]", 0, 13, "Angela Merkel", "PER"),
        ("/p[1]/i[1]/text()[1]", 0, 7, "Siemens", "ORG"),
    ]
    for region in item["result"]:
        offsets = region["value"]["globalOffsets"]
        assert page.counted[offsets["start"] : offsets["end"]] == region["value"]["text"]
