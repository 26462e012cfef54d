"""A calm version list: annotations in a row keep the versions Label Studio sees few, while every
prediction comes from the newest instant head (``hf_text.instant.visible_version``, through ``create_app``).

Label Studio stores each prediction under its item's ``model_version`` and lists every such version
(Settings → Predictions, the pre-labeling dropdown); what it sees of a backend is ``/setup``'s
version and the items' versions. The documented count: 20 annotations from zero-shot (or from
nothing) show at most ``1 + ceil(20 / INSTANT_VERSION_EVERY)`` versions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bert_classifier.model import BertClassifier
from hf_text.instant import visible_version
from hf_text.instant.records import version_store
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.model import MODEL_VERSION_KEY, VERSIONS_KEY, LabelStudioMLBase
from label_studio_ml.state.project_key import project_key
from tests.classifier.test_instant import bbc_event
from tests.conftest import load_fixture, wait_healthy
from tests.support import bbc_news

ANNOTATIONS = 20
#: What the README documents for 20 annotations in a row with the default ``INSTANT_VERSION_EVERY``.
DOCUMENTED = 1 + math.ceil(ANNOTATIONS / HFSettings().instant_version_every)


def start(model_class: type, model_dir: Path) -> tuple[Any, Any]:
    """An app on ``model_dir`` (trainings only on demand) and its test client."""
    settings = Settings(model_dir=model_dir, start_training_each_n_updates=0)
    app = create_app(model_class, context=BackendContext.from_settings(settings))
    client = app.test_client()
    wait_healthy(client, timeout=120)
    return app, client


def learned(app: Any, project: str) -> None:
    assert app.extensions["label_studio_ml"]["instant"].wait(project, timeout=120)


def served(client: Any, project: str) -> dict[str, Any]:
    return client.get("/metrics").get_json()["projects"][project]["served"]


def test_twenty_classifier_annotations_show_few_versions_and_predict_with_the_newest_head(
    tmp_path: Path,
) -> None:
    app, client = start(BertClassifier, tmp_path / "models")
    context = app.extensions["label_studio_ml"]["context"]
    setup = {**load_fixture("classification_setup.json"), "schema": bbc_news.LABEL_CONFIG}
    project = project_key(setup["project"])  # the key its state and versions live under
    seen = {client.post("/setup", json=setup).get_json()["model_version"]}  # zero-shot
    labeled = bbc_news.articles(per_label=ANNOTATIONS // len(bbc_news.LABELS), max_words=64)
    order = [labeled[n + k * (len(labeled) // 5)] for n in range(len(labeled) // 5) for k in range(5)]
    probe = [{"id": 900 + i, "data": {"text": t}} for i, (t, _) in enumerate(bbc_news.articles(1, skip=60))]
    request = {"tasks": probe, "label_config": bbc_news.LABEL_CONFIG, "project": setup["project"]}
    direct = BertClassifier(project_id=project, label_config=bbc_news.LABEL_CONFIG, context=context)
    heads, under_visible = [], {}
    for task_id, (text, label) in enumerate(order, start=1):
        assert client.post("/webhook", json=bbc_event(task_id, text, label)).status_code == 201
        learned(app, project)
        visible = client.post("/setup", json=setup).get_json()["model_version"]
        items = client.post("/predict", json=request).get_json()["results"]
        seen |= {visible, *(item["model_version"] for item in items)}
        newest = version_store(context.data_dir, project).latest()
        report = served(client, project)
        assert report["head"] == newest and report["model_version"] == visible, report
        assert newest not in heads  # every annotation taught the head something: a new head
        heads.append(newest)
        # What /predict answered is exactly what the newest head predicts, whatever Label Studio sees.
        expected = direct.predict_light(probe, newest)
        assert [(i["result"], i["score"]) for i in items] == [(e["result"], e["score"]) for e in expected]
        under_visible.setdefault(visible, []).append([item["score"] for item in items])
    assert len(seen) <= DOCUMENTED, sorted(seen)
    listed = client.get("/versions", query_string={"project": setup["project"]}).get_json()["versions"]
    assert set(listed) <= seen, listed
    # Under one visible version the predictions still changed with every head: none was stale.
    changed = [scores[i] != scores[i - 1] for scores in under_visible.values() for i in range(1, len(scores))]
    assert changed and all(changed), under_visible


NER_SETUP = load_fixture("ner_setup.json")
NER_CREATED = load_fixture("ner_webhook_annotation_created.json")
NAMES = [
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth",
    "John McCarthy", "Frances Allen", "Niklaus Wirth", "Tony Hoare", "Ken Thompson", "Dennis Ritchie",
    "Margaret Hamilton", "Claude Shannon", "John Backus", "Radia Perlman", "Leslie Lamport", "Jim Gray",
    "Butler Lampson", "Shafi Goldwasser",
]  # fmt: skip


def ner_event(task_id: int, name: str) -> dict[str, Any]:
    """``ANNOTATION_CREATED`` for ``"<name> spoke ."`` with ``name`` marked as a person."""
    body = {key: value for key, value in NER_CREATED.items() if key not in ("task", "annotation")}
    text = f"{name} spoke ."
    region = {"from_name": "label", "to_name": "text", "type": "labels",
              "value": {"start": 0, "end": len(name), "text": name, "labels": ["PER"]}}  # fmt: skip
    annotation = {**NER_CREATED["annotation"], "id": task_id, "task": task_id, "result": [region]}
    task = {**NER_CREATED["task"], "id": task_id, "data": {"text": text}}
    return {**body, "task": task, "annotation": annotation}


def test_twenty_ner_annotations_show_few_versions_and_propagate_every_name_at_once(tmp_path: Path) -> None:
    app, client = start(HuggingFaceNER, tmp_path / "models")
    project = project_key(NER_SETUP["project"])
    seen = {client.post("/setup", json=NER_SETUP).get_json()["model_version"]}
    probe = " and ".join(NAMES) + " met ."
    request = {"tasks": [{"id": 900, "data": {"text": probe}}], "project": NER_SETUP["project"],
               "label_config": NER_SETUP["schema"]}  # fmt: skip
    for count, name in enumerate(NAMES, start=1):
        client.post("/webhook", json=ner_event(count, name))
        learned(app, project)
        visible = client.post("/setup", json=NER_SETUP).get_json()["model_version"]
        [item] = client.post("/predict", json=request).get_json()["results"]
        seen |= {visible, item["model_version"]}
        # Every name annotated so far, and only those: the newest dictionary answers.
        assert [region["value"]["text"] for region in item["result"]] == NAMES[:count]
        report = served(client, project)
        assert report["head"] == version_store(app.extensions["label_studio_ml"]["context"].data_dir,
                                               project).latest(), report  # fmt: skip
    assert len(seen) <= DOCUMENTED, sorted(seen)


class _Layered(LabelStudioMLBase):
    """A bare model with the settings ``visible_version`` reads."""

    hf_settings = HFSettings(instant_version_every=3)


def test_a_layer_change_a_new_fine_tuned_base_and_every_third_head_become_visible(tmp_path: Path) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    model = _Layered(project_id="1", label_config=bbc_news.LABEL_CONFIG, context=context)
    shown = [visible_version.publish(model, "zero-shot-abc")["model_version"]]
    for run in range(1, 8):
        shown.append(visible_version.publish(model, f"instant-v{run}-0")["model_version"])
    assert shown == ["zero-shot-abc", "instant-v1-0", "instant-v1-0", "instant-v1-0", "instant-v4-0",
                     "instant-v4-0", "instant-v4-0", "instant-v7-0"]  # fmt: skip
    assert visible_version.serving_version(model, model.model_version) == "instant-v7-0"
    # A refit that learned nothing keeps its head: not an update.
    assert visible_version.publish(model, "instant-v7-0")["updates_since_visible"] == 0
    # NER's dictionary combined with a new fine-tuned version is a real new version.
    assert visible_version.publish(model, "instant-v8-0", builds_on="v2-0")["model_version"] == "instant-v8-0"
    # The fine-tuned layer serving is visible at once; so is the instant head taking over again.
    assert visible_version.publish(model, "v3-0")["model_version"] == "v3-0"
    assert visible_version.publish(model, "instant-v9-0")["model_version"] == "instant-v9-0"
    assert visible_version.protected(model) == {"instant-v9-0"}
    assert visible_version.publish(model, None)["model_version"] is None
    assert model.get(MODEL_VERSION_KEY) is None
    assert model.get(VERSIONS_KEY) == ["zero-shot-abc", "instant-v1-0", "instant-v4-0", "instant-v7-0",
                                       "instant-v8-0", "v3-0", "instant-v9-0"]  # fmt: skip


def test_under_active_learning_every_head_is_visible_so_the_queue_follows_each_annotation(
    tmp_path: Path,
) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    model = _Layered(project_id="1", label_config=bbc_news.LABEL_CONFIG, context=context)
    model.set_extra_params({"active_learning": True})  # this project only (ACTIVE_LEARNING is off)
    shown = [visible_version.publish(model, f"instant-v{run}-0")["model_version"] for run in range(1, 4)]
    assert shown == ["instant-v1-0", "instant-v2-0", "instant-v3-0"]
    model.set_extra_params({"active_learning": False})
    shown = [visible_version.publish(model, f"instant-v{run}-0")["model_version"] for run in range(4, 7)]
    assert shown == ["instant-v3-0", "instant-v3-0", "instant-v6-0"]  # every third again
