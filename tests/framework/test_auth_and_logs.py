"""Basic auth on every route, and logs that never carry credentials."""

from __future__ import annotations

import logging

import pytest

from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.logs import RedactingFilter, redact
from label_studio_ml.server.auth import basic_auth_header
from label_studio_ml.server.webhook_auth import _same_endpoint
from tests.conftest import load_fixture, load_keyword_model

GOOD = basic_auth_header("ls", "s3cret-pass")


@pytest.fixture
def client(make_context):
    context = make_context(basic_auth_user="ls", basic_auth_pass="s3cret-pass", auto_configure_webhook=False)
    return create_app(load_keyword_model(), context=context).test_client()


@pytest.mark.parametrize(
    "path,method",
    [
        ("/health", "get"),
        ("/", "get"),
        ("/setup", "post"),
        ("/predict", "post"),
        ("/webhook", "post"),
        ("/versions", "get"),
        ("/metrics", "get"),
    ],
)
@pytest.mark.parametrize(
    "header", [None, basic_auth_header("ls", "wrong"), "Basic !!!notbase64", "Token abc"]
)
def test_every_route_refuses_missing_or_wrong_credentials(client, path, method, header):
    headers = {"Authorization": header} if header else {}
    response = getattr(client, method)(path, headers=headers, json={})
    assert response.status_code == 401
    assert response.get_json()["error_type"] == "Unauthorized"


def test_right_credentials_are_served(client):
    headers = {"Authorization": GOOD}
    assert (
        client.post("/setup", json=load_fixture("basic_auth_setup.json"), headers=headers).status_code == 200
    )
    response = client.post("/predict", json=load_fixture("basic_auth_predict.json"), headers=headers)
    assert response.status_code == 200


def test_auth_settings_must_come_in_pairs():
    with pytest.raises(ConfigurationError):
        Settings.from_env({"BASIC_AUTH_USER": "only-user"})


@pytest.mark.parametrize(
    "env,error",
    [
        ({"START_TRAINING_EACH_N_UPDATES": "ten"}, "integer"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"LABEL_STUDIO_URL": "localhost:8080"}, "http"),
        ({"AUTO_CONFIGURE_WEBHOOK": "maybe"}, "boolean"),
    ],
)
def test_invalid_environment_is_refused_with_the_variable_named(env, error):
    with pytest.raises(ConfigurationError, match=error):
        Settings.from_env(env)


def test_label_studio_host_is_an_alias_of_url():
    assert Settings.from_env({"LABEL_STUDIO_HOST": "http://ls:8080/"}).label_studio_url == "http://ls:8080"


@pytest.mark.parametrize(
    "line",
    [
        "headers={'Authorization': 'Basic bHM6czNjcmV0'}",
        "Authorization: Token 0123456789abcdef",
        'payload {"access_token": "0123456789abcdef"}',
        "calling with Bearer eyJhbGciOiJIUzI1NiJ9.e30.abcdefgh",
    ],
)
def test_redaction_masks_credentials(line):
    cleaned = redact(line)
    assert "bHM6czNjcmV0" not in cleaned and "0123456789abcdef" not in cleaned and "e30" not in cleaned


def test_log_records_with_secret_values_are_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key is %s", ("my-api-key-123",), None)
    RedactingFilter(secrets=("my-api-key-123",)).filter(record)
    assert "my-api-key-123" not in record.getMessage()


def test_webhook_matching_compares_host_port_and_path():
    assert _same_endpoint("http://127.0.0.1:9090/webhook", "http://127.0.0.1:9090/")
    assert not _same_endpoint("http://127.0.0.1:9091/webhook", "http://127.0.0.1:9090/")
    assert not _same_endpoint("http://127.0.0.1:9090/other", "http://127.0.0.1:9090/")
