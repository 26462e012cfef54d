"""The classifier serves ``<Taxonomy>``: its nodes are labels named by their paths, predicted as paths.

Before any label zero-shot reads each path's words; annotations (leaf or inner-node selections,
by alias or by value) teach the instant head at once, through the webhooks, and a fine-tuning; every
prediction is one Label Studio's own validator accepts (``LabelInterface.validate_prediction``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from label_studio_sdk.label_interface import LabelInterface

from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import load_fixture, wait_healthy
from tests.support import bbc_news
from tests.support.fake_label_studio import fake_label_studio
from tests.support.webhooks import annotation_created

TOPICS = (
    '<View><Text name="text" value="$text"/><Taxonomy name="topic" toName="text">'
    '<Choice value="News"><Choice value="business"/><Choice value="politics"/><Choice value="tech"/></Choice>'
    '<Choice value="Leisure"><Choice value="entertainment"/><Choice value="sports"/></Choice>'
    "</Taxonomy></View>"
)
MOOD = (
    '<View><Text name="text" value="$text"/><Taxonomy name="mood" toName="text">'
    '<Choice value="Feeling" alias="F"><Choice value="happy"/><Choice value="sad"/></Choice>'
    '<Choice value="angry"/></Taxonomy></View>'
)
WORDS = {
    ("F", "happy"): ["joy", "delight", "smile", "sunshine", "laughter", "glad", "cheer", "bliss"],
    ("F", "sad"): ["tears", "grief", "sorrow", "gloom", "lonely", "loss", "cry", "misery"],
    ("angry",): ["rage", "fury", "shout", "outrage", "furious", "hate", "wrath", "annoyed"],
}
PREDICT = load_fixture("classification_predict.json")
TEXTS = [task["data"]["text"] for task in PREDICT["tasks"]]
PROJECT = PREDICT["project"]
REVIEWS = (
    '<View><Text name="text" value="$text"/><Taxonomy name="label" toName="text">'
    '<Choice value="Review"><Choice value="positive"/><Choice value="negative"/></Choice></Taxonomy></View>'
)
TOKEN = "ls-token"


def accepted(config: str, items: list[dict[str, Any]]) -> None:
    """Every item is one Label Studio's validator accepts, and the taxonomy results are paths."""
    interface = LabelInterface(config)
    for item in items:
        assert interface.validate_prediction(item, return_errors=True) == [], item
        assert all(region["type"] == "taxonomy" for region in item["result"])


def paths(items: list[dict[str, Any]]) -> list[list[list[str]] | None]:
    return [item["result"][0]["value"]["taxonomy"] if item["result"] else None for item in items]


def make(context: BackendContext, config: str, **settings: Any) -> BertClassifier:
    hf = HFSettings(**{"max_length": 64, "prediction_min_score": 0.0, **settings})
    return BertClassifier(project_id="7", label_config=config, context=context, hf_settings=hf)


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def annotation(ident: int, selected: list[list[str]]) -> dict[str, Any]:
    value = {"taxonomy": selected}
    result = [{"from_name": "mood", "to_name": "text", "type": "taxonomy", "value": value}]
    return {"id": ident, "result": result, "updated_at": "2026-01-01T00:00:00Z"}


def test_nodes_are_labels_named_by_path_with_aliases_leafs_only_and_max_usages(context) -> None:
    (control,) = make(context, MOOD).controls()
    assert control.labels == ("F", "F / happy", "F / sad", "angry")
    assert control.path_of("F / sad") == ("F", "sad") and not control.multiple
    # A result written before the alias existed names the node by its values.
    assert control.label_for("Feeling / sad") == "F / sad"
    (leafs,) = make(context, MOOD.replace('toName="text">', 'toName="text" leafsOnly="true">')).controls()
    assert leafs.labels == ("F / happy", "F / sad", "angry")
    (several,) = make(context, MOOD.replace('toName="text">', 'toName="text" maxUsages="2">')).controls()
    assert several.multiple


def test_targets_are_the_selected_nodes_inner_ones_too_unless_leafs_only(context) -> None:
    model = make(context, MOOD)
    tasks = [
        {"id": 1, "data": {"text": "a"}, "annotations": [annotation(1, [["F", "happy"]])]},
        {"id": 2, "data": {"text": "b"}, "annotations": [annotation(2, [["Feeling"]])]},  # by value
        {"id": 3, "data": {"text": "c"}, "annotations": [annotation(3, [["nope"]])]},
    ]
    examples = {e.text: e.target for e in model.collect_examples(tasks, model.controls()[0])}
    assert examples == {"a": frozenset({"F / happy"}), "b": frozenset({"F"})}
    leafs = make(context, MOOD.replace('toName="text">', 'toName="text" leafsOnly="true">'))
    assert [e.text for e in leafs.collect_examples(tasks, leafs.controls()[0])] == ["a"]


