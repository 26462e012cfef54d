"""The status page for people: a browser at ``/`` is sent to ``/status``; curl and Label Studio
keep the JSON; the page shows each project, its learning curve and a running training, escaped,
without a secret, drawn from the same report as ``/metrics``."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from label_studio_ml.api import create_app
from label_studio_ml.state.evaluations import EVALUATIONS_KEY, record_evaluations
from tests.conftest import load_fixture, load_keyword_model, wait_healthy
from tests.support.fake_label_studio import fake_label_studio

PROJECT = load_fixture("classification_setup.json")["project"]
START = load_fixture("classification_webhook_start_training.json")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
TOKEN = "tok-status-page-0123456789"

KeywordModel = load_keyword_model()
#: Lets a training of ``HeldModel`` finish (the test reads the page while it runs).
RELEASE = threading.Event()


class EvaluatedModel(KeywordModel):
    """Each training reports the forward evaluation of the version it replaces, as HF models do."""

    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        runs = (self.get("runs_done") or 0) + 1
        self.set("runs_done", runs)
        previous = self.model_version
        evaluation = {"model_version": previous, "trained_on": 10 * runs, "examples": 4,
                      "metrics": {"macro_f1": 0.4 + 0.1 * runs, "accuracy": 0.5},
                      "int8_metrics": {"macro_f1": 0.38 + 0.1 * runs}}  # fmt: skip
        return {"model_version": f"v{runs}", "train_size": 10 * runs, "evaluation": evaluation}


class HeldModel(KeywordModel):
    """Reports progress, then waits until the test lets it finish."""

    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self.report_progress(epoch=1, epochs=3, step=12, total_steps=40, loss=0.51)
        RELEASE.wait(30)
        return {}


def serve(model_class: type, make_context: Any) -> Any:
    app = create_app(model_class, context=make_context(start_training_each_n_updates=0))
    wait_healthy(app.test_client())
    return app


def page(client: Any) -> str:
    response = client.get("/status", headers={"Accept": BROWSER})
    assert response.status_code == 200 and response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_a_browser_is_sent_to_the_page_and_curl_keeps_the_json(keyword_app) -> None:
    client = keyword_app.test_client()
    opened = client.get("/", headers={"Accept": BROWSER})
    assert opened.status_code == 302 and opened.headers["Location"].endswith("status")
    assert "<html" in page(client)
    health = client.get("/health").get_json()
    assert health == {"status": "UP", "model_class": "KeywordModel"}
    for accept in ("*/*", "application/json", None):  # curl, a script, Label Studio's requests
        answer = client.get("/", headers={"Accept": accept} if accept else {})
        assert answer.status_code == 200 and answer.get_json() == health
    assert client.get("/health", headers={"Accept": BROWSER}).get_json() == health


def test_the_page_names_the_host_layer_and_reason_escaped_and_no_secret(keyword_app) -> None:
    client = keyword_app.test_client()
    with fake_label_studio([], TOKEN) as (host, _):
        setup = dict(load_fixture("classification_setup.json"), hostname=host, access_token=TOKEN)
        assert client.post("/setup", json=setup).status_code == 200
        context = keyword_app.extensions["label_studio_ml"]["context"]
        why = "<script>alert(1)</script> beats zero-shot on the last 20 labels"
        context.state.set(PROJECT, "served", {"layer": "instant", "model_version": "instant-7", "why": why})
        html = page(client)
    assert f"Project {PROJECT}" in html and "instant-7" in html and "instant" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; beats zero-shot" in html and "<script>" not in html
    assert host.split("://")[1] in html  # the Label Studio host, never its token
    assert "&lt;Choices name=&#34;label&#34;&gt;" in html  # the config's controls, before any training
    assert client.get("/metrics").get_json()["projects"][PROJECT]["controls"] == ['<Choices name="label">']
    assert TOKEN not in html and TOKEN not in client.get("/metrics").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html  # nothing trains: no reload


def test_a_refused_config_shows_its_reason(keyword_app) -> None:
    client = keyword_app.test_client()
    broken = dict(load_fixture("classification_setup.json"), schema='<View><Choices toName="text"/></View>')
    assert client.post("/setup", json=broken).status_code == 422
    html = page(client)
    assert "refused config" in html and "has a toName but no name attribute" in html


def test_two_evaluated_versions_draw_a_learning_curve(make_context) -> None:
    app = serve(EvaluatedModel, make_context)
    client = app.test_client()
    assert client.post("/setup", json=load_fixture("classification_setup.json")).status_code == 200
    for _ in range(2):  # each training reports the evaluation of the version before it
        assert client.post("/webhook", json=START).status_code == 201
        assert app.extensions["label_studio_ml"]["queue"].wait(PROJECT, 30)
    report = client.get("/metrics").get_json()["projects"][PROJECT]
    assert [record["trained_on"] for record in report["evaluations"]] == [10, 20]
    html = page(client)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert len(re.findall(r'<circle class="point"', svg)) == 4  # two versions, fp32 and int8
    assert "<polyline" in svg and "fine-tuned fp32" in svg and "fine-tuned int8" in svg
    assert "0.500" in html and "0.480" in html and "0.600" in html  # the numbers beside it


def test_a_running_training_shows_a_progress_bar_and_reloads(make_context) -> None:
    RELEASE.clear()
    app = serve(HeldModel, make_context)
    client = app.test_client()
    assert client.post("/setup", json=load_fixture("classification_setup.json")).status_code == 200
    assert client.post("/webhook", json=START).status_code == 201
    try:
        html = _page_once_running(client)
        assert '<meta http-equiv="refresh" content="5">' in html
        assert '<progress max="100" value="30.0">' in html and "30%" in html
        assert "epoch 1 of 3, step 12 of 40, loss 0.51" in html and "left" in html
    finally:
        RELEASE.set()
    assert app.extensions["label_studio_ml"]["queue"].wait(PROJECT, 30)
    assert 'http-equiv="refresh"' not in page(client)


def _page_once_running(client: Any) -> str:
    """The page as soon as the training reported its progress."""
    for _ in range(600):
        training = client.get("/metrics").get_json()["projects"][PROJECT]["training"]
        if training["state"] == "running" and training["progress"]:
            return page(client)
        threading.Event().wait(0.05)
    pytest.fail(f"the training never reported progress: {training}")


def test_each_control_evaluated_is_recorded_once(make_context) -> None:
    state = make_context().state
    scored = {"model_version": "v1", "trained_on": 8, "examples": 3, "metrics": {"f1": 0.7}}
    unscored = {"model_version": None, "examples": 0, "reason": "no trained version was served"}
    summary = {"heads": {"topic": {"evaluation": scored}, "tone": {"evaluation": unscored}}}
    record_evaluations(state, PROJECT, summary)
    record_evaluations(state, PROJECT, summary)  # nothing new since: the same evaluation again
    assert state.get(PROJECT, EVALUATIONS_KEY) == [{**scored, "control": "topic"}]
