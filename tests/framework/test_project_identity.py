"""Projects are named as Label Studio names them: id and creation time, so two instances' project 1
are two projects; an earlier release's id-only project is adopted by the first creation time."""

from __future__ import annotations

import copy
import logging

import pytest

from label_studio_ml.api import create_app
from label_studio_ml.errors import BadRequest
from label_studio_ml.state.project_key import label_studio_id, project_key
from label_studio_ml.state.sqlite_store import SqliteStateStore
from tests.conftest import load_fixture, load_keyword_model, wait_healthy
from tests.support.fake_label_studio import fake_label_studio

SETUP = load_fixture("classification_setup.json")
WEBHOOK = load_fixture("classification_webhook_annotation_created.json")
LABELED = [load_fixture("classification_exported_task_tasks_list.json")]
#: Another Label Studio's project 1, created a day later.
OTHER_CREATED_AT = "2026-11-24T08:23:29.676757Z"
OTHER_KEY = f"1.{1795422209 + 86400}"


def test_keys_carry_the_creation_time_setup_and_webhooks_agree_on() -> None:
    assert project_key(SETUP["project"]) == "1.1795422209"
    assert project_key(WEBHOOK["project"]["id"], WEBHOOK["project"]["created_at"]) == "1.1795422209"
    assert project_key(1, OTHER_CREATED_AT) == OTHER_KEY
    assert project_key("7") == "7" and project_key(7) == "7"  # upstream scripts: a bare id
    assert project_key(3, "not a time") == "3"
    assert label_studio_id("1.1795422209") == "1"
    for bad in ("1.12a", "../x", "1.-5", "a/b.1", ""):
        with pytest.raises(BadRequest):
            project_key(bad)


def other_instance(body: dict, **changes: object) -> dict:
    other = copy.deepcopy(body)
    if isinstance(other.get("project"), dict):
        other["project"]["created_at"] = OTHER_CREATED_AT
    else:
        other["project"] = OTHER_KEY
    other.update(changes)
    return other


@pytest.fixture
def app(keyword_app):
    return keyword_app


def test_two_label_studios_with_a_project_1_get_two_projects_and_two_connections(app, caplog) -> None:
    client = app.test_client()
    context = app.extensions["label_studio_ml"]["context"]
    caplog.set_level(logging.INFO)
    with (
        fake_label_studio(LABELED, "token-of-a-0123456789") as (host_a, seen_a),
        fake_label_studio([], "token-of-b-0123456789") as (host_b, seen_b),
    ):
        first = dict(SETUP, hostname=host_a, access_token="token-of-a-0123456789")
        second = other_instance(SETUP, hostname=host_b, access_token="token-of-b-0123456789")
        assert client.post("/setup", json=first).status_code == 200
        assert client.post("/setup", json=second).status_code == 200
        start = load_fixture("classification_webhook_start_training.json")
        assert client.post("/webhook", json=start).status_code == 201
        assert app.extensions["label_studio_ml"]["queue"].wait("1.1795422209", 30)
        # The first instance's model learned; the second's project 1 was never taught anything.
        task = load_fixture("classification_predict_on_task_open.json")
        taught = client.post("/predict", json=task).get_json()["results"][0]
        untaught = client.post("/predict", json=other_instance(task)).get_json()["results"][0]
    assert taught["result"] and untaught["result"] == []
    assert context.label_studio_for("1.1795422209").url == host_a
    assert context.label_studio_for(OTHER_KEY).url == host_b
    assert seen_a and not seen_b  # each training reads its own Label Studio only
    assert "moved" not in caplog.text
    assert sorted(context.state.projects()) == ["1.1795422209", OTHER_KEY]


def test_an_id_only_project_of_an_earlier_release_goes_to_the_first_creation_time(tmp_path) -> None:
    namespace = tmp_path / "models" / "KeywordModel"
    earlier = SqliteStateStore(namespace / "state.sqlite3")
    earlier.set("1", "label_config", SETUP["schema"])
    earlier.set("1", "words", {"great": "positive"})
    (namespace / "1" / "finetuned_model").mkdir(parents=True)
    from label_studio_ml.config import Settings

    app = create_app(load_keyword_model(), settings=Settings(model_dir=tmp_path / "models"))
    client = app.test_client()
    wait_healthy(client)
    task = load_fixture("classification_predict_on_task_open.json")
    task["tasks"][0]["data"]["text"] = "a great day"
    claimed = client.post("/predict", json=task).get_json()["results"][0]
    fresh = client.post("/predict", json=other_instance(task)).get_json()["results"][0]
    assert claimed["result"][0]["value"]["choices"] == ["positive"]
    assert fresh["result"] == []
    state = app.extensions["label_studio_ml"]["context"].state
    assert "1" not in state.projects() and state.get("1.1795422209", "words") == {"great": "positive"}
    assert (namespace / "1.1795422209" / "finetuned_model").is_dir() and not (namespace / "1").exists()


def test_renaming_a_project_moves_everything_once(state_store) -> None:
    state_store.set("1", "label_config", "<View/>")
    state_store.update_training("1", lambda row: ({"changes": 3}, None))
    assert state_store.rename_project("1", "1.5")
    assert not state_store.rename_project("1", "1.5")  # nothing left to move
    assert state_store.get("1.5", "label_config") == "<View/>"
    assert state_store.training_row("1.5")["changes"] == 3
    assert state_store.projects() == ["1.5"]
    state_store.set("2", "label_config", "<View/>")
    assert not state_store.rename_project("2", "1.5")  # the target has state of its own
    assert state_store.get("2", "label_config") == "<View/>"
