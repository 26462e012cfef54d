"""A ``<Taxonomy>`` project in a real Label Studio 1.23.2: BBC News topics in a two-level hierarchy.

Annotations made through Label Studio's API (taxonomy paths) teach the classifier's instant layer;
the predictions Label Studio stores for held-out tasks (it validates each against the config,
``PREDICTION_VALIDATION_FLAG`` is on for the test server) are paths of the taxonomy, mostly right.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.e2e_steps import connect
from tests.support.ls_user import LabelStudioUser, wait_for

pytestmark = pytest.mark.e2e

#: Each BBC topic under a parent: a two-level hierarchy of the five topics.
PATHS = {
    "business": ("Economy", "business"),
    "tech": ("Economy", "tech"),
    "entertainment": ("Culture", "entertainment"),
    "sports": ("Culture", "sports"),
    "politics": ("Public life", "politics"),
}
CONFIG = (
    '<View><Text name="text" value="$text"/><Taxonomy name="topic" toName="text">'
    '<Choice value="Economy"><Choice value="business"/><Choice value="tech"/></Choice>'
    '<Choice value="Culture"><Choice value="entertainment"/><Choice value="sports"/></Choice>'
    '<Choice value="Public life"><Choice value="politics"/></Choice></Taxonomy></View>'
)
INSTANT = {"INSTANT_VERSION_EVERY": "1", "START_TRAINING_EACH_N_UPDATES": "0"}


def taxonomy(topic: str) -> list[dict[str, Any]]:
    path = list(PATHS[topic])
    return [{"from_name": "topic", "to_name": "text", "type": "taxonomy", "value": {"taxonomy": [path]}}]


def test_taxonomy_predictions_are_paths_label_studio_accepts_and_learned_from_annotations(
    ls_user: LabelStudioUser, start_backend: Any
) -> None:
    backend = start_backend(BERT_CLASSIFIER_DIR, env=INSTANT, workers=1)
    to_label = bbc_news.articles(per_label=3, max_words=64)  # 15 to annotate
    held_out = bbc_news.articles(per_label=6, skip=200, max_words=64)  # 30 never annotated
    project = ls_user.create_project("e2e taxonomy", CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": t}} for t, _ in to_label + held_out])
    connect(ls_user, project, backend)

    for task, (_, topic) in zip(ids, to_label, strict=False):
        ls_user.annotate(task, taxonomy(topic))
    testing = dict(zip(ids[len(to_label) :], (topic for _, topic in held_out), strict=True))

    def instant_predictions() -> dict[int, dict[str, Any]] | None:
        ls_user.retrieve_predictions(project, list(testing))
        found = {task: (ls_user.predictions(task) or [None])[-1] for task in testing}
        fresh = all(p and str(p["model_version"]).startswith("instant-v") for p in found.values())
        return found if fresh else None

    predictions = wait_for(instant_predictions, 60, "instant-layer predictions of every held-out task")
    right = 0
    for task, topic in testing.items():
        if not predictions[task]["result"]:  # scored below PREDICTION_MIN_SCORE: no pre-fill
            continue
        (region,) = predictions[task]["result"]
        assert region["type"] == "taxonomy", region
        (path,) = region["value"]["taxonomy"]
        assert tuple(path) in {(parent,) for parent, _ in PATHS.values()} | set(PATHS.values()), path
        right += tuple(path) == PATHS[topic]
    print(f"\ntaxonomy: {right} of {len(testing)} held-out articles on the right leaf after 15 labels")
    assert right >= len(testing) // 2, right  # chance is 1 in 8 nodes
