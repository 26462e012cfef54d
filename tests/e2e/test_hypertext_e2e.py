"""NER over a ``<HyperText>`` page and a ``<Paragraphs>`` dialogue in a real Label Studio 1.23.2.

CoNLL-2003 sentences (every third after an emoji) are wrapped in simple HTML (``<p>``, ``<b>``, a
``<br>``) or spoken as the turns of a dialogue. Gold regions are written in Label Studio's own form,
built here from the HTML as written (XPaths, UTF-16 offsets in the node, code-point ``globalOffsets``)
or from the turns (indices as strings, UTF-16 offsets in the words). The instant layer learns from
the annotations; every prediction Label Studio stores for the held-out tasks passes its
``validate_prediction``, points at its ``text`` (XPath and node offsets resolved in the parsed page,
and ``globalOffsets``), and the held-out entity F1 is printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html import escape
from typing import Any

import pytest
from label_studio_sdk.label_interface import LabelInterface

from label_studio_ml.studio.hypertext import page_text
from tests.support.backend_server import HUGGINGFACE_NER_DIR
from tests.support.devtools import devtools_page
from tests.support.e2e_steps import NER_TRAINING, connect, js_offset, js_slice, ner_sentences, wait_for_runs
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser, wait_for
from tests.support.ner_conll import LABELS, entity_f1

pytestmark = pytest.mark.e2e

INSTANT = {"INSTANT_VERSION_EVERY": "1", "START_TRAINING_EACH_N_UPDATES": "0"}
LABEL_TAGS = "".join(f'<Label value="{label}"/>' for label in LABELS)
#: Label Studio's "HTML Entity Recognition" template with CoNLL's labels.
HTML_CONFIG = (
    f'<View><HyperTextLabels name="ner" toName="text">{LABEL_TAGS}</HyperTextLabels>'
    '<View style="border: 1px solid #CCC; border-radius: 10px; padding: 5px">'
    '<HyperText name="text" value="$text"/></View></View>'
)
DIALOGUE_CONFIG = (
    f'<View><ParagraphLabels name="entity_slot" toName="dialogue">{LABEL_TAGS}</ParagraphLabels>'
    '<Paragraphs name="dialogue" value="$dialogue" layout="dialogue"/></View>'
)
Spans = list[tuple[int, int, str]]


def html_paragraph(text: str, spans: Spans, paragraph: int, base: int) -> tuple[str, list[dict[str, Any]]]:
    """``text`` as the page's ``paragraph``-th ``<p>``, every other entity in ``<b>`` and the last space
    a ``<br>`` (one counted character either way: ``base`` plus a code-point position of ``text`` is
    its global offset), and its gold regions as Label Studio writes them."""
    bold = [span for index, span in enumerate(spans) if index % 2 == 0]
    br = text.rfind(" ")
    if any(s <= br < e for s, e, _ in spans):
        br = -1
    nodes, html, position, counters = [], ["<p>"], 0, {"text()": 0, "b": 0, "br": 0}

    def plain(upto: int) -> None:
        nonlocal position
        if br >= position and br < upto:
            plain(br)
            counters["br"] += 1
            html.append("<br>")
            position = br + 1
        if upto > position:
            counters["text()"] += 1
            nodes.append((f"/p[{paragraph}]/text()[{counters['text()']}]", position, text[position:upto]))
            html.append(escape(text[position:upto], quote=False))
            position = upto

    for s, e, _ in bold:
        plain(s)
        counters["b"] += 1
        nodes.append((f"/p[{paragraph}]/b[{counters['b']}]/text()[1]", s, text[s:e]))
        html.append(f"<b>{escape(text[s:e], quote=False)}</b>")
        position = e
    plain(len(text))
    html.append("</p>")
    regions = []
    for s, e, label in spans:
        path, start, node = next(node for node in nodes if node[1] <= s and e <= node[1] + len(node[2]))
        value = {"start": path, "end": path, "startOffset": js_offset(node, s - start),
                 "endOffset": js_offset(node, e - start),
                 "globalOffsets": {"start": base + s, "end": base + e},
                 "text": text[s:e], "hypertextlabels": [label]}  # fmt: skip
        regions.append({"from_name": "ner", "to_name": "text", "type": "hypertextlabels", "value": value})
    return "".join(html), regions


def html_task(
    sentences: list[tuple[str, Spans]],
) -> tuple[str, list[dict[str, Any]], set[tuple[int, int, str]]]:
    """The sentences as the ``<p>`` paragraphs of one page: its HTML, gold regions and gold entities
    (global offsets; no character separates two paragraphs there, the model reads a line break)."""
    html, regions, gold, base = [], [], set(), 0
    for paragraph, (text, spans) in enumerate(sentences, start=1):
        fragment, found = html_paragraph(text, spans, paragraph, base)
        html.append(fragment)
        regions += found
        gold |= {(base + s, base + e, label) for s, e, label in spans}
        base += len(text)
    return "".join(html), regions, gold


def dialogue_task(turns: list[tuple[str, Spans]]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The sentences as a dialogue's turns, and their gold regions as Label Studio writes them."""
    speakers = ("Reporter", "Editor")
    dialogue = [{"author": speakers[i % 2], "text": text} for i, (text, _) in enumerate(turns)]
    regions = []
    for index, (text, spans) in enumerate(turns):
        for s, e, label in spans:
            value = {"start": str(index), "end": str(index), "startOffset": js_offset(text, s),
                     "endOffset": js_offset(text, e), "text": text[s:e],
                     "paragraphlabels": [label]}  # fmt: skip
            regions.append({"from_name": "entity_slot", "to_name": "dialogue", "type": "paragraphlabels",
                            "value": value})  # fmt: skip
    return dialogue, regions


