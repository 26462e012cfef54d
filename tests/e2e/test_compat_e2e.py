"""Upstream-style backends (``tests/backends/sklearn_text``, ``tests/backends/rule_ner``) through a real
Label Studio 1.23.2: text files uploaded to Label Studio and read back by URL (UTF-8, accents), a
cloud URI resolved through Label Studio's own storage endpoint (no storage connected: an empty
prediction), training from annotations, predictions in Label Studio's UTF-16 offsets.
≈12 s after Label Studio's start on a 2-core machine.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from label_studio_ml.errors import TaskDataUnreadable
from label_studio_ml.studio.client import LabelStudioAccess
from tests.conftest import BACKENDS
from tests.support.backend_server import StartBackend
from tests.support.e2e_steps import (
    choice,
    connect,
    js_slice,
    log_tail,
    only_predictions,
    refreshed_predictions,
    spans_result,
    wait_for_runs,
)
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser

pytestmark = pytest.mark.e2e

CLASSIFY = """<View>
  <Text name="text" value="$doc" valueType="url"/>
  <Choices name="topic" toName="text"><Choice value="Sport"/><Choice value="Food"/></Choices>
</View>"""
NER = """<View>
  <Labels name="label" toName="text">
    <Label value="Email" predicted_values="EMAIL"/><Label value="Date"/><Label value="City"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""
TEXTS = [
    ("Le match de football à Zürich a fini à deux buts.", "Sport"),
    ("Une crème brûlée et un café au restaurant.", "Food"),
    ("The goalkeeper saved a penalty in the final match.", "Sport"),
    ("Bake the bread and serve the soup with café crème.", "Food"),
    ("Le gardien a arrêté le penalty, le match est gagné.", "Sport"),
    ("Une soupe à l'oignon et du pain frais au restaurant.", "Food"),
]


def upload_text_files(ls_user: LabelStudioUser, project: int, texts: list[str]) -> list[int]:
    """Import .txt files as one task each (the UI's "treat as one task per file"); returns task ids."""
    files = {f"file{i}": (f"text{i}.txt", text.encode(), "text/plain") for i, text in enumerate(texts)}
    uploaded = ls_user.request(
        "POST", f"/api/projects/{project}/import", params={"commit_to_project": "false"}, files=files
    )
    ids = uploaded.json()["file_upload_ids"]
    ls_user.request(
        "POST",
        f"/api/projects/{project}/reimport",
        json={"file_upload_ids": ids, "files_as_tasks_list": False},
    )
    return ls_user.task_ids(project)


def test_label_studio_serves_the_storage_resolve_url_we_build(
    label_studio: LabelStudioServer, ls_user: LabelStudioUser
) -> None:
    project = ls_user.create_project("compat resolve", CLASSIFY)
    access = LabelStudioAccess(label_studio.url, label_studio.personal_access_token())
    (url,) = access.data_urls("s3://bucket/missing.txt", str(project))
    assert url.startswith(f"{label_studio.url}/projects/{project}/resolve/?fileuri=")
    # The route exists and checks the token (401 without it) and the query (400 without fileuri);
    # with both it looks the URI up among the project's storages: none here, so an empty 404,
    # not the HTML page of an unknown route.
    authorized = {"Authorization": f"Bearer {access.access_token()}"}
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url.split("?")[0], headers=authorized, timeout=10).status_code == 400
    found = requests.get(url, headers=authorized, timeout=10, allow_redirects=False)
    assert found.status_code == 404 and found.content == b""
    assert (
        base64.urlsafe_b64decode(url.split("fileuri=")[1].replace("%3D", "=")).decode()
        == "s3://bucket/missing.txt"
    )
    with pytest.raises(TaskDataUnreadable):
        access.fetch_text("s3://bucket/missing.txt", project_id=str(project))


@pytest.mark.usefixtures("legacy_tokens_on")  # upstream backends read task files with /setup's token
def test_upstream_style_backends_read_task_files_and_train_through_label_studio(
    ls_user: LabelStudioUser, start_backend: StartBackend
) -> None:
    classifier = start_backend(BACKENDS / "sklearn_text", workers=2)
    project = ls_user.create_project("compat sklearn", CLASSIFY)
    task_ids = upload_text_files(ls_user, project, [text for text, _ in TEXTS])
    (missing,) = ls_user.import_tasks(project, [{"data": {"doc": "s3://bucket/missing.txt"}}])
    ml_id = connect(ls_user, project, classifier)
    uploaded = ls_user.open_task(task_ids[0])["data"]["doc"]
    assert uploaded.startswith(f"/data/upload/{project}/"), uploaded

    ls_user.retrieve_predictions(project)
    before = only_predictions(ls_user, project)
    assert {p["model_version"] for p in before.values()} == {"SklearnTextClassifier-v0.0.1"}
    assert all(p["result"] == [] for p in before.values())

    for task_id, (_, label) in zip(task_ids[:4], TEXTS, strict=False):
        ls_user.annotate(task_id, choice(label))
    ls_user.train(ml_id)
    trained = wait_for_runs(classifier, project, 1)
    assert trained["training"]["failures"] == 0 and trained["training"]["metrics"]["examples"] == 4, trained
    version = trained["model_version"]
    assert version != "SklearnTextClassifier-v0.0.1"

    predictions = refreshed_predictions(ls_user, project)
    assert {p["model_version"] for p in predictions.values()} == {version}
    for task_id, (_, label) in zip(task_ids[4:], TEXTS[4:], strict=True):
        assert predictions[task_id]["result"][0]["value"]["choices"] == [label], predictions[task_id]
    assert predictions[missing]["result"] == []
    assert f"task {missing}: text not readable" in log_tail(classifier, 20000)

    ner = start_backend(BACKENDS / "rule_ner", workers=1)
    ner_project = ls_user.create_project("compat rule ner", NER)
    text = "💩 Écrire à zoë@example.org avant 2024-05-01, puis voler vers Zürich."
    first, second = ls_user.import_tasks(
        ner_project, [{"data": {"text": text}}, {"data": {"text": text + " "}}]
    )
    ner_ml = connect(ls_user, ner_project, ner)
    city = text.index("Zürich")
    ls_user.annotate(first, spans_result(text, [(city, city + len("Zürich"), "City")]))
    ls_user.train(ner_ml)
    ner_version = wait_for_runs(ner, ner_project, 1)["model_version"]
    prediction = refreshed_predictions(ls_user, ner_project)[second]
    assert prediction["model_version"] == ner_version

    def span(region: dict[str, Any]) -> tuple[str, str]:
        value = region["value"]
        assert js_slice(text, value["start"], value["end"]) == value["text"]  # UTF-16 offsets
        return value["text"], value["labels"][0]

    assert [span(region) for region in prediction["result"]] == [
        ("zoë@example.org", "Email"),
        ("2024-05-01", "Date"),
        ("Zürich", "City"),
    ]
