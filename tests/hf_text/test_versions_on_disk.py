"""``GET /versions`` lists only versions still on disk: those ``KEEP_VERSIONS`` pruned after a
training, and a folder deleted by hand, are gone from it (Label Studio offers what it lists)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bert_classifier.model import BertClassifier
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="mood" toName="text">'
    '<Choice value="happy"/><Choice value="sad"/></Choices></View>'
)
TASKS = [
    {
        "id": index,
        "data": {"text": text},
        "annotations": [
            {
                "id": index,
                "result": [
                    {"from_name": "mood", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
                ],
            }
        ],
    }
    for index, (text, label) in enumerate(
        [("joy", "happy"), ("tears", "sad"), ("smile", "happy"), ("grief", "sad")], start=1
    )
]
TINY_TRAINING = {"NUM_TRAIN_EPOCHS": "1", "MIN_TRAIN_STEPS": "0", "MAX_LENGTH": "16", "WINDOW_STRIDE": "4"}


def wait_until_healthy(client, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (status := client.get("/health").status_code) != 200:
        assert time.monotonic() < deadline, f"/health still {status} after {timeout_s:.0f} s"
        time.sleep(0.1)


def test_versions_pruned_by_keep_versions_or_deleted_by_hand_are_not_listed(tmp_path: Path) -> None:
    environ = {**TINY_TRAINING, "KEEP_VERSIONS": "2"}
    context = BackendContext.for_model(BertClassifier, Settings(model_dir=tmp_path / "models"), environ)
    client = create_app(BertClassifier, context=context).test_client()
    wait_until_healthy(client)  # the warm-up thread imports transformers; not at the same time as fit
    model = BertClassifier(project_id="1", label_config=CONFIG, context=context)
    model.labeled_tasks = lambda: TASKS
    published = [model.fit("START_TRAINING", {})["model_version"] for _ in range(3)]
    assert len(set(published)) == 3 and model.store.versions() == published[1:]

    listed = client.get("/versions?project=1").get_json()
    assert listed["versions"] == published[1:]
    assert listed["projects"]["1"] == {"model_version": published[2], "versions": published[1:]}

    shutil.rmtree(model.store.root / published[1])
    listed = client.get("/versions").get_json()
    assert listed["versions"] == [published[2]]
    assert listed["projects"]["1"]["versions"] == [published[2]]