def held_out_predictions(
    ls_user: LabelStudioUser, project: int, tasks: list[int]
) -> dict[int, dict[str, Any]]:
    """Each held-out task's one prediction of the newest instant version (one per task and version)."""

    def instant_predictions() -> dict[int, dict[str, Any]] | None:
        ls_user.retrieve_predictions(project, tasks)
        stored = {task: ls_user.predictions(task) for task in tasks}
        newest = {task: (found or [None])[-1] for task, found in stored.items()}
        if not all(p and str(p["model_version"]).startswith("instant-v") for p in newest.values()):
            return None
        for task, found in stored.items():
            same = [p for p in found if p["model_version"] == newest[task]["model_version"]]
            assert len(same) == 1, (task, found)  # exactly one prediction per task and version
        return newest

    return wait_for(instant_predictions, 90, "instant-layer predictions of every held-out task")


@dataclass
class Ran:
    """A project's held-out tasks and their predictions, from each layer (task order)."""

    project: int
    held: list[int]
    layers: list[tuple[str, list[dict[str, Any]]]]


def run_project(
    ls_user: LabelStudioUser,
    start_backend: Any,
    config: str,
    tasks: list[tuple[dict[str, Any], Any]],
    labeled: int,
) -> Ran:
    """Create the project, annotate the first ``labeled`` tasks; the others' predictions from the
    instant layer, then after "Start training", each validated."""
    backend = start_backend(HUGGINGFACE_NER_DIR, env={**INSTANT, **NER_TRAINING}, workers=1)
    project = ls_user.create_project("e2e ner objects", config)
    ids = ls_user.import_tasks(project, [{"data": data} for data, _ in tasks])
    ml_id = connect(ls_user, project, backend)
    for task, (_, regions) in zip(ids[:labeled], tasks[:labeled], strict=True):
        ls_user.annotate(task, regions)
    held = ids[labeled:]
    instant = held_out_predictions(ls_user, project, held)
    ls_user.train(ml_id)
    run = wait_for_runs(backend, project, 1)
    assert run["training"]["failures"] == 0, run
    ls_user.delete_predictions(project, held)
    ls_user.retrieve_predictions(project, held)
    tuned = {}
    for task in held:
        (tuned[task],) = ls_user.predictions(task)  # exactly one prediction per task
    interface = LabelInterface(config)
    for prediction in [*instant.values(), *tuned.values()]:
        item = {key: prediction[key] for key in ("result", "score", "model_version")}
        assert interface.validate_prediction(item, return_errors=True) == [], prediction
    layers = [("instant", [instant[task] for task in held]), ("fine-tuned", [tuned[task] for task in held])]
    return Ran(project, held, layers)


def page_entities(html: str, prediction: dict[str, Any]) -> set[tuple[int, int, str]]:
    """The predicted entities (global offsets), each region checked to point at its ``text``."""
    page = page_text(html)
    paths = {node.path: node.text for node in page.nodes}
    found = set()
    for region in prediction["result"]:
        value = region["value"]
        assert region["type"] == "hypertextlabels" and value["start"] == value["end"], region
        node = paths[value["start"]]  # the XPath resolved in the parsed page
        assert js_slice(node, value["startOffset"], value["endOffset"]) == value["text"], region
        offsets = value["globalOffsets"]
        assert page.counted[offsets["start"] : offsets["end"]] == value["text"], region
        found.add((offsets["start"], offsets["end"], value["hypertextlabels"][0]))
    return found


