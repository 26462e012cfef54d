"""Refusals a Label Studio user can read, and configs served in part.

Label Studio drops a refused ``/setup``'s body and shows its user only
"422 Client Error: <reason phrase> for url: ...". The reason phrase names the tag now, through the
real server too (the asyncio worker writes the app's phrase); the refusal is a WARNING and is in
``/metrics``, and a config with a servable control beside unservable ones is served for what can be
served, ``/metrics`` listing what is not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bert_classifier.model import BertClassifier
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.errors import reason_phrase
from tests.conftest import wait_healthy
from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.servers import backend

RATING = '<Rating name="topic" toName="text" maxRating="5"/>'
ONLY_RATING = f'<View><Text name="text" value="$text"/>{RATING}</View>'
CHOICES = '<Choices name="tone" toName="text"><Choice value="calm"/><Choice value="angry"/></Choices>'
BOTH = f'<View><Text name="text" value="$text"/>{CHOICES}{RATING}</View>'
SERVABLE = f'<View><Text name="text" value="$text"/>{CHOICES}</View>'


def setup_body(project: str, config: str) -> dict:
    return {"project": project, "schema": config, "hostname": "", "access_token": ""}


def warned(caplog: pytest.LogCaptureFixture, word: str) -> bool:
    return any(word in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


@pytest.fixture
def client(tmp_path: Path):
    app = create_app(BertClassifier, Settings(model_dir=tmp_path / "models"))
    client = app.test_client()
    wait_healthy(client)
    return client


def test_an_unservable_config_is_refused_with_a_reason_phrase_a_warning_and_metrics(client, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        refused = client.post("/setup", json=setup_body("3.1700000000", ONLY_RATING))
    assert refused.status_code == 422
    assert '<Rating name="topic">' in refused.get_json()["error"]
    assert "Rating" in refused.status  # the reason phrase, what Label Studio shows
    assert any("Rating" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    project = client.get("/metrics").get_json()["projects"]["3.1700000000"]
    assert "Rating" in project["refused"]["reason"]

    assert client.post("/setup", json=setup_body("3.1700000000", SERVABLE)).status_code == 200
    assert "refused" not in client.get("/metrics").get_json()["projects"]["3.1700000000"]


def test_a_config_served_in_part_says_what_it_ignores(client, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        assert client.post("/setup", json=setup_body("4.1700000000", BOTH)).status_code == 200
    (ignored,) = client.get("/metrics").get_json()["projects"]["4.1700000000"]["ignored_controls"]
    assert ignored.startswith('<Rating name="topic">')
    assert any("Rating" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    body = {
        "project": "4.1700000000",
        "label_config": BOTH,
        "tasks": [{"id": 1, "data": {"text": "Calm down."}}],
    }
    (item,) = client.post("/predict", json=body).get_json()["results"]
    assert all(region["from_name"] == "tone" for region in item["result"])


def test_a_reason_phrase_is_one_printable_latin_1_line() -> None:
    assert (
        reason_phrase("bad <Taxonomy>\r\nInjected: header\x00 ✓ déjà")
        == "bad <Taxonomy> Injected: header ? déjà"
    )
    assert len(reason_phrase("x" * 1000)) == 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with backend(
        BERT_CLASSIFIER_DIR, {"MODEL_DIR": str(tmp_path_factory.mktemp("refusals"))}, workers=1
    ) as url:
        yield url


def test_the_real_server_writes_the_reason_phrase_label_studio_shows(server: str) -> None:
    refused = requests.post(f"{server}/setup", json=setup_body("5.1700000000", ONLY_RATING), timeout=30)
    assert refused.status_code == 422
    with pytest.raises(requests.HTTPError, match=r"422 Client Error: .*<Rating name=\"topic\">"):
        refused.raise_for_status()  # how Label Studio 1.23.2 words a refused connection
    assert refused.headers.get("x-lsml-reason-phrase") is None  # the bridge's carrier never leaks
    assert requests.get(f"{server}/health", timeout=30).reason == "OK"
