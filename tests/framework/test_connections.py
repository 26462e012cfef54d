"""A Label Studio token only ever travels to the host it came with, and never shows in logs or /metrics."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests

from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.logs import RedactingFilter, SecretRegistry, redact
from label_studio_ml.studio.connections import ConnectionBook
from tests.conftest import BACKENDS, load_fixture, load_keyword_model, wait_healthy
from tests.support.fake_label_studio import FakeLabelStudio, fake_label_studio, serving
from tests.support.servers import backend

#: The key of the project in the captured requests: "<id>.<created_at>", as Label Studio names it.
PROJECT = load_fixture("classification_setup.json")["project"]

TOKEN_A = "token-of-host-a-0123456789"
TOKEN_B = "token-of-host-b-9876543210"
LABELED = [load_fixture("classification_exported_task_tasks_list.json")]
START_TRAINING = load_fixture("classification_webhook_start_training.json")


def setup_body(hostname: str | None, token: str | None) -> dict:
    body = dict(load_fixture("classification_setup.json"), hostname=hostname, access_token=token)
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def client(make_context):
    app = create_app(load_keyword_model(), context=make_context(start_training_each_n_updates=0))
    client = app.test_client()
    wait_healthy(client)
    return app, client


def train_and_wait(app, client) -> dict:
    assert client.post("/webhook", json=START_TRAINING).status_code == 201
    assert app.extensions["label_studio_ml"]["queue"].wait(PROJECT, 30)
    return client.get("/metrics").get_json()["projects"][PROJECT]["training"]


def test_a_hostname_without_its_token_never_receives_the_stored_token(client):
    app, client = client
    with (
        serving(FakeLabelStudio(TOKEN_A, tasks=LABELED)) as host_a,
        serving(FakeLabelStudio(TOKEN_B, tasks=LABELED)) as host_b,
    ):
        assert client.post("/setup", json=setup_body(host_a.url, TOKEN_A)).status_code == 200
        # Anyone who can reach the backend tries to point the stored token at another host.
        assert client.post("/setup", json=setup_body(host_b.url, None)).status_code == 200
        assert client.post("/setup", json=setup_body(None, "some-other-token")).status_code == 200
        training = train_and_wait(app, client)
    assert training["state"] == "idle", training
    assert host_a.seen and {seen.authorization for seen in host_a.seen} == {f"Token {TOKEN_A}"}
    assert host_b.seen == []


def test_a_new_hostname_with_its_own_token_moves_the_connection_and_the_old_token_stays_home(client, caplog):
    app, client = client
    with (
        serving(FakeLabelStudio(TOKEN_A, tasks=LABELED)) as host_a,
        serving(FakeLabelStudio(TOKEN_B, tasks=LABELED)) as host_b,
    ):
        client.post("/setup", json=setup_body(host_a.url, TOKEN_A))
        caplog.set_level(logging.INFO, logger="label_studio_ml.studio.connections")
        client.post("/setup", json=setup_body(host_b.url, TOKEN_B))
        train_and_wait(app, client)
    assert host_a.seen == []
    assert host_b.seen and {seen.authorization for seen in host_b.seen} == {f"Token {TOKEN_B}"}
    moved = [r.getMessage() for r in caplog.records if "moved" in r.getMessage()]
    expected = f"project {PROJECT}: Label Studio moved from {host_a.url} to {host_b.url}"
    expected += " (new credentials came with it)"
    assert moved == [expected]
    assert TOKEN_A not in caplog.text and TOKEN_B not in caplog.text


def test_the_environment_wins_over_setup(make_context):
    context = make_context(label_studio_url="http://ls.internal:8080", label_studio_api_key="env-key-123456")
    book = context.connections
    book.offer("1", "http://attacker:1", "attacker-token")
    access = context.label_studio_for("1")
    assert (access.url, access.api_key) == ("http://ls.internal:8080", "env-key-123456")


def test_an_environment_url_alone_takes_the_token_setup_pinned(make_context):
    context = make_context(label_studio_url="http://ls.internal:8080")
    context.connections.offer("1", "http://localhost:8080", "pinned-token-1234")
    access = context.label_studio_for("1")
    assert (access.url, access.api_key) == ("http://ls.internal:8080", "pinned-token-1234")


def test_an_api_key_without_its_url_is_refused_at_start_up():
    with pytest.raises(ConfigurationError, match="LABEL_STUDIO_API_KEY is set without LABEL_STUDIO_URL"):
        Settings.from_env({"LABEL_STUDIO_API_KEY": "key-without-host"})


def test_a_pair_stored_by_an_earlier_release_is_read_as_one_pair(make_context):
    context = make_context()
    context.state.set("1", "_ls_hostname", "http://ls:8080")
    context.state.set("1", "_ls_access_token", "legacy-token-1234")
    context.state.set("2", "_ls_hostname", "http://only-a-host:8080")  # no token: no pair
    access = context.label_studio_for("1")
    assert (access.url, access.api_key) == ("http://ls:8080", "legacy-token-1234")
    assert context.label_studio_for("2") is None
    assert not context.state.has("1", "_ls_hostname") and not context.state.has("2", "_ls_hostname")


def test_tokens_from_setup_and_from_before_a_restart_are_masked_in_logs(make_context):
    context = make_context()
    registry = SecretRegistry()
    ConnectionBook(context.state, context.settings, registry).offer("1", "http://ls:8080", "first-token-1234")
    assert registry.values == ("first-token-1234",)
    restarted = SecretRegistry()
    ConnectionBook(context.state, context.settings, restarted).register_all(context.state.projects())
    assert restarted.values == ("first-token-1234",)


def test_tracebacks_and_url_credentials_are_masked():
    registry = SecretRegistry(["tok-secret-value"])
    try:
        raise RuntimeError("Label Studio refused tok-secret-value")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "training failed", (), None)
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter(registry).filter(record)
    formatted = logging.Formatter().format(record)
    assert "RuntimeError: Label Studio refused ***" in formatted
    assert "tok-secret-value" not in formatted
    assert redact("fetching http://user:hunter2@ls:8080/api") == "fetching http://***@ls:8080/api"


def test_a_token_in_a_failed_training_never_reaches_logs_or_metrics(tmp_path):
    log = tmp_path / "server.log"
    env = {"MODEL_DIR": str(tmp_path / "models"), "KEYWORD_FIT_LEAK": "1"}
    with (
        fake_label_studio(LABELED, TOKEN_A) as (host_a, _),
        backend(BACKENDS / "keyword", env, workers=1, log=log) as url,
    ):
        assert requests.post(f"{url}/setup", json=setup_body(host_a, TOKEN_A), timeout=5).ok
        assert requests.post(f"{url}/webhook", json=START_TRAINING, timeout=5).status_code == 201
        deadline = time.monotonic() + 30
        while True:
            training = requests.get(f"{url}/metrics", timeout=5).json()["projects"][PROJECT]["training"]
            if training["state"] == "failed":
                break
            assert time.monotonic() < deadline, training
            time.sleep(0.1)
        metrics_text = json.dumps(requests.get(f"{url}/metrics", timeout=5).json())
    assert training["error"] == f"RuntimeError: Label Studio at {host_a} refused token ***"
    assert TOKEN_A not in metrics_text
    text = log.read_text()
    assert "calling Label Studio with token ***" in text  # the line was logged, masked
    assert "Traceback" in text and "refused token ***" in text  # so was the traceback
    assert TOKEN_A not in text
