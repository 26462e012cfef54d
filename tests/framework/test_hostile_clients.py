"""Hostile clients and hostile data: malformed task URLs, oversized or refused ``/setup`` fields, a
broken config in a webhook, tokens on disk, and Redis open to the network.

Each test names what an attacker (or a careless importer) sends and what the backend must do.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from label_studio_ml.errors import DataAccessDenied
from label_studio_ml.studio.client import LabelStudioAccess
from tests.support.fake_label_studio import FakeLabelStudio, Served, serving

TOKEN = "secret-token-1234"
URL_TEXT_CONFIG = (
    '<View><Text name="t" value="$doc" valueType="url"/>'
    '<Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>'
)
#: Task URLs whose host or port ``urlparse`` only rejects when ``.port`` is read (or at once).
MALFORMED_URLS = ("http://{host}:{port}.evil/x", "http://{host}:99999/x", "http://[::1/")


@pytest.fixture
def ls():
    with serving(FakeLabelStudio(token=TOKEN)) as fake:
        yield fake


def malformed(ls: FakeLabelStudio) -> list[str]:
    """The malformed URLs, aimed at the fake Label Studio's own host where they name one."""
    host, port = ls.url.split("//")[1].split(":")
    return [template.format(host=host, port=port) for template in MALFORMED_URLS]


# -- (2) one malformed task URL fails that task only -----------------------------------------
def test_a_malformed_task_url_is_refused_as_a_typed_error_without_a_request(ls) -> None:
    access = LabelStudioAccess(url=ls.url, api_key=TOKEN)
    for url in malformed(ls):
        with pytest.raises(DataAccessDenied, match="malformed"):
            access.fetch_text(url, project_id="1")
    assert ls.seen == []


def test_a_malformed_task_url_gives_no_text_and_training_counts_it_unreadable(
    ls, make_context, caplog
) -> None:
    from bert_classifier.model import BertClassifier

    ls.files["/data/upload/1/ok.txt"] = Served(b"a good text", "text/plain")
    context = make_context(label_studio_url=ls.url, label_studio_api_key=TOKEN)
    model = BertClassifier(project_id="1", label_config=URL_TEXT_CONFIG, context=context)
    (control,) = model.controls()
    choice = {"from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": ["a"]}}
    annotation = {"id": 1, "result": [choice], "was_cancelled": False, "updated_at": "2024-01-01T00:00:00Z"}
    good = {"id": 1, "data": {"doc": "/data/upload/1/ok.txt"}, "annotations": [annotation]}
    bad = [
        {"id": 10 + index, "data": {"doc": url}, "annotations": [annotation]}
        for index, url in enumerate(malformed(ls))
    ]
    with caplog.at_level(logging.WARNING):
        # The batch /predict reads: every task is read, the bad ones give no text (an empty prediction).
        assert [model.task_text(task, control) for task in [good, *bad]] == ["a good text", None, None, None]
        collected = model.gather_examples([good, *bad], control)
    assert [example.text for example in collected.examples] == ["a good text"]
    assert collected.skipped.unreadable_text == len(bad)
    reasons = [record.getMessage() for record in caplog.records if "not readable" in record.getMessage()]
    assert len(reasons) == 2 * len(bad) and all("malformed" in reason for reason in reasons)


def test_a_webhook_url_that_does_not_parse_is_not_ours() -> None:
    from label_studio_ml.server.webhook_auth import _same_endpoint

    for url in ("http://backend:9090.evil/webhook", "http://backend:99999/webhook", "http://[::1/webhook"):
        assert _same_endpoint(url, "http://backend:9090/") is False
    assert _same_endpoint("http://backend:9090/webhook", "http://backend:9090/") is True


# -- (5) /setup leaves nothing behind that it did not accept -----------------------------------
def test_refused_and_incomplete_setup_offers_leave_the_redaction_registry_as_it_was(make_context) -> None:
    from label_studio_ml.logs import SecretRegistry
    from label_studio_ml.studio.connections import ConnectionBook

    context = make_context()
    registry = SecretRegistry()
    book = ConnectionBook(context.state, context.settings, registry)
    for index in range(20):  # a token with no hostname, twenty times: nothing is stored, nothing kept
        assert book.offer("1", None, f"token-without-a-host-{index:04d}") == "incomplete"
    assert registry.values == ()
    assert book.offer("1", "http://ls:8080", "the-accepted-token") == "stored"
    assert book.offer("1", None, "another-lone-token") == "incomplete"
    assert registry.values == ("the-accepted-token",)


@pytest.fixture
def client(keyword_app):
    return keyword_app.test_client()


@pytest.mark.parametrize(
    ("field", "size", "limit"), [("access_token", 4097, "4096"), ("hostname", 2049, "2048")]
)
def test_an_oversized_setup_field_is_a_clear_400_and_is_not_kept(client, field, size, limit) -> None:
    from label_studio_ml.logs import process_secrets

    value = ("http://ls/" + "x" * size)[:size] if field == "hostname" else "t" * size
    body = {"project": "7", "schema": URL_TEXT_CONFIG, "hostname": "http://ls:8080", "access_token": TOKEN}
    answer = client.post("/setup", json={**body, field: value})
    assert answer.status_code == 400
    assert answer.get_json()["error_type"] == "BadRequest"
    assert field in answer.get_json()["error"] and limit in answer.get_json()["error"]
    assert value not in process_secrets().values
    assert client.post("/setup", json={**body, field: value[: int(limit)]}).status_code == 200


