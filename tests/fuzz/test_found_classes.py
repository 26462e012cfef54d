"""Each class of bad request that used to end in a 500 (or a misleading 200), pinned as a plain example.

The property-based suite (``test_fuzz_protocol.py``) searches for such classes; these examples
keep the ones found from coming back, on the cheap keyword test model.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from label_studio_ml.api import create_app
from label_studio_ml.errors import BadRequest
from label_studio_ml.server.json_body import MAX_DEPTH, nesting_depth, parse_json_object
from tests.conftest import load_fixture, load_keyword_model


@pytest.fixture
def client(make_context):
    client = create_app(load_keyword_model(), context=make_context()).test_client()
    deadline = time.time() + 5
    while client.get("/health").status_code != 200 and time.time() < deadline:
        time.sleep(0.01)
    client.post("/setup", json=load_fixture("classification_setup.json"))
    return client


def post_raw(client, path: str, raw: bytes):
    return client.post(path, data=raw, content_type="application/json")


def assert_json_error(response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error", "error_type"}
    for fragment in fragments:
        assert fragment in body["error"]


def assert_still_serves(client) -> None:
    response = client.post("/predict", json=load_fixture("classification_predict_test.json"))
    assert response.status_code == 200 and len(response.get_json()["results"]) == 1


@pytest.mark.parametrize("route", ["/setup", "/predict", "/webhook"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_json_nested_deeper_than_the_limit_is_a_400_on_every_route(client, route, depth):
    raw = b'{"project": "1.1", "tasks": ' + b"[" * depth + b"]" * depth + b"}"
    assert_json_error(post_raw(client, route, raw), 400, "nested", str(MAX_DEPTH))
    assert_still_serves(client)


def test_nesting_up_to_the_limit_is_parsed():
    raw = b'{"a": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert nesting_depth(raw) == MAX_DEPTH
    assert "a" in parse_json_object(raw)


def test_brackets_inside_strings_do_not_count_as_nesting():
    raw = json.dumps({"text": "[" * 500 + '\\" {{{', "other": "]]]"}).encode()
    assert nesting_depth(raw) == 1
    assert parse_json_object(raw)["text"].startswith("[[[")


def test_escaped_lone_surrogates_become_replacement_characters_of_the_same_utf16_length():
    raw = b'{"text": "a\\ud800b\\udfff", "\\udc00key": 1, "pair": "\\ud83d\\ude00"}'
    body = parse_json_object(raw)
    assert body == {"text": "a\ufffdb\ufffd", "\ufffdkey": 1, "pair": "\U0001f600"}
    assert len(body["text"].encode("utf-16-le")) // 2 == 4  # as many units as "a?b?" had


@pytest.mark.parametrize(
    "raw,fragment",
    [
        (b'{"project": "1", "text": "\xff\xfe"}', "UTF-8"),
        ('{"project": "1"}'.encode("utf-16"), "UTF-8"),
        (b'{"project": ' + b"9" * 5000 + b"}", "number too long"),
        (b'{"project": "1", ', "not valid JSON"),
        (b"[]", "JSON object"),
    ],
    ids=["invalid UTF-8", "UTF-16", "integer of 5000 digits", "truncated", "array"],
)
def test_json_the_server_cannot_handle_is_a_400(client, raw, fragment):
    assert_json_error(post_raw(client, "/predict", raw), 400, fragment)
    assert_still_serves(client)


def test_nan_and_a_bom_are_accepted_as_python_writes_and_rfc_8259_allows():
    assert math.isnan(parse_json_object(b'\xef\xbb\xbf{"score": NaN}')["score"])


@pytest.mark.parametrize("name", ["tasks", "self"])
def test_params_named_like_predicts_own_arguments_are_a_400(client, name):
    body = dict(load_fixture("classification_predict_test.json"), params={name: 1, "context": None})
    assert_json_error(client.post("/predict", json=body), 400, f"'{name}'")
    assert_still_serves(client)


def test_start_training_without_a_project_is_a_400_naming_the_field(client):
    assert_json_error(client.post("/webhook", json={"action": "START_TRAINING"}), 400, "'project'")
    hook = client.post("/webhook", json={"action": "START_TRAINING", "project": {"title": "x"}})
    assert_json_error(hook, 400, "'project.id'")
    assert_still_serves(client)


def test_other_actions_without_a_project_stay_a_quiet_200(client):
    for action in ("PROJECT_UPDATED", "ANNOTATION_CREATED"):
        response = client.post("/webhook", json={"action": action})
        assert response.status_code == 200 and response.get_json()["status"] == "ignored"


def test_start_training_with_a_project_id_is_accepted(client):
    response = client.post("/webhook", json=load_fixture("classification_webhook_start_training.json"))
    assert response.status_code == 201


def test_parser_errors_are_typed_bad_requests():
    with pytest.raises(BadRequest):
        parse_json_object(b"[" * 10_000)