def test_max_usages_caps_the_paths_predicted(context) -> None:
    model = make(context, MOOD.replace('toName="text">', 'toName="text" maxUsages="2">'))
    (control,) = model.controls()
    head = {"labels": list(control.labels), "multiple": True}
    [(items, _)] = model.task.predictions_from(np.array([[0.9, 0.7, 0.8, 0.6]]), control, head)
    assert items[0]["value"] == {"taxonomy": [["F"], ["F", "sad"]]}
    accepted(model.label_config, [{"result": items}])


def test_zero_shot_predicts_paths_from_their_words_before_any_label(context) -> None:
    pairs = bbc_news.articles(per_label=4, skip=300, max_words=64)
    model = make(context, TOPICS)
    tasks = [{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(pairs)]
    items = model.predict(tasks).serialize()
    assert model.model_version.startswith("zero-shot-")
    accepted(TOPICS, items)
    leaves = [found[0][-1] if found else None for found in paths(items)]
    right = sum(leaf == label for leaf, (_, label) in zip(leaves, pairs, strict=True))
    assert right >= 12, list(zip(leaves, [label for _, label in pairs], strict=True))


def test_fine_tuning_learns_from_taxonomy_annotations(context) -> None:
    model = make(context, MOOD, num_train_epochs=1.0, min_train_steps=0, max_length=32, window_stride=8,
                 batch_size=8, keep_versions=1, learning_rate=1e-4)  # fmt: skip
    model.labeled_tasks = lambda: [
        {"id": n, "data": {"text": f"So much {word} today."}, "annotations": [annotation(n, [list(path)])]}
        for n, (path, word) in enumerate((p, w) for p, words in WORDS.items() for w in words)
    ]
    metrics = model.fit("START_TRAINING", {})
    assert metrics["train_size"] == 24
    meta = model.store.meta(metrics["model_version"])
    assert meta["heads"][0]["labels"] == ["F", "F / happy", "F / sad", "angry"]
    served = BertClassifier(project_id="7", label_config=MOOD, context=context, hf_settings=model.hf_settings)
    assert served.model_version == metrics["model_version"]
    items = served.predict([{"id": 1, "data": {"text": "So much joy today."}}]).serialize()
    assert items[0]["result"] and items[0]["model_version"] == metrics["model_version"]
    accepted(MOOD, items)


def event(task_id: int, text: str, path: list[str]) -> dict[str, Any]:
    """An ``ANNOTATION_CREATED`` body as Label Studio sends it, with a taxonomy result."""
    result = {"from_name": "label", "to_name": "text", "type": "taxonomy", "value": {"taxonomy": [path]}}
    return annotation_created(task_id, {"text": text}, [result], REVIEWS)


def test_each_annotation_webhook_teaches_the_instant_head_taxonomy_paths(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path / "models", start_training_each_n_updates=0)
    app = create_app(BertClassifier, context=BackendContext.from_settings(settings))
    client = app.test_client()
    wait_healthy(client, timeout=120)
    with fake_label_studio([], token=TOKEN) as (url, _):
        body = {"project": PROJECT, "schema": REVIEWS, "hostname": url, "access_token": TOKEN}
        assert client.post("/setup", json=body).status_code == 200
        predict = {**PREDICT, "label_config": REVIEWS}
        before = client.post("/predict", json=predict).get_json()["results"]
        assert len(before) == len(TEXTS)
        accepted(REVIEWS, before)
        examples = [(0, ["Review", "positive"]), (5, ["Review", "negative"]), (6, ["Review", "negative"]),
                    (1, ["Review", "positive"])]  # fmt: skip
        for index, path in examples:
            assert client.post("/webhook", json=event(100 + index, TEXTS[index], path)).status_code == 201
            assert app.extensions["label_studio_ml"]["instant"].wait(PROJECT, timeout=120)
        version = client.post("/setup", json=body).get_json()["model_version"]
        assert version.startswith("instant-v")
        after = client.post("/predict", json=predict).get_json()["results"]
    assert len(after) == len(TEXTS) and all(item["model_version"] == version for item in after)
    accepted(REVIEWS, after)
    assert [paths(after)[index] for index, _ in examples] == [[path] for _, path in examples]