def dialogue_entities(turns: list[tuple[str, Spans]], prediction: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The predicted entities (turn, code points in its words), each checked to point at its ``text``."""
    found = set()
    for region in prediction["result"]:
        value = region["value"]
        assert region["type"] == "paragraphlabels" and value["start"] == value["end"], region
        assert isinstance(value["start"], str), region  # as the editor writes it
        words = turns[int(value["start"])][0]
        assert js_slice(words, value["startOffset"], value["endOffset"]) == value["text"], region
        start = len(js_slice(words, 0, value["startOffset"]))
        found.add((int(value["start"]), start, start + len(value["text"]), value["paragraphlabels"][0]))
    return found


def test_hypertext_regions_learned_from_annotations_point_at_their_text(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser, start_backend: Any
) -> None:
    sentences = ner_sentences(80)
    pages = [html_task(sentences[i : i + 2]) for i in range(0, len(sentences) - 1, 2)]
    labeled = 18
    gold = [entities for _, _, entities in pages[labeled:]]
    tasks = [({"text": html}, regions) for html, regions, _ in pages]
    ran = run_project(ls_user, start_backend, HTML_CONFIG, tasks, labeled)
    for layer, predictions in ran.layers:
        predicted = [
            page_entities(html, p) for (html, *_), p in zip(pages[labeled:], predictions, strict=True)
        ]
        f1 = entity_f1(gold, predicted)
        print(f"\nhypertext, {layer}: held-out entity F1 {f1:.2f}, {sum(map(len, predicted))} regions")
    assert f1 >= 0.3, (f1, predicted)  # the fine-tuned model's; chance is near 0
    task, prediction = next((t, p) for t, p in zip(ran.held, predictions, strict=True) if p["result"])
    shown = editor_highlights(label_studio, ran.project, task)
    assert sorted(shown) == sorted(region["value"]["text"] for region in prediction["result"]), shown


#: The texts Label Studio's editor highlights in the ``<HyperText>`` frame (its region spans).
HIGHLIGHTS = """(() => {
  for (const frame of document.querySelectorAll("iframe")) {
    const found = frame.contentDocument && frame.contentDocument.querySelectorAll("span.htx-highlight");
    const spans = found ? [...found] : [];
    if (spans.length) return spans.map((span) => span.textContent);
  }
  return null;
})()"""


def editor_highlights(label_studio: LabelStudioServer, project: int, task: int) -> list[str]:
    """Open the task in Label Studio's editor (headless Chromium, logged in), wait for its predicted
    regions to be drawn, keep a screenshot; the highlighted texts."""
    cookies = label_studio._web_session().cookies.get_dict()
    with devtools_page(cookies, label_studio.url) as page:
        page.call("Page.navigate", url=f"{label_studio.url}/projects/{project}/data?task={task}")
        shown = page.wait_for(HIGHLIGHTS, 120, "predicted regions drawn in the editor")
        time.sleep(1)  # the side panel's region list settles
        page.screenshot("hypertext-prediction-in-editor.png")
    return shown


def test_paragraph_labels_learned_from_annotations_are_utterance_regions(
    ls_user: LabelStudioUser, start_backend: Any
) -> None:
    sentences = ner_sentences(80)
    dialogues = [sentences[i : i + 2] for i in range(0, len(sentences) - 1, 2)]
    tasks = [({"dialogue": turns}, regions) for turns, regions in (dialogue_task(d) for d in dialogues)]
    labeled = 18
    gold = [{(turn, s, e, label) for turn, (_, spans) in enumerate(d) for s, e, label in spans}
            for d in dialogues[labeled:]]  # fmt: skip
    for layer, predictions in run_project(ls_user, start_backend, DIALOGUE_CONFIG, tasks, labeled).layers:
        predicted = [dialogue_entities(d, p) for d, p in zip(dialogues[labeled:], predictions, strict=True)]
        f1 = entity_f1(gold, predicted)
        print(f"\nparagraphs, {layer}: held-out entity F1 {f1:.2f}, {sum(map(len, predicted))} regions")
    assert f1 >= 0.3, (f1, predicted)  # the fine-tuned model's; chance is near 0
