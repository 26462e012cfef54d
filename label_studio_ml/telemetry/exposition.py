"""``/metrics`` in the Prometheus text format: when it is asked for, and the text itself.

JSON stays the default (Label Studio, scripts, ``curl``): the Prometheus format is served for
``?format=prometheus``, or when the ``Accept`` header prefers ``text/plain`` or
``application/openmetrics-text`` to ``application/json`` (as Prometheus's scraper does).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from werkzeug.datastructures import MIMEAccept

from label_studio_ml.telemetry.multiproc import current_dir

#: The types ``/metrics`` answers in, JSON first: it wins a tie (``*/*``, or no ``Accept`` at all).
OFFERED = ("application/json", "text/plain", "application/openmetrics-text")


def wants_prometheus(format_arg: str | None, accept: MIMEAccept) -> bool:
    """Whether a ``/metrics`` request asks for the Prometheus format rather than JSON."""
    if format_arg:
        return format_arg.lower() in ("prometheus", "openmetrics")
    return accept.best_match(OFFERED, default=OFFERED[0]) != OFFERED[0]


def render(accept_header: str | None) -> tuple[bytes, str]:
    """Every metric, as text and its content type (OpenMetrics when ``Accept`` names it).

    Under gunicorn the values of every worker, dead ones' counters included, are added up from
    ``PROMETHEUS_MULTIPROC_DIR``: whichever worker answers the scrape tells the whole server.
    """
    encode, content_type = choose_encoder(accept_header or "")
    path = current_dir()
    if path is None:
        return encode(REGISTRY), content_type
    registry = CollectorRegistry()  # a new one per scrape, as prometheus_client's docs require
    multiprocess.MultiProcessCollector(registry, path)
    return encode(registry), content_type
