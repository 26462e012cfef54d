"""NER through a real Label Studio 1.23.2: annotations by webhook, "Start training", predicted spans
in Label Studio's UTF-16 offsets on the right words (emoji before entities), legacy tokens on."""

from __future__ import annotations

import json

import pytest

from tests.support.backend_server import HUGGINGFACE_NER_DIR, StartBackend
from tests.support.e2e_steps import (
    EMOJI,
    FAST_TRAINING,
    FIXTURES,
    NER_TRAINING,
    connect,
    js_slice,
    ner_sentences,
    only_predictions,
    refreshed_predictions,
    spans_result,
    wait_for_runs,
)
from tests.support.ls_user import LabelStudioUser

pytestmark = pytest.mark.e2e


@pytest.mark.usefixtures("legacy_tokens_on")
def test_ner_learns_from_annotations_and_predicts_spans_in_label_studio_offsets(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    sentences = ner_sentences(24)
    env = {
        **FAST_TRAINING,
        **NER_TRAINING,
        "START_TRAINING_EACH_N_UPDATES": str(len(sentences)),
    }
    backend = start_backend(HUGGINGFACE_NER_DIR, env=env)
    config = json.loads((FIXTURES / "ner_setup.json").read_text())["schema"]
    project = ls_user.create_project("e2e ner", config)
    task_ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in sentences])
    ml_id = connect(ls_user, project, backend)

    ls_user.retrieve_predictions(project)
    before = only_predictions(ls_user, project)
    assert all(p["result"] == [] for p in before.values()), before
    (initial_version,) = {p["model_version"] for p in before.values()}

    for task_id, (text, spans) in zip(task_ids, sentences, strict=True):
        ls_user.annotate(task_id, spans_result(text, spans))
    first = wait_for_runs(backend, project, 1)
    assert first["training"]["runs"] == 1 and first["training"]["failures"] == 0, first
    assert first["label_studio"]["source"] == "label_studio", first  # the legacy token was accepted
    ls_user.train(ml_id)
    second = wait_for_runs(backend, project, 2)
    assert second["training"]["runs"] == 2 and second["training"]["failures"] == 0, second
    version = second["model_version"]
    assert version not in {initial_version, first["model_version"]}

    predictions = refreshed_predictions(ls_user, project)
    texts = dict(zip(task_ids, (text for text, _ in sentences), strict=True))
    regions = 0
    for task_id, prediction in predictions.items():
        assert prediction["model_version"] == version, prediction
        for region in prediction["result"]:
            value = region["value"]
            assert set(value["labels"]) <= {"PER", "ORG", "LOC", "MISC"}, region
            assert js_slice(texts[task_id], value["start"], value["end"]) == value["text"], region
            regions += 1
    assert regions > 0, "the trained model found no entity at all"
    emoji_regions = [r for t, p in predictions.items() if texts[t][0] in EMOJI for r in p["result"]]
    assert emoji_regions, "no entity predicted in the emoji sentences: UTF-16 offsets not exercised"
