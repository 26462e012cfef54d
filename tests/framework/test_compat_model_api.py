"""Upstream label-studio-ml 2.x's public API, used the way upstream backends use it.

``init_app``, ``LabelStudioMLBase``'s helpers (``parsed_label_config``, ``extra_params``,
``build_label_map``, ``get_first_tag_occurence``, ``preload_task_data``, ``get_local_path``,
``get_label_studio_access_token``), a version pinned in ``setup()``, ``ModelResponse`` and ``utils``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from label_studio_sdk.label_interface.objects import PredictionValue

from label_studio_ml import utils
from label_studio_ml.errors import DataAccessDenied, LabelConfigMismatch
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.response import ModelResponse
from tests.support.fake_label_studio import FakeLabelStudio, Served, serving

TOKEN = "token-for-project-1"
NER = """<View>
  <Text name="text" value="$text"/>
  <Labels name="label" toName="text">
    <Label value="Person" predicted_values="PER, per"/>
    <Label value="Organization"/>
    <Label value="Location"/>
  </Labels>
</View>"""
CLASSES = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
</View>"""


@pytest.fixture
def ls():
    with serving(FakeLabelStudio(token=TOKEN)) as fake:
        yield fake


@pytest.fixture
def model(make_context, ls) -> LabelStudioMLBase:
    context = make_context(label_studio_url=ls.url, label_studio_api_key=TOKEN)
    return LabelStudioMLBase(project_id="1", label_config=NER, context=context)


# -- init_app --------------------------------------------------------------------------------------
def test_init_app_serves_the_model_with_the_basic_auth_it_is_given(monkeypatch, tmp_path) -> None:
    from label_studio_ml.api import init_app

    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    monkeypatch.delenv("BASIC_AUTH_USER", raising=False)
    monkeypatch.delenv("BASIC_AUTH_PASS", raising=False)
    client = init_app(model_class=LabelStudioMLBase, basic_auth_user="u", basic_auth_pass="p").test_client()
    body = {"project": "1.1700000000", "schema": CLASSES}
    assert client.post("/setup", json=body).status_code == 401
    response = client.post("/setup", json=body, auth=("u", "p"))
    assert response.status_code == 200 and response.get_json()["model_version"]


def test_init_app_refuses_a_class_that_is_not_a_model() -> None:
    from label_studio_ml.api import init_app

    with pytest.raises(ValueError):
        init_app(model_class=dict)


# -- label config helpers --------------------------------------------------------------------------
def test_parsed_label_config_and_first_tag_occurence_describe_the_config(model) -> None:
    parsed = model.parsed_label_config
    assert parsed["label"]["type"] == "Labels" and parsed["label"]["to_name"] == ["text"]
    assert parsed["label"]["inputs"] == [{"type": "Text", "valueType": None, "value": "text"}]
    assert model.get_first_tag_occurence("Labels", "Text") == ("label", "text", "text")


def test_build_label_map_uses_predicted_values_then_exact_then_case_insensitive_names(model) -> None:
    names = ["PER", "ORGANIZATION", "location", "MISC"]
    assert model.build_label_map("label", names) == {
        "PER": "Person",
        "ORGANIZATION": "Organization",
        "location": "Location",
    }


def test_extra_params_read_the_json_label_studio_sends(model) -> None:
    assert model.extra_params == {}
    model.set_extra_params(json.dumps({"threshold": 0.3}))
    assert model.extra_params == {"threshold": 0.3}
    model.set_extra_params({"threshold": 0.5})
    assert model.extra_params == {"threshold": 0.5}


# -- task data files -------------------------------------------------------------------------------
def test_preload_task_data_replaces_file_references_anywhere_in_the_data(model, ls) -> None:
    ls.files["/data/upload/1/a.txt"] = Served("Zoë in Paris".encode(), "text/plain")
    ls.storage["s3://bucket/b.txt"] = Served(b"from s3")
    task = {
        "id": 7,
        "data": {
            "doc": "/data/upload/1/a.txt",
            "more": ["s3://bucket/b.txt", {"n": 3}],
            "plain": "just text",
        },
    }
    assert model.preload_task_data(task, task["data"]) == {
        "doc": "Zoë in Paris",
        "more": ["from s3", {"n": 3}],
        "plain": "just text",
    }
    assert model.preload_task_data(task, None) is None


def test_get_local_path_downloads_once_into_the_projects_cache(model, ls) -> None:
    ls.files["/data/upload/1/a.txt"] = Served(b"cached")
    path = model.get_local_path("/data/upload/1/a.txt", task_id=7)
    assert Path(path).read_bytes() == b"cached"
    assert Path(path).is_relative_to(model.context.data_dir / "task-files" / "1")
    assert model.get_local_path("/data/upload/1/a.txt") == path
    assert model.get_local_path(path) == path  # a cached file is already local
    assert model.preload_task_data({"id": 7}, "/data/upload/1/a.txt", read_file=False) == path
    assert len(ls.seen) == 1


