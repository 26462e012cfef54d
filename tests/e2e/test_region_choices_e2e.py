"""NER ``<Labels>`` with ``<Choices perRegion="true">`` in a real Label Studio 1.23.2.

Every CoNLL-2003 entity is marked ``ENTITY`` and given its type (PER, ORG, LOC, MISC) as the region's
choice. Twenty sentences annotated through Label Studio's API teach NER's instant layer; in held-out
sentences that mention entities seen before, the stored predictions carry each region's choice as a
second result under the region's ``id``, Label Studio accepted them (``PREDICTION_VALIDATION_FLAG``
is on for the test server) and the SDK's ``validate_prediction`` does too, and the choice is the
entity's true type more often than the most frequent type would be.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from label_studio_sdk.label_interface import LabelInterface

from tests.support.backend_server import HUGGINGFACE_NER_DIR, StartBackend
from tests.support.e2e_steps import connect, js_offset
from tests.support.ls_user import LabelStudioUser, wait_for
from tests.support.ner_conll import LABELS, conll_dir, read_conll, sentence_spans

pytestmark = pytest.mark.e2e

CONFIG = (
    '<View><Text name="text" value="$text"/><Labels name="label" toName="text"><Label value="ENTITY"/>'
    '</Labels><Choices name="kind" toName="text" perRegion="true">'
    + "".join(f'<Choice value="{label}"/>' for label in LABELS)
    + "</Choices></View>"
)
ENV = {"INSTANT_VERSION_EVERY": "1", "START_TRAINING_EACH_N_UPDATES": "0"}
Sentence = tuple[str, list[tuple[int, int, str]]]


def sentences(annotated: int, held_out: int) -> tuple[list[Sentence], list[Sentence]]:
    """The first ``annotated`` short CoNLL sentences with entities, and the next ``held_out`` ones
    that mention an entity the annotated ones mark (the instant layer proposes what it saw)."""
    first: list[Sentence] = []
    later: list[Sentence] = []
    for sentence in read_conll(conll_dir() / "train.txt"):
        text, spans = sentence_spans(sentence)
        if not spans or len(text) > 160:
            continue
        if len(first) < annotated:
            first.append((text, spans))
            continue
        seen = {t[s:e] for t, found in first for s, e, _ in found}
        if any(text[s:e] in seen for s, e, _ in spans) and (text, spans) not in later:
            later.append((text, spans))
        if len(later) == held_out:
            break
    return first, later


def regions(text: str, spans: list[tuple[int, int, str]]) -> list[dict[str, Any]]:
    """Each entity as an ``ENTITY`` region and, under the same ``id``, its type as the region's choice."""
    results = []
    for index, (start, end, kind) in enumerate(spans):
        where = {"start": js_offset(text, start), "end": js_offset(text, end), "text": text[start:end]}
        common = {"id": f"r{index}", "to_name": "text"}
        results.append({**common, "from_name": "label", "type": "labels",
                        "value": {**where, "labels": ["ENTITY"]}})  # fmt: skip
        results.append(
            {**common, "from_name": "kind", "type": "choices", "value": {**where, "choices": [kind]}}
        )
    return results


def paired(prediction: dict[str, Any]) -> dict[tuple[int, int], str | None]:
    """Each predicted region's offsets and the choice carried under its ``id``, after the SDK checked
    the prediction against the config."""
    item = {key: prediction[key] for key in ("result", "score", "model_version") if prediction.get(key)}
    item.setdefault("result", [])
    assert LabelInterface(CONFIG).validate_prediction(item, return_errors=True) == [], prediction
    spans = [r for r in item["result"] if r["type"] == "labels"]
    choices = {r["id"]: r["value"]["choices"][0] for r in item["result"] if r["type"] == "choices"}
    assert set(choices) <= {r["id"] for r in spans}, item  # a choice always names its region
    return {(r["value"]["start"], r["value"]["end"]): choices.get(r["id"]) for r in spans}


def test_region_choices_are_stored_with_their_region_and_learned_from_annotations(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    backend = start_backend(HUGGINGFACE_NER_DIR, env=ENV, workers=1)
    to_label, held_out = sentences(annotated=20, held_out=20)
    project = ls_user.create_project("e2e region choices", CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in to_label + held_out])
    connect(ls_user, project, backend)
    for task, (text, spans) in zip(ids, to_label, strict=False):
        ls_user.annotate(task, regions(text, spans))
    testing = dict(zip(ids[len(to_label) :], held_out, strict=True))

    def instant_predictions() -> dict[int, dict[str, Any]] | None:
        ls_user.retrieve_predictions(project, list(testing))
        found = {task: (ls_user.predictions(task) or [None])[-1] for task in testing}
        fresh = all(p and str(p["model_version"]).startswith("instant-v") for p in found.values())
        return found if fresh else None

    predictions = wait_for(instant_predictions, 90, "instant-layer predictions of every held-out sentence")
    right = judged = with_choice = 0
    kinds: Counter[str] = Counter()
    for task, (text, spans) in testing.items():
        gold = {(js_offset(text, s), js_offset(text, e)): kind for s, e, kind in spans}
        kinds.update(gold.values())
        for where, choice in paired(predictions[task]).items():
            with_choice += choice is not None
            if where in gold:
                judged += 1
                right += choice == gold[where]
    majority = kinds.most_common(1)[0][1] / sum(kinds.values())
    print(f"\nregion choices: {judged} held-out regions on a true entity, {with_choice} with a choice; "
          f"type right {right} of {judged} ({right / max(judged, 1):.2f}; most frequent type "
          f"{majority:.2f}, chance 0.25)")  # fmt: skip
    assert judged >= 10 and with_choice > 0, (judged, with_choice)
    assert right / judged > max(majority, 0.25) + 0.1, (right, judged, majority)
