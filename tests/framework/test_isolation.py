"""Projects and model classes stay apart: a shared MODEL_DIR, a project whose model cannot load."""

from __future__ import annotations

import json
import time

import pytest

from label_studio_ml import projects
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext, namespace_of
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.state.sqlite_store import SqliteStateStore
from tests.conftest import load_fixture, load_keyword_model, wait_healthy

#: The key of the project in the captured requests: "<id>.<created_at>", as Label Studio names it.
PROJECT = load_fixture("classification_setup.json")["project"]

SETUP = load_fixture("classification_setup.json")
KeywordModel = load_keyword_model()


class OtherModel(KeywordModel):
    """A second backend class (think: the NER backend next to the classifier)."""


def test_two_backends_on_one_model_dir_keep_their_own_versions_and_state(tmp_path, monkeypatch):
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    monkeypatch.setenv("KEYWORD_TRAINING_FILE", str(labeled))
    model_dir = tmp_path / "shared-models"
    first = create_app(KeywordModel, settings=Settings(model_dir=model_dir))
    second = create_app(OtherModel, settings=Settings(model_dir=model_dir))
    one, two = first.test_client(), second.test_client()
    wait_healthy(one)
    wait_healthy(two)
    one.post("/setup", json=SETUP)
    two.post("/setup", json=SETUP)
    one.post("/webhook", json=load_fixture("classification_webhook_start_training.json"))
    assert first.extensions["label_studio_ml"]["queue"].wait(PROJECT, 10)

    trained = one.get("/versions").get_json()["projects"][PROJECT]
    assert trained["model_version"] != "0.0.1" and len(trained["versions"]) == 1
    assert two.get("/versions").get_json()["projects"][PROJECT] == {"model_version": None, "versions": []}
    assert two.get("/metrics").get_json()["projects"][PROJECT]["training"]["runs"] == 0
    assert (model_dir / "KeywordModel" / "state.sqlite3").is_file()
    assert (model_dir / "OtherModel" / "state.sqlite3").is_file()


def test_a_model_dir_from_before_namespaces_is_moved_into_its_namespace(tmp_path):
    model_dir = tmp_path / "models"
    legacy = SqliteStateStore(model_dir / "state.sqlite3")
    legacy.set("7", "model_version", "v3")
    legacy.set("7", "label_config", SETUP["schema"])
    (model_dir / "7" / "finetuned_model" / "v3").mkdir(parents=True)
    (model_dir / "7" / "finetuned_model" / "v3" / "weights.bin").write_bytes(b"weights")

    context = BackendContext.for_model(KeywordModel, Settings(model_dir=model_dir))

    assert context.data_dir == model_dir / "KeywordModel"
    assert context.state.get("7", "model_version") == "v3"
    assert (context.data_dir / "7" / "finetuned_model" / "v3" / "weights.bin").read_bytes() == b"weights"
    assert not (model_dir / "state.sqlite3").exists() and not (model_dir / "7").exists()


def test_legacy_data_is_left_to_the_class_its_versions_name(tmp_path):
    from bert_classifier import BertClassifier
    from huggingface_ner import HuggingFaceNER

    model_dir = tmp_path / "models"
    SqliteStateStore(model_dir / "state.sqlite3").set("1", "model_version", "v1-x")
    version = model_dir / "1" / "finetuned_model" / "v1-x"
    version.mkdir(parents=True)
    (version / "meta.json").write_text(json.dumps({"version": "v1-x", "model_class": "HuggingFaceNER"}))

    assert not BertClassifier.owns_legacy_data(model_dir)
    assert HuggingFaceNER.owns_legacy_data(model_dir)
    BackendContext.for_model(BertClassifier, Settings(model_dir=model_dir))
    assert (model_dir / "state.sqlite3").exists()  # not the classifier's: left where it is
    BackendContext.for_model(HuggingFaceNER, Settings(model_dir=model_dir))
    assert (model_dir / "HuggingFaceNER" / "1" / "finetuned_model" / "v1-x" / "meta.json").is_file()


def test_a_namespace_must_be_a_folder_name():
    class Odd(KeywordModel):
        MODEL_NAMESPACE = "../elsewhere"

    with pytest.raises(ConfigurationError, match="folder name"):
        namespace_of(Odd)


class BrokenForProjectTwo(KeywordModel):
    """Cannot load project 2 (think: its weights file is corrupt) until ``healed``."""

    healed = False

    def setup(self) -> None:
        if self.label_studio_project == "2" and not BrokenForProjectTwo.healed:
            raise OSError("weights.safetensors: unexpected end of file")
        super().setup()


def test_a_project_whose_model_cannot_load_answers_503_while_the_others_serve(make_context, monkeypatch):
    BrokenForProjectTwo.healed = False
    monkeypatch.setattr(projects, "RETRY_AFTER_S", 0.2)
    client = create_app(BrokenForProjectTwo, context=make_context()).test_client()
    wait_healthy(client)
    predict = load_fixture("classification_predict_test.json")
    one = {**predict, "project": "1.1", "label_config": SETUP["schema"]}
    two = {**predict, "project": "2.1", "label_config": SETUP["schema"]}

    broken = client.post("/predict", json=two)
    assert broken.status_code == 503
    body = broken.get_json()
    assert body["error_type"] == "ModelUnavailable"
    assert "project 2" in body["error"] and "unexpected end of file" in body["error"]
    assert client.post("/predict", json=one).status_code == 200
    assert client.get("/health").status_code == 200

    BrokenForProjectTwo.healed = True
    time.sleep(0.3)  # past the retry delay: the next request loads again
    assert client.post("/predict", json=two).status_code == 200