@pytest.mark.parametrize("hostname", ["http://ls:99999", "http://ls:8080.evil", "http://[::1"])
def test_a_setup_hostname_with_a_malformed_port_is_a_400(client, hostname) -> None:
    body = {"project": "7", "schema": URL_TEXT_CONFIG, "hostname": hostname, "access_token": TOKEN}
    answer = client.post("/setup", json=body)
    assert answer.status_code == 400 and "hostname" in answer.get_json()["error"]


# -- (7) a webhook cannot break a project's config --------------------------------------------
def test_a_webhook_with_a_broken_label_config_keeps_the_last_valid_one(client, caplog) -> None:
    from tests.conftest import load_fixture

    setup = dict(load_fixture("classification_setup.json"), hostname=None, access_token=None)
    setup = {key: value for key, value in setup.items() if value is not None}
    assert client.post("/setup", json=setup).status_code == 200
    event = load_fixture("classification_webhook_annotation_updated.json")
    broken = {**event, "project": {**event["project"], "label_config": "<View><oops"}}
    with caplog.at_level(logging.WARNING):
        answer = client.post("/webhook", json=broken)
    assert 200 <= answer.status_code < 300  # Label Studio never retries a webhook
    assert any("label config that cannot be used" in record.getMessage() for record in caplog.records)
    app_context = client.application.extensions["label_studio_ml"]["context"]
    assert app_context.state.get(setup["project"], "label_config") == setup["schema"]
    task = {"id": 1, "data": {"text": "a text"}}
    predicted = client.post("/predict", json={"project": setup["project"], "tasks": [task]})
    assert predicted.status_code == 200, predicted.get_json()


# -- (9) tokens on disk are the owner's alone --------------------------------------------------
@pytest.fixture
def open_umask():
    """A permissive umask, as a default shell has; the process's own is restored afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_database_is_created_private_and_an_old_readable_one_is_tightened(
    tmp_path, open_umask
) -> None:
    from label_studio_ml.state.sqlite_store import SqliteStateStore

    store = SqliteStateStore(tmp_path / "new" / "state.sqlite3")
    store.set("1", "_ls_connection", {"url": "http://ls:8080", "token": TOKEN})
    for path in (tmp_path / "new").iterdir():  # the database and its -wal / -shm files
        assert _mode(path) == 0o600, path
    old = tmp_path / "old" / "state.sqlite3"
    SqliteStateStore(old)
    os.chmod(old, 0o644)  # as an earlier release created it
    SqliteStateStore(old)
    assert _mode(old) == 0o600


def test_a_started_server_writes_nothing_group_or_others_can_read(tmp_path, open_umask) -> None:
    from label_studio_ml.api import create_app
    from label_studio_ml.config import Settings
    from tests.conftest import load_fixture, load_keyword_model, wait_healthy

    settings = Settings(model_dir=tmp_path / "models", start_training_each_n_updates=0)
    client = create_app(load_keyword_model(), settings=settings).test_client()
    wait_healthy(client)
    setup = dict(load_fixture("classification_setup.json"), access_token=TOKEN)
    assert client.post("/setup", json=setup).status_code == 200
    event = load_fixture("classification_webhook_annotation_updated.json")
    assert client.post("/webhook", json=event).status_code < 300  # its body is kept on disk
    written = list((tmp_path / "models").rglob("*"))
    readable = [(str(path), oct(_mode(path))) for path in written if _mode(path) & 0o077]
    assert written and readable == []


# -- (10) Redis open to the network is refused at start-up ------------------------------------
def _resolver(table: dict[str, list[str]]):
    def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError(f"{host} does not resolve")
        return table[host]

    return resolve


HOSTS = {"redis": ["172.18.0.2"], "cache.example.com": ["93.184.216.34", "10.0.0.5"], "localhost": ["::1"]}


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("redis://redis:6379/0", False),  # the compose network's Redis
        ("redis://127.0.0.1:6379/0", False),
        ("redis://localhost/0", False),
        ("unix:///run/redis.sock", False),
        ("redis://:secret@cache.example.com:6379/0", False),
        ("redis://cache.example.com:6379/0?password=secret", False),
        ("redis://cache.example.com:6379/0", True),  # one public address is enough
        ("redis://8.8.8.8:6379/0", True),
        ("redis://nowhere:6379/0", True),  # unresolvable: cannot tell, so refused
    ],
)
def test_redis_without_a_password_off_a_private_network_stops_the_start_up(url, refused) -> None:
    from label_studio_ml.config import Settings
    from label_studio_ml.errors import ConfigurationError
    from label_studio_ml.state.redis_exposure import check_redis_exposure

    resolver = _resolver({**HOSTS, "8.8.8.8": ["8.8.8.8"], "127.0.0.1": ["127.0.0.1"]})
    settings = Settings.from_env({"REDIS_URL": url})
    if refused:
        with pytest.raises(ConfigurationError, match="ALLOW_INSECURE_REDIS"):
            check_redis_exposure(settings, resolver)
        allowed = Settings.from_env({"REDIS_URL": url, "ALLOW_INSECURE_REDIS": "true"})
        check_redis_exposure(allowed, resolver)
    else:
        check_redis_exposure(settings, resolver)


def test_create_app_refuses_an_exposed_redis_before_touching_it(tmp_path, monkeypatch) -> None:
    from label_studio_ml.api import create_app
    from label_studio_ml.config import Settings
    from label_studio_ml.errors import ConfigurationError
    from label_studio_ml.state import redis_exposure
    from tests.conftest import load_keyword_model

    monkeypatch.setattr(redis_exposure, "resolve", _resolver({"redis.example.test": ["93.184.216.34"]}))
    settings = Settings(model_dir=tmp_path, redis_url="redis://redis.example.test:6379/0")
    with pytest.raises(ConfigurationError, match="REDIS_URL has no password"):
        create_app(load_keyword_model(), settings=settings)