def test_a_file_served_in_another_charset_is_stored_as_utf8(model, ls) -> None:
    ls.files["/data/upload/1/latin.txt"] = Served("Zoë".encode("latin-1"), "text/plain; charset=latin-1")
    assert Path(model.get_local_path("/data/upload/1/latin.txt")).read_text(encoding="utf-8") == "Zoë"


def test_get_local_path_never_reads_the_backends_own_files_or_another_host(model, ls, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not leak")
    for reference in (str(secret), f"file://{secret}", "https://example.com/a.txt"):
        with pytest.raises(DataAccessDenied):
            model.get_local_path(reference)
    with pytest.raises(DataAccessDenied):
        model.get_local_path("/data/upload/1/a.txt", ls_host="http://attacker.example")
    assert ls.seen == []


def test_get_label_studio_access_token_is_the_projects_token(model) -> None:
    assert model.get_label_studio_access_token() == TOKEN


# -- versions --------------------------------------------------------------------------------------
class PinsItsVersion(LabelStudioMLBase):
    """Upstream's template and examples set a constant version in setup()."""

    def setup(self) -> None:
        self.set("model_version", "PinsItsVersion-v0.0.1")


def test_a_version_pinned_in_setup_does_not_undo_a_version_published_after_training(make_context) -> None:
    context = make_context()
    first = PinsItsVersion(project_id="4", label_config=CLASSES, context=context)
    assert first.model_version == "PinsItsVersion-v0.0.1"
    published = first.bump_model_version()  # what the server does after a fit that set no version
    assert PinsItsVersion(project_id="4", label_config=CLASSES, context=context).model_version == published


def test_a_new_version_pinned_in_setup_replaces_the_old_one(make_context) -> None:
    context = make_context()
    PinsItsVersion(project_id="4", label_config=CLASSES, context=context).bump_model_version()

    class Upgraded(PinsItsVersion):
        def setup(self) -> None:
            self.set("model_version", "PinsItsVersion-v0.0.2")

    assert (
        Upgraded(project_id="4", label_config=CLASSES, context=context).model_version
        == "PinsItsVersion-v0.0.2"
    )


# -- ModelResponse ---------------------------------------------------------------------------------
def test_model_response_gives_its_version_to_predictions_including_several_per_task() -> None:
    own = PredictionValue(model_version="own", score=0.2, result=[])
    response = ModelResponse(
        predictions=[PredictionValue(score=0.1, result=[]), [own, PredictionValue(score=0.3, result=[])]]
    )
    response.set_version("v9")
    dumped = response.model_dump()
    assert dumped["model_version"] == "v9"
    assert dumped["predictions"][0]["model_version"] == "v9"
    assert [item["model_version"] for item in dumped["predictions"][1]] == ["own", "v9"]
    assert response.serialize() == dumped["predictions"]


# -- utils -----------------------------------------------------------------------------------------
def test_utils_read_label_configs_and_annotations_as_upstream_does(model) -> None:
    parsed = model.parsed_label_config
    assert utils.get_single_tag_keys(parsed, "Labels", "Text") == (
        "label",
        "text",
        "text",
        ["Person", "Organization", "Location"],
    )
    with pytest.raises(AssertionError):  # upstream asserted; ours is also a 422 for the API
        utils.get_single_tag_keys(parsed, "Choices", "Text")
    assert issubclass(LabelConfigMismatch, AssertionError)
    assert utils.get_first_tag_keys(parsed, "Labels", "Text")[0] == "label"
    assert utils.get_first_tag_keys(parsed, "Choices", "Text") == (None, None)
    task = {"annotations": [{"was_cancelled": True, "result": [{"value": {"choices": ["Positive"]}}]}]}
    assert utils.is_skipped(task) and utils.get_choice(task) == "Positive"
    assert utils.DATA_UNDEFINED_NAME == "$undefined$"


def test_utils_small_helpers(tmp_path) -> None:
    cache = utils.InMemoryLRUDictCache(capacity=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert utils.match_labels("positiv\nnegatve", ["Positive", "Negative"]) == ["Positive", "Negative"]
    assert utils.is_valid_url("https://x.org/a") and not utils.is_valid_url("/data/upload/1/a")
    existing = tmp_path / "a.txt"
    existing.write_text("x")
    for value in (
        "upload/1/a.txt",
        "/data/local-files/?d=a",
        "s3://b/k",
        "gs://b/k",
        "http://h/x",
        str(existing),
    ):
        assert utils.is_preload_needed(value), value
    assert not utils.is_preload_needed("just a sentence")
    utils.compare_nested_structures({"a": [1.0, "x"]}, {"a": [1.00001, "x"]})
    with pytest.raises(AssertionError):
        utils.compare_nested_structures({"a": [1.0]}, {"a": [1.1]})
