"""The Flask side of the metrics: every request counted and timed, ``/metrics`` in Prometheus text."""

from __future__ import annotations

import time

from flask import Flask, Request, Response, g, request

from label_studio_ml.telemetry.exposition import render, wants_prometheus
from label_studio_ml.telemetry.metrics import count_request

#: The route label of a request no rule matched (a 404): raw paths would be unbounded labels.
UNMATCHED = "unmatched"


def instrument(app: Flask) -> None:
    """Count and time every request ``app`` answers, by route rule, method and status.

    Call it before registering any other ``before_request``: a request another one refuses (401)
    is timed and counted too.
    """

    @app.before_request
    def start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        started = g.get("metrics_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        count_request(route, request.method, response.status_code, seconds)
        return response


def prometheus_response(incoming: Request) -> Response | None:
    """``/metrics`` in the Prometheus format when ``incoming`` asks for it, else ``None`` (JSON)."""
    if not wants_prometheus(incoming.args.get("format"), incoming.accept_mimetypes):
        return None
    body, content_type = render(incoming.headers.get("Accept"))
    return Response(body, content_type=content_type)
