"""Several objects in one config (``$question`` beside ``$text``): a backend reads its controls'
``toName`` object only, and says which others it shows but never reads (``/metrics``, one WARNING)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bert_classifier.model import BertClassifier
from huggingface_ner import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from tests.conftest import wait_healthy

QUESTION = '<Header value="Question"/><Text name="question" value="$question"/>'
CLASSIFIER = (
    f'<View><Text name="text" value="$text"/>{QUESTION}<Choices name="answered" toName="text">'
    '<Choice value="yes"/><Choice value="no"/></Choices></View>'
)
NER = (  # Label Studio's Question Answering template
    f'<View><Text name="text" value="$text" granularity="word"/>{QUESTION}'
    '<Labels name="answer" toName="text"><Label value="Answer" maxUsage="1"/></Labels></View>'
)


def setup(client, project: str, config: str) -> dict:
    body = {"project": project, "schema": config, "hostname": "", "access_token": ""}
    assert client.post("/setup", json=body).status_code == 200
    return client.get("/metrics").get_json()["projects"][project]


@pytest.mark.parametrize(
    ("model_class", "config", "read"),
    [(BertClassifier, CLASSIFIER, '<Text name="text">'), (HuggingFaceNER, NER, '<Text name="text">')],
)
def test_objects_the_model_does_not_read_are_reported_once(
    model_class, config: str, read: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = create_app(model_class, Settings(model_dir=tmp_path / "models")).test_client()
    wait_healthy(client, timeout=120)
    with caplog.at_level(logging.WARNING):
        entry = setup(client, "8.1700000000", config)
        setup(client, "8.1700000000", config)
    (unread,) = entry["unread_objects"]
    assert unread.startswith('<Text name="question"> (value="$question"): shown to the annotator, not read')
    assert unread.endswith(f"{model_class.__name__} reads {read} only")
    assert "ignored_controls" not in entry  # the literal <Header> is no task data, nothing else ignored
    warnings = [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "$question" in r.getMessage()
    ]
    assert len(warnings) == 1, warnings

    alone = config.replace(QUESTION, "")
    assert "unread_objects" not in setup(client, "8.1700000000", alone)  # the question removed: nothing
