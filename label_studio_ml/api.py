"""``create_app`` (and upstream's ``init_app``): the Label Studio ML backend protocol over Flask.

Routes only: what serves them is started by ``services``."""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import (
    BackendError,
    ClientGone,
    ConfigurationError,
    NotReady,
    UnprocessableEntity,
    reason_phrase,
)
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.server import protocol
from label_studio_ml.server.auth import check_basic_auth
from label_studio_ml.server.client_gone import CLIENT_GONE_KEY, watching
from label_studio_ml.server.status import metrics_report, versions_report
from label_studio_ml.server.webhook_auth import ensure_webhook_auth_async
from label_studio_ml.services import Services
from label_studio_ml.state.project_adoption import adopt_id_only_project
from label_studio_ml.status_page.page import prefers_html, status_html
from label_studio_ml.studio.received import ReceivedAnnotations
from label_studio_ml.telemetry.http import instrument, prometheus_response
from label_studio_ml.telemetry.metrics import count_predictions

logger = logging.getLogger(__name__)

#: How long a thread may hold the GIL while another waits for it. Python's default (5 ms) lets a
#: background thread's Python-heavy work (an instant refit, a training's loop) delay each step of a
#: request several times over; a request thread gets its turn at once this way.
SWITCH_INTERVAL_S = 0.0005


def create_app(
    model_class: type[LabelStudioMLBase],
    settings: Settings | None = None,
    context: BackendContext | None = None,
) -> Flask:
    """A Flask app serving ``model_class`` to Label Studio, over the services ``Services.start``
    starts (``app.extensions["label_studio_ml"]["services"]``; ``services.stop()`` ends them)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    services = Services.start(model_class, settings, context)
    settings, context = services.settings, services.context
    registry, queue, instant = services.registry, services.queue, services.instant

    app = Flask(model_class.__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["label_studio_ml"] = {
        "services": services, "registry": registry, "queue": queue, "context": context, "instant": instant,
    }  # fmt: skip
    _register_errors(app)
    instrument(app)  # first: a request refused below is counted too

    @app.before_request
    def authenticate() -> None:
        check_basic_auth(settings, request.headers.get("Authorization"))

    @app.get("/")
    def index() -> Any:
        # A browser is sent to the status page; curl and Label Studio (``*/*``) get /health's JSON.
        return redirect("status") if prefers_html(request.accept_mimetypes) else health()

    @app.get("/health")
    def health() -> Any:
        body = {"status": "UP", "model_class": model_class.__name__}
        if not services.readiness.ready.is_set():
            detail = services.readiness.error or "model is loading"
            raise NotReady(f"{model_class.__name__} is not ready: {detail}")
        context.state.ping()  # a replica that cannot reach Redis cannot serve: 503 with the reason
        return jsonify(body)

    def arrived(project: str) -> str:
        """``project``, once an earlier release's id-only state of it is adopted (``project_adoption``)."""
        adopt_id_only_project(context.state, context.data_dir, project)
        return project

    @app.post("/setup")
    def setup() -> Any:
        body = protocol.setup_request(protocol.json_body(request))
        arrived(body.project)
        context.connections.offer(body.project, body.hostname, body.access_token)
        model = registry.instance(body.project, body.schema)
        if body.extra_params is not None:
            model.set("extra_params", body.extra_params)
        ensure_webhook_auth_async(context, body.project, request.url_root)
        services.active.poke(body.project)  # connected, or active learning turned on or off
        return jsonify({"model_version": model.model_version})

    @app.post("/predict")
    def predict() -> Any:
        body = protocol.predict_request(protocol.json_body(request))
        arrived(body.project)
        model = registry.instance(body.project, body.label_config)
        with watching(request.environ.get(CLIENT_GONE_KEY)):  # a client that hangs up stops the work
            raw = model.predict(body.tasks, context=body.context, **body.params)
        items = protocol.prediction_items(raw, len(body.tasks), model.model_version)
        count_predictions(items)
        return jsonify({"results": items})

    @app.post("/webhook")
    def webhook() -> Any:
        event = protocol.webhook_request(protocol.json_body(request))
        trains = event.action in model_class.TRAIN_EVENTS
        if event.project is None or not (trains or instant.wants(event.action)):
            return jsonify({"status": "ignored", "action": event.action}), 200
        arrived(event.project)
        if event.label_config:
            registry.take_label_config(event.project, event.label_config)  # a broken one is logged, not kept
        # Kept before anything else sees the event: a training it starts must find it.
        ReceivedAnnotations(context.data_dir, event.project).apply(event.action, event.data)
        if instant.wants(event.action):
            instant.submit(event.project, event.action, event.data)
        decision = queue.on_event(event.project, event.action, event.data) if trains else {"scheduled": False}
        return jsonify({"status": "accepted", "action": event.action, **decision}), 201

    @app.get("/versions")
    def versions() -> Any:
        return jsonify(versions_report(model_class, context, request.args.get("project")))

    @app.get("/metrics")
    def metrics() -> Any:
        # Prometheus text when asked for (``?format=prometheus``, ``Accept: text/plain``); JSON otherwise.
        text = prometheus_response(request)
        return text if text is not None else jsonify(metrics_report(context, queue, registry, instant))

    @app.get("/status")
    def status() -> Any:
        page = status_html(metrics_report(context, queue, registry, instant), model_class.__name__)
        return Response(page, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})

    return app


def _register_errors(app: Flask) -> None:
    """Every failure becomes ``{"error", "error_type"}`` with the right status; no traceback leaks."""

    @app.errorhandler(BackendError)
    def backend_error(exc: BackendError) -> Response:
        if isinstance(exc, ClientGone):
            logger.info("%s %s: %s", request.method, request.path, exc.message)
        elif exc.status >= 500 or isinstance(exc, UnprocessableEntity):
            logger.warning("%s %s -> %d %s", request.method, request.path, exc.status, exc.message)
        response = jsonify({"error": exc.message, "error_type": exc.error_type})
        response.status = f"{exc.status} {reason_phrase(exc.message) or 'Error'}"  # Label Studio shows it
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        return jsonify({"error": exc.description, "error_type": type(exc).__name__}), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"error": "internal server error", "error_type": "InternalError"}), 500


def init_app(
    model_class: type[LabelStudioMLBase],
    basic_auth_user: str | None = None,
    basic_auth_pass: str | None = None,
) -> Flask:
    """Upstream's way (label-studio-ml 2.x) to build the app, as every upstream ``_wsgi.py`` does.

    The same Flask app as ``create_app(model_class)``, configured from the environment; explicit
    basic-auth credentials win over ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS``.
    """
    if not (isinstance(model_class, type) and issubclass(model_class, LabelStudioMLBase)):
        raise ValueError("Inference class should be the subclass of LabelStudioMLBase")
    settings = Settings.from_env()
    if basic_auth_user or basic_auth_pass:
        if not (basic_auth_user and basic_auth_pass):
            raise ConfigurationError("basic_auth_user and basic_auth_pass must be given together")
        settings = dataclasses.replace(
            settings, basic_auth_user=basic_auth_user, basic_auth_pass=basic_auth_pass
        )
    return create_app(model_class, settings)
