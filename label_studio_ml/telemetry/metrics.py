"""The Prometheus metrics the framework keeps, and one small function per fact that moves them.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``label-studio-ml start`` sets it: ``multiproc``) every gunicorn
worker writes its values to files there and a scrape adds them up; without it (the Flask test client,
other launchers) they live in this process's default registry. Either way, callers only call the
functions below; nothing here waits on I/O that a request would feel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "label_studio_ml"
#: Trainings take seconds (the keyword test model) to hours (a large base model on a CPU).
TRAINING_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, float("inf"))
#: An instant update is a refit of a light head: tens of milliseconds to a few seconds behind a burst.
INSTANT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, float("inf"))

REQUESTS = Counter(
    f"{PREFIX}_http_requests", "HTTP requests answered, by route (the rule, not the path), method and status",
    ["route", "method", "status"],
)  # fmt: skip
REQUEST_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds", "Time to answer an HTTP request, by route and method",
    ["route", "method"],
)  # fmt: skip
PREDICTIONS = Counter(
    f"{PREFIX}_predictions", "Predictions served by /predict, by the layer that made them", ["layer"]
)
TRAININGS = Counter(f"{PREFIX}_trainings", "Training runs ended in this process, by outcome", ["outcome"])
TRAINING_SECONDS = Histogram(
    f"{PREFIX}_training_duration_seconds", "Duration of a training run, by outcome", ["outcome"],
    buckets=TRAINING_BUCKETS,
)  # fmt: skip
# livesum: the slots of the workers alive now, added up (a dead worker's run is resumed by another).
TRAINING_SLOTS = Gauge(
    f"{PREFIX}_training_slots", "Trainings queued or running in the serving processes' training slots",
    ["state"], multiprocess_mode="livesum",
)  # fmt: skip
VERSIONS = Counter(
    f"{PREFIX}_versions_published", "New model versions made current (what Label Studio sees), by layer",
    ["layer"],
)  # fmt: skip
INSTANT_UPDATES = Counter(
    f"{PREFIX}_instant_updates", "Instant updates (one refit for the events queued together), by outcome",
    ["outcome"],
)  # fmt: skip
INSTANT_SECONDS = Histogram(
    f"{PREFIX}_instant_update_latency_seconds",
    "From the arrival of the oldest webhook an instant update learned from to the update's end (succeeded)",
    buckets=INSTANT_BUCKETS,
)
#: ``v<run>-<time>``: a fine-tuned version of the model store (``instant-v…`` is the instant layer's).
_FINE_TUNED = re.compile(r"v\d+-")


def layer_of(model_version: Any) -> str:
    """The layer a ``model_version`` names: ``zero_shot``, ``instant``, ``fine_tuned`` or ``other``."""
    version = str(model_version or "")
    if version.startswith("zero-shot-"):
        return "zero_shot"
    if version.startswith("instant-"):
        return "instant"
    return "fine_tuned" if _FINE_TUNED.match(version) else "other"


def count_request(route: str, method: str, status: int, seconds: float) -> None:
    """One HTTP request answered."""
    REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    REQUEST_SECONDS.labels(route=route, method=method).observe(seconds)


def count_predictions(items: Iterable[Any]) -> None:
    """The prediction items of one ``/predict`` answer (an item may be a list of several)."""
    counts: dict[str, int] = {}
    for item in items:
        for prediction in item if isinstance(item, list) else [item]:
            if isinstance(prediction, dict):
                layer = layer_of(prediction.get("model_version"))
                counts[layer] = counts.get(layer, 0) + 1
    for layer, count in counts.items():
        PREDICTIONS.labels(layer=layer).inc(count)


def count_training(failed: bool, seconds: float) -> None:
    """One training run ended (in a serving process's slot or in an RQ worker)."""
    outcome = "failed" if failed else "succeeded"
    TRAININGS.labels(outcome=outcome).inc()
    TRAINING_SECONDS.labels(outcome=outcome).observe(seconds)


def set_training_slots(queued: int, running: int) -> None:
    """How many trainings wait for a slot and how many run, in this process."""
    TRAINING_SLOTS.labels(state="queued").set(queued)
    TRAINING_SLOTS.labels(state="running").set(running)


def count_version(model_version: str) -> None:
    """A new version was made current."""
    VERSIONS.labels(layer=layer_of(model_version)).inc()


def count_instant_update(failed: bool, latency_seconds: float) -> None:
    """One instant update ended; ``latency_seconds`` since its oldest event arrived."""
    INSTANT_UPDATES.labels(outcome="failed" if failed else "succeeded").inc()
    if not failed:
        INSTANT_SECONDS.observe(latency_seconds)
